// Links libcrypto, whose DSO methods call dlsym with a name given at run time (through its DSO_METHOD
// table): the names are libcrypto's own (OSSL_provider_init, bind_engine, v_check), so libc's socket() is
// not a function dlsym could hand out.
#include <openssl/crypto.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  OPENSSL_init_crypto(0, NULL);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s >= 0) close(s);
  return 0;
}
