// NetPolicy: what one application may do with the network, and what it means for each event the cgroup
// hooks see (the reference semantics the eBPF programs are proven against). A data-type library.
#pragma once

#include "ebpf/Program.h"

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace bespoke {

// An allowed destination of connect/sendmsg. Addresses in network byte order (an IPv4 address in the first
// 4 bytes); ports in host byte order.
struct NetDestination {
  uint32_t family = 0; // AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};
  bool anyAddr = false; // any address of this family
  uint16_t port = 0;
  bool anyPort = false;
};

struct NetPolicy {
  // The families an AF_INET/AF_INET6 socket may be created with (SockCreate). Other values may be listed
  // (AF_UNIX, ...) but SockCreate never sees them.
  std::set<uint32_t> families;
  // bind4/bind6: the ports a socket may bind (host order). Port 0 (the kernel picks a free port) is always
  // allowed: it names no service.
  bool bindAnyPort = false;
  std::set<uint16_t> bindPorts;
  // connect4/6 and sendmsg4/6 (a datagram sent to an address): the destinations allowed. A v4 destination
  // also matches connect6/sendmsg6 to its v4-mapped address (::ffff:a.b.c.d), which a dual-stack socket uses.
  bool connectAny = false;
  std::vector<NetDestination> connect;
};

// What a hook sees. SockCreate: family, type (without SOCK_NONBLOCK/SOCK_CLOEXEC) and protocol. The address
// hooks: the address and port the call names (network byte order, as in struct bpf_sock_addr: IPv4 in the
// first 4 bytes of ip) and the port in host byte order.
struct NetEvent {
  NetHook hook = NetHook::SockCreate;
  uint32_t family = 0, type = 0, protocol = 0;
  std::array<uint8_t, 16> ip{};
  uint16_t port = 0;
};

// The verdict the policy prescribes for the event: true allows it.
bool allows(const NetPolicy &policy, const NetEvent &event);

// "AF_INET6 SOCK_DGRAM 17", "connect6 [::ffff:10.0.0.1]:53", "bind4 0.0.0.0:6379": for messages and
// counterexamples.
std::string describe(const NetEvent &event);

} // namespace bespoke
