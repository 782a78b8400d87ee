#include "extension-gen/Install.h"

#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

namespace bespoke {

llvm::Error installFilter(const BpfProgram &prog) {
  if (prog.empty() || prog.size() > std::numeric_limits<unsigned short>::max())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot install a filter of %zu instructions", prog.size());
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "prctl(PR_SET_NO_NEW_PRIVS): %s",
                                   strerror(errno));
  sock_fprog fp{static_cast<unsigned short>(prog.size()), const_cast<sock_filter *>(prog.data())};
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fp);
  if (rc < 0)
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "seccomp(SECCOMP_SET_MODE_FILTER): %s",
                                   strerror(errno));
  if (rc > 0) // TSYNC: the id of a thread that could not be synchronized
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "seccomp(SECCOMP_SET_MODE_FILTER, TSYNC): thread %ld has a diverging filter",
                                   rc);
  return llvm::Error::success();
}

} // namespace bespoke
