// C++ calls that are not call expressions, virtual calls, and mangled symbols.
#include <fcntl.h>

struct Base {
  virtual ~Base();
  virtual int run(int x) = 0;
};
struct Impl : Base {
  int run(int x) override { return x; } // M:impl_run
};
struct Guard {
  Guard();
  ~Guard();
};
Guard::Guard() {}
Guard::~Guard() {}
Base::~Base() {}

static Guard global_guard; // M:global

struct File {
  int open(const char *p, int f) { return ::open(p, f); } // M:libc_open
};

int use(Base &b) {
  Guard g;             // M:local
  File f;
  int r = b.run(1);    // M:virtual
  return r + f.open("/x", O_RDONLY); // M:method_open
}

Base *make() { return new Impl; } // M:new
