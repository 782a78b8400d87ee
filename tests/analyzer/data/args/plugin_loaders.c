// Dynamic program linking Cyrus SASL and MIT Kerberos, whose plugin loaders call dlsym with names built at
// run time: SASL with the entry points of its plugin tables, Kerberos with "<interface>_<module>_initvt".
// Neither can hand out libc's socket(), so its arguments keep their values. Linked against the sonames
// (no -dev package needed): the prototypes are declared here.
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int sasl_client_init(const void *callbacks);
int krb5_init_context(void **context);

int main(void) {
  void *ctx = NULL;
  printf("%d %d\n", sasl_client_init(NULL), krb5_init_context(&ctx));
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s >= 0) close(s);
  return 0;
}
