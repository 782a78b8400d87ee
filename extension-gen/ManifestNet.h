// ManifestNet: the network policy `bespoke run --net` enforces (ebpf/NetPolicy.h) from a manifest and the
// run's flags: the socket families are the manifest's (socket and socketpair `domain` facts), the bind ports
// and connect destinations those of the manifest's optional, reviewer-written `network:` section
// (manifests/README.md) and those the flags allow.
#pragma once

#include "ebpf/NetPolicy.h"
#include "manifests/Manifest.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace bespoke {

struct NetFlags {
  std::vector<std::string> allowBind;    // --allow-bind PORT
  std::vector<std::string> allowConnect; // --allow-connect HOST:PORT | any
};

// The policy. families: every value of the manifest's socket/socketpair `domain` facts (names or numbers);
// a `domain` that is `any`, or unrecorded, allows AF_INET and AF_INET6 (the only families the cgroup hook
// sees). Errors, naming `manifestPath` or the flag: a manifest with neither socket nor socketpair (nothing
// for --net to allow), a domain value that is no number or AF_ constant, a malformed flag.
llvm::Expected<NetPolicy> netPolicyFromManifest(const Manifest &m, const std::string &manifestPath,
                                                const NetFlags &flags);

// "6379" -> 6379 (1..65535).
llvm::Expected<uint16_t> parseBindPort(const std::string &text);

// "10.0.0.53:53", "[2001:db8::1]:443", "*:53" (any IPv4 or IPv6 address), "10.0.0.53:*" (any port).
// An IPv4 destination also matches its v4-mapped IPv6 form (NetPolicy.h). "*:53" gives two destinations,
// one per family.
llvm::Expected<std::vector<NetDestination>> parseDestination(const std::string &text);

} // namespace bespoke
