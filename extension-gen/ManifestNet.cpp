// ManifestNet: manifest facts and run flags -> NetPolicy (ManifestNet.h).
#include "extension-gen/ManifestNet.h"

#include "analyzer/ArgumentSpecs.h"
#include "extension-gen/ArgumentConditions.h"

#include "llvm/ADT/StringRef.h"

#include <optional>

#include <arpa/inet.h>
#include <sys/socket.h>

namespace bespoke {

namespace {

llvm::Error err(const llvm::Twine &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

// "1".."65535"; nullopt for anything else.
std::optional<uint16_t> parsePort(llvm::StringRef text) {
  unsigned port = 0;
  if (text.getAsInteger(10, port) || port == 0 || port > 65535) return std::nullopt;
  return uint16_t(port);
}

} // namespace

llvm::Expected<uint16_t> parseBindPort(const std::string &text) {
  std::optional<uint16_t> port = parsePort(text);
  if (!port) return err("--allow-bind '" + text + "': expected a port 1..65535");
  return *port;
}

llvm::Expected<std::vector<NetDestination>> parseDestination(const std::string &text) {
  auto bad = [&](const char *why) {
    return err("--allow-connect '" + text + "': " + why + " (expected HOST:PORT, [IPV6]:PORT, *:PORT, HOST:* or any)");
  };
  llvm::StringRef t(text);
  size_t colon = t.rfind(':');
  if (colon == llvm::StringRef::npos) return bad("no port");
  llvm::StringRef host = t.take_front(colon), portText = t.drop_front(colon + 1);
  NetDestination d;
  if (portText == "*") {
    d.anyPort = true;
  } else {
    std::optional<uint16_t> port = parsePort(portText);
    if (!port) return bad("the port is not 1..65535 or *");
    d.port = *port;
  }
  if (host == "*") {
    if (d.anyPort) return bad("*:* allows everything: say any");
    d.anyAddr = true;
    NetDestination v6 = d;
    d.family = AF_INET;
    v6.family = AF_INET6;
    return std::vector<NetDestination>{d, v6};
  }
  bool bracketed = host.consume_front("[");
  if (bracketed && !host.consume_back("]")) return bad("an unclosed [");
  std::string h = host.str();
  if (inet_pton(AF_INET6, h.c_str(), d.addr.data()) == 1 && bracketed) {
    d.family = AF_INET6;
  } else if (!bracketed && inet_pton(AF_INET, h.c_str(), d.addr.data()) == 1) {
    d.family = AF_INET;
  } else {
    return bad(bracketed ? "not an IPv6 address" : "not an IPv4 address (IPv6 goes in brackets; names are not resolved)");
  }
  return std::vector<NetDestination>{d};
}

llvm::Expected<NetPolicy> netPolicyFromManifest(const Manifest &m, const std::string &manifestPath,
                                                const NetFlags &flags) {
  NetPolicy p;
  bool sockets = false;
  for (const SyscallUse &u : m.footprint.syscalls) {
    if (u.name != "socket" && u.name != "socketpair") continue;
    sockets = true;
    auto fact = u.args.find("domain");
    const bool unbounded = fact == u.args.end() || fact->second.any;
    if (unbounded && m.footprint.network.families.empty()) {
      p.families.insert({AF_INET, AF_INET6});
      continue;
    }
    const ArgumentSpec *spec = argumentSpecOf(u.name, "domain");
    // An unbounded domain bounded by the reviewer's network.families (as the seccomp policy does).
    for (const std::string &v : unbounded ? m.footprint.network.families : fact->second.values) {
      auto family = spec ? parseArgumentValue(v, *spec) : parseArgumentValue(v);
      if (!family) return err(manifestPath + ": " + u.name + " domain: " + llvm::toString(family.takeError()));
      p.families.insert(*family);
    }
  }
  if (!sockets)
    return err(manifestPath + ": no socket facts (the manifest has neither socket nor socketpair): nothing for --net to "
               "allow; run without --net");
  // A destination of the manifest's `network.connect` or of --allow-connect (`where` prefixes its errors).
  auto allowConnect = [&](const std::string &text, const std::string &where) -> llvm::Error {
    if (text == "any") {
      p.connectAny = true;
      return llvm::Error::success();
    }
    auto dests = parseDestination(text);
    if (!dests) return err(where + llvm::toString(dests.takeError()));
    p.connect.insert(p.connect.end(), dests->begin(), dests->end());
    return llvm::Error::success();
  };
  // The manifest's reviewed `network:` section, then the flags.
  for (uint16_t port : m.footprint.network.bind) p.bindPorts.insert(port);
  for (const std::string &c : m.footprint.network.connect)
    if (llvm::Error e = allowConnect(c, manifestPath + ": network.connect: ")) return e;
  for (const std::string &b : flags.allowBind) {
    auto port = parseBindPort(b);
    if (!port) return port.takeError();
    p.bindPorts.insert(*port);
  }
  for (const std::string &c : flags.allowConnect)
    if (llvm::Error e = allowConnect(c, "")) return e;
  return p;
}

} // namespace bespoke
