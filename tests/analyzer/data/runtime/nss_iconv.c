// Looks a user up (glibc's NSS: the modules /etc/nsswitch.conf names) and converts a string with iconv
// (the gconv modules gconv-modules names).
#include <iconv.h>
#include <pwd.h>
#include <stdio.h>
int main(int argc, char **argv) {
  if (argc > 1) {
    iconv_t cd = iconv_open("UTF-16", argv[1]);
    return cd == (iconv_t)-1;
  }
  struct passwd *pw = getpwnam("root");
  printf("%s\n", pw ? pw->pw_dir : "?");
  return 0;
}
