// net-proof-bench: the eBPF network-policy programs of `bespoke run --net` (extension-gen/NetPrograms) for
// policies of growing size: instructions per hook, generation time, Z3 proof time (verify/EbpfEquivalence)
// and the kernel verifier's load time (loadNetProgram, root only). A program, not a test; results in
// bench/RESULTS.md.
//   net-proof-bench [--runs N]
#include "extension-gen/NetAttach.h"
#include "extension-gen/NetPrograms.h"
#include "verify/EbpfEquivalence.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace bespoke;

namespace {

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// N bind ports and N destinations, half IPv4 (10.0.x.y:53+i) and half IPv6 (2001:db8::x, port 443+i).
NetPolicy policyOfSize(int n) {
  NetPolicy p;
  p.families = {AF_INET, AF_INET6, AF_UNIX};
  for (int i = 0; i < n; ++i) {
    p.bindPorts.insert(uint16_t(1000 + i));
    NetDestination d;
    if (i % 2 == 0) {
      d.family = AF_INET;
      uint8_t a[4] = {10, 0, uint8_t(i >> 8), uint8_t(i)};
      std::memcpy(d.addr.data(), a, 4);
      d.port = uint16_t(53 + i);
    } else {
      d.family = AF_INET6;
      std::string text = "2001:db8::" + std::to_string(i);
      inet_pton(AF_INET6, text.c_str(), d.addr.data());
      d.port = uint16_t(443 + i);
    }
    p.connect.push_back(d);
  }
  return p;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) runs = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: net-proof-bench [--runs N]\n");
      return 2;
    }
  }
  bool root = geteuid() == 0;
  std::printf("net-proof-bench: %d runs per size (medians); kernel load %s\n", runs,
              root ? "measured (root)" : "not measured (not root)");
  std::printf("%-6s %-10s %8s %12s %12s %12s\n", "size", "hook", "insns", "generate ms", "prove ms", "load ms");
  for (int n : {1, 10, 100, 400}) {
    NetPolicy policy = policyOfSize(n);
    for (NetHook hook : AllNetHooks) {
      std::vector<double> gen, proof, load;
      size_t insns = 0;
      for (int r = 0; r < runs; ++r) {
        auto t = std::chrono::steady_clock::now();
        auto prog = compileNetProgram(policy, hook);
        gen.push_back(secondsSince(t) * 1000);
        if (!prog) {
          std::fprintf(stderr, "net-proof-bench: %s\n", llvm::toString(prog.takeError()).c_str());
          return 1;
        }
        insns = prog->insns.size();
        auto v = proveNetProgram(*prog, policy);
        if (!v || !v->equivalent) {
          std::fprintf(stderr, "net-proof-bench: %s %d: not proven\n", hookName(hook), n);
          if (!v) llvm::consumeError(v.takeError());
          return 1;
        }
        proof.push_back(v->seconds * 1000);
        if (root) {
          t = std::chrono::steady_clock::now();
          auto fd = loadNetProgram(*prog);
          load.push_back(secondsSince(t) * 1000);
          if (!fd) {
            std::fprintf(stderr, "net-proof-bench: %s\n", llvm::toString(fd.takeError()).c_str());
            return 1;
          }
          close(*fd);
        }
      }
      std::printf("%-6d %-10s %8zu %12.3f %12.2f %12s\n", n, hookName(hook), insns, median(gen), median(proof),
                  root ? std::to_string(median(load)).substr(0, 6).c_str() : "-");
    }
  }
  return 0;
}
