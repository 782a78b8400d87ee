// ObserveRun: maps, load, attach to sys_enter, run, read back (ObserveRun.h).
#include "extension-gen/ObserveRun.h"

#include "extension-gen/NetAttach.h"
#include "extension-gen/NetRun.h"

#include "llvm/Support/Errno.h"

#include <bpf/bpf.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tuple>

namespace bespoke {

namespace {

constexpr uint32_t kEventsMax = 16384; // distinct (syscall, recorded arguments) pairs
constexpr uint32_t kStacksMax = 4096;

llvm::Error errnoError(int err, const std::string &what) {
  std::string hint = err == EPERM ? " (bespoke observe needs root: CAP_BPF and CAP_PERFMON)" : "";
  return llvm::createStringError(std::error_code(err, std::generic_category()), "%s: %s%s", what.c_str(),
                                 llvm::sys::StrError(err).c_str(), hint.c_str());
}

// The descriptors of one run, closed in reverse order of creation however the run ends.
struct Fds {
  std::vector<int> fds;
  int keep(int fd) {
    fds.push_back(fd);
    return fd;
  }
  ~Fds() {
    for (auto it = fds.rbegin(); it != fds.rend(); ++it) close(*it);
  }
};

llvm::Expected<int> makeMap(Fds &fds, bpf_map_type type, const char *name, uint32_t key, uint32_t value,
                            uint32_t max, uint32_t flags = 0) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
  int fd = bpf_map_create(type, name, key, value, max, &opts);
  if (fd < 0) return errnoError(errno, std::string("cannot create the observe program's ") + name + " map");
  return fds.keep(fd);
}

llvm::Expected<int> loadProgram(const ObserveProgram &p) {
  BpfLoad l = loadBpfProgram(BPF_PROG_TYPE_RAW_TRACEPOINT, bpf_attach_type(0), "bsp_observe", p.insns, 1);
  if (l.fd >= 0) return l.fd;
  if (l.err == EPERM) return errnoError(l.err, "cannot load the observe program");
  return llvm::createStringError(std::error_code(l.err, std::generic_category()),
                                 "the kernel refused the observe program (%zu instructions): %s%s%s", p.insns.size(),
                                 llvm::sys::StrError(l.err).c_str(), l.logTail.empty() ? "" : ": ", l.logTail.c_str());
}

bool keyLess(const ObserveKey &a, const ObserveKey &b) {
  return std::tie(a.nr, a.args[0], a.args[1], a.args[2], a.args[3], a.args[4], a.args[5]) <
         std::tie(b.nr, b.args[0], b.args[1], b.args[2], b.args[3], b.args[4], b.args[5]);
}

} // namespace

llvm::Expected<ObserveRunResult> runObserved(const ObserveProgramMaker &make, const std::string &path,
                                             const std::vector<std::string> &argv) {
  // The cgroup first: without cgroup v2 or root nothing else is worth creating.
  auto cg = NetCgroup::create({}, "bespoke-observe-");
  if (!cg) return cg.takeError();
  Fds fds;
  ObserveMaps maps;
  auto cgroups = makeMap(fds, BPF_MAP_TYPE_CGROUP_ARRAY, "bsp_cgroup", 4, 4, 1);
  if (!cgroups) return cgroups.takeError();
  auto events = makeMap(fds, BPF_MAP_TYPE_HASH, "bsp_events", sizeof(ObserveKey), sizeof(ObserveValue), kEventsMax);
  if (!events) return events.takeError();
  auto stacks = makeMap(fds, BPF_MAP_TYPE_STACK_TRACE, "bsp_stacks", 4,
                        ObserveStackDepth * sizeof(bpf_stack_build_id), kStacksMax, BPF_F_STACK_BUILD_ID);
  if (!stacks) return stacks.takeError();
  auto lost = makeMap(fds, BPF_MAP_TYPE_ARRAY, "bsp_lost", 4, 8, 1);
  if (!lost) return lost.takeError();
  maps = {*cgroups, *events, *stacks, *lost};
  uint32_t slot = 0;
  uint32_t cgFd = static_cast<uint32_t>(cg->fd());
  if (bpf_map_update_elem(maps.cgroupArray, &slot, &cgFd, BPF_ANY) != 0)
    return errnoError(errno, "cannot put cgroup " + cg->path() + " in the observe program's map");

  auto program = make(maps);
  if (!program) return program.takeError();
  auto progFd = loadProgram(*program);
  if (!progFd) return progFd.takeError();
  fds.keep(*progFd);
  bpf_prog_info info{};
  uint32_t infoLen = sizeof(info);
  uint32_t programId = bpf_obj_get_info_by_fd(*progFd, &info, &infoLen) == 0 ? info.id : 0;
  int link = bpf_raw_tracepoint_open("sys_enter", *progFd);
  if (link < 0) return errnoError(errno, "cannot attach the observe program to raw_syscalls:sys_enter");
  int linkSlot = static_cast<int>(fds.fds.size());
  fds.keep(link);

  auto run = runInCgroup(*cg, path, argv, [] { return llvm::Error::success(); });
  close(link); // detached: nothing more is recorded
  fds.fds.erase(fds.fds.begin() + linkSlot);
  llvm::Error closed = cg->close();
  if (!run) {
    llvm::consumeError(std::move(closed));
    return run.takeError();
  }
  if (closed) return closed;

  ObserveRunResult r;
  r.status = run->status;
  r.leftBehindKilled = run->leftBehindKilled;
  r.instructions = program->insns.size();
  r.programId = programId;
  ObserveKey key, next;
  bool first = true;
  while (bpf_map_get_next_key(maps.events, first ? nullptr : &key, &next) == 0) {
    first = false;
    key = next;
    ObserveValue v;
    if (bpf_map_lookup_elem(maps.events, &key, &v) != 0) continue;
    ObservedCall c;
    c.key = key;
    c.count = v.count;
    if (v.stackId >= 0) {
      std::vector<bpf_stack_build_id> frames(ObserveStackDepth);
      uint32_t id = static_cast<uint32_t>(v.stackId);
      if (bpf_map_lookup_elem(maps.stacks, &id, frames.data()) == 0) {
        for (const bpf_stack_build_id &f : frames) {
          if (f.status == BPF_STACK_BUILD_ID_EMPTY) break;
          c.stack.push_back(f);
        }
      }
    }
    r.calls.push_back(std::move(c));
  }
  std::sort(r.calls.begin(), r.calls.end(), [](const ObservedCall &a, const ObservedCall &b) { return keyLess(a.key, b.key); });
  uint64_t lostCount = 0;
  if (bpf_map_lookup_elem(maps.lost, &slot, &lostCount) == 0) r.lost = lostCount;
  return r;
}

} // namespace bespoke
