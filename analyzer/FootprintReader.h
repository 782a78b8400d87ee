// FootprintReader: reads what a walked Program asks of the kernel — syscalls with up to three shortest
// evidence chains each and their argument facts (ArgumentFacts.h), the sites it cannot resolve, the /proc, /sys and /dev paths and the other files it
// names by constant paths. Code loaded at run time (dlopen, exec) is BinaryAnalyzer's business: this
// reader only looks at syscall sites, syscall-wrapper calls and path-taking calls.
#pragma once

#include "analyzer/ArgumentFacts.h"
#include "analyzer/Footprint.h"
#include "analyzer/Program.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace bespoke {

class FootprintReader {
public:
  // `setxid`: functions whose non-constant syscall is glibc's setxid broadcast (RunTimeSites).
  FootprintReader(const Program &p, const Reach &reach, const std::vector<uint16_t> &wrappers,
                  const std::set<uint32_t> &setxid, Footprint &fp)
      : P(p), R(reach), Wrappers(wrappers), Setxid(setxid), Fp(fp) {}

  // How the names passed to dlsym are read (argument facts; without it, a name not in the model is any name).
  void setStringReader(ArgumentResolver::StringReader strings) { Strings = std::move(strings); }
  // Reads every reachable function, in visit order, so that the first evidence found is a shortest chain.
  void read();
  // Adds an unresolved site of the walked program (e.g. a dlopen nobody can resolve).
  void unresolved(const std::string &kind, const std::string &why, uint32_t g, uint64_t site);
  // Writes what was read into the footprint: syscalls (sorted, with the kernel-issued ones), unresolved
  // sites (sorted, each once), kernel paths and files.
  void finish();

private:
  void addUse(long nr, uint32_t g, uint64_t site, const std::vector<Frame> &tail);
  void readSyscallSite(uint32_t g, const SyscallSite &s);
  void readWrapperCall(uint32_t g, size_t m, const Edge &e);
  void readPathCall(uint32_t g, const Edge &e);
  std::map<std::string, ArgFact> argumentFacts(int nr);

  const Program &P;
  const Reach &R;
  const std::vector<uint16_t> &Wrappers;
  const std::set<uint32_t> &Setxid;
  Footprint &Fp;
  std::map<int, std::vector<Evidence>> Found;
  std::map<int, std::set<uint32_t>> FoundIn;
  std::set<std::string> KernelPaths;
  std::map<std::string, Evidence> Files;
  std::vector<uint32_t> Targets;
  std::vector<std::pair<uint32_t, const SyscallSite *>> Sites; // reachable syscall instructions
  ArgumentResolver::StringReader Strings;
  std::unique_ptr<ArgumentResolver> Resolver;                   // built when a recorded syscall is found
};

} // namespace bespoke
