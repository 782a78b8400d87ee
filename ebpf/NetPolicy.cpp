// The reference semantics of NetPolicy (NetPolicy.h) and the hook table (Program.h).
#include "ebpf/NetPolicy.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace bespoke {

namespace {

struct HookInfo {
  NetHook hook;
  const char *name;
  bpf_prog_type type;
  bpf_attach_type attach;
};

const HookInfo Hooks[] = {
    {NetHook::SockCreate, "sock_create", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE},
    {NetHook::Bind4, "bind4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND},
    {NetHook::Bind6, "bind6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_BIND},
    {NetHook::Connect4, "connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT},
    {NetHook::Connect6, "connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT},
    {NetHook::Sendmsg4, "sendmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG},
    {NetHook::Sendmsg6, "sendmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG},
};

const HookInfo &info(NetHook hook) {
  for (const HookInfo &h : Hooks)
    if (h.hook == hook) return h;
  return Hooks[0];
}

constexpr uint8_t V4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool matches(const NetDestination &d, const NetEvent &e) {
  if (!d.anyPort && d.port != e.port) return false;
  bool v6 = isIpv6(e.hook);
  if (d.family == AF_INET6) return v6 && (d.anyAddr || d.addr == e.ip);
  if (d.family != AF_INET) return false;
  if (!v6) return d.anyAddr || std::equal(d.addr.begin(), d.addr.begin() + 4, e.ip.begin());
  // A v4 destination reached through a dual-stack socket: ::ffff:a.b.c.d.
  if (!std::equal(V4MappedPrefix, V4MappedPrefix + 12, e.ip.begin())) return false;
  return d.anyAddr || std::equal(d.addr.begin(), d.addr.begin() + 4, e.ip.begin() + 12);
}

} // namespace

const char *hookName(NetHook hook) { return info(hook).name; }
bpf_prog_type programType(NetHook hook) { return info(hook).type; }
bpf_attach_type attachType(NetHook hook) { return info(hook).attach; }
bool isIpv6(NetHook hook) { return hook == NetHook::Bind6 || hook == NetHook::Connect6 || hook == NetHook::Sendmsg6; }

bool allows(const NetPolicy &p, const NetEvent &e) {
  switch (e.hook) {
  case NetHook::SockCreate:
    return p.families.count(e.family) > 0;
  case NetHook::Bind4:
  case NetHook::Bind6:
    return e.port == 0 || p.bindAnyPort || p.bindPorts.count(e.port) > 0;
  case NetHook::Connect4:
  case NetHook::Connect6:
  case NetHook::Sendmsg4:
  case NetHook::Sendmsg6:
    return p.connectAny || std::any_of(p.connect.begin(), p.connect.end(),
                                       [&](const NetDestination &d) { return matches(d, e); });
  }
  return false;
}

std::string describe(const NetEvent &e) {
  char buf[128];
  if (e.hook == NetHook::SockCreate) {
    const char *fam = e.family == AF_INET ? "AF_INET" : e.family == AF_INET6 ? "AF_INET6" : nullptr;
    std::string f = fam ? fam : "family " + std::to_string(e.family);
    snprintf(buf, sizeof buf, "sock_create %s type %u protocol %u", f.c_str(), e.type, e.protocol);
    return buf;
  }
  char addr[INET6_ADDRSTRLEN] = "?";
  if (isIpv6(e.hook)) {
    inet_ntop(AF_INET6, e.ip.data(), addr, sizeof addr);
    snprintf(buf, sizeof buf, "%s [%s]:%u", hookName(e.hook), addr, e.port);
  } else {
    inet_ntop(AF_INET, e.ip.data(), addr, sizeof addr);
    snprintf(buf, sizeof buf, "%s %s:%u", hookName(e.hook), addr, e.port);
  }
  return buf;
}

} // namespace bespoke
