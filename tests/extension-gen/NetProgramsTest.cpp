// The network policy programs (extension-gen/NetPrograms.h): determinism and size, agreement with the
// reference semantics (ebpf/NetPolicy.h's allows()) under a small interpreter of the instructions they use,
// acceptance by the running kernel's verifier, and live: a forked child in a NetCgroup (NetAttach.h) sees
// exactly the verdicts allows() prescribes, while a process outside sees none. Live tests need root and a
// cgroup v2, as bespoke run --net does.
#include "extension-gen/NetAttach.h"
#include "extension-gen/NetPrograms.h"
#include "ebpf/Interpreter.h"
#include "verify/EbpfSafety.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <random>

using namespace bespoke;

namespace {

// ----------------------------------------------------------------------------------------------------
// Fixtures

std::array<uint8_t, 16> v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {a, b, c, d}; }

std::array<uint8_t, 16> v6(const char *text) {
  std::array<uint8_t, 16> out{};
  EXPECT_EQ(inet_pton(AF_INET6, text, out.data()), 1) << text;
  return out;
}

NetDestination dest(uint32_t family, std::array<uint8_t, 16> addr, std::optional<uint16_t> port) {
  NetDestination d;
  d.family = family;
  d.addr = addr;
  d.port = port.value_or(0);
  d.anyPort = !port;
  return d;
}

NetDestination anyAddr(uint32_t family, std::optional<uint16_t> port) {
  NetDestination d = dest(family, {}, port);
  d.anyAddr = true;
  return d;
}

struct NamedPolicy {
  const char *name;
  NetPolicy policy;
};

std::vector<NamedPolicy> policies() {
  std::vector<NamedPolicy> out;
  out.push_back({"empty", NetPolicy{}});
  NetPolicy families;
  families.families = {AF_INET, AF_INET6, AF_UNIX, 0x80000002U};
  out.push_back({"families", families});
  NetPolicy ports;
  ports.families = {AF_INET};
  ports.bindPorts = {0, 80, 443, 6379, 65535};
  out.push_back({"ports", ports});
  NetPolicy many;
  many.families = {AF_INET6};
  many.bindPorts = {53};
  many.connect = {dest(AF_INET, v4(10, 0, 0, 53), 53),
                  dest(AF_INET, v4(127, 0, 0, 1), std::nullopt),
                  anyAddr(AF_INET, 443),
                  dest(AF_INET6, v6("2001:db8::1"), 8080),
                  dest(AF_INET6, v6("::ffff:192.168.1.1"), 22), // a v6 destination written v4-mapped
                  anyAddr(AF_INET6, 853),
                  dest(AF_INET6, v6("fe80::ffff:0:1"), std::nullopt),
                  dest(AF_INET, v4(255, 255, 255, 255), 65535)};
  out.push_back({"many destinations", many});
  NetPolicy anyV4 = many;
  anyV4.connect.push_back(anyAddr(AF_INET, std::nullopt)); // all of v4 (and of v4-mapped)
  out.push_back({"any v4 destination", anyV4});
  NetPolicy open;
  open.families = {AF_INET, AF_INET6};
  open.connectAny = true;
  open.bindAnyPort = true;
  out.push_back({"connectAny bindAnyPort", open});
  return out;
}

std::vector<EbpfProgram> compileOk(const NetPolicy &p) {
  llvm::Expected<std::vector<EbpfProgram>> progs = compileNetPrograms(p);
  if (!progs) {
    ADD_FAILURE() << llvm::toString(progs.takeError());
    return {};
  }
  return std::move(*progs);
}

std::string listing(const EbpfProgram &p) {
  std::string out = std::string(hookName(p.hook)) + ":\n";
  for (const bpf_insn &i : p.insns)
    out += "  " + disassemble(i) + "\n";
  return out;
}

// ----------------------------------------------------------------------------------------------------
// Programs run on the shared interpreter (ebpf/Interpreter.h) after verify/'s safety check (the subset the
// kernel's verifier accepts): r0 at exit, or why the program is outside it.

std::optional<uint64_t> run(const EbpfProgram &p, const std::vector<uint8_t> &ctx, std::string &why) {
  if (llvm::Error e = checkEbpfSafety(p)) {
    why = llvm::toString(std::move(e));
    return std::nullopt;
  }
  uint64_t r0 = runNetProgram(p, ctx);
  if (r0 == RunFailed) {
    why = "the interpreter could not run it";
    return std::nullopt;
  }
  return r0;
}

// The event's context, with `portGarbage` in user_port's upper half (where the kernel puts zeros).
std::vector<uint8_t> contextFor(const NetEvent &e, uint32_t portGarbage = 0) {
  std::vector<uint8_t> ctx = netContext(e);
  if (e.hook != NetHook::SockCreate) {
    ctx[offsetof(bpf_sock_addr, user_port) + 2] = uint8_t(portGarbage);
    ctx[offsetof(bpf_sock_addr, user_port) + 3] = uint8_t(portGarbage >> 8);
  }
  return ctx;
}

// Events worth trying on one hook under one policy: every value the policy names, its neighbours, the
// v4-mapped forms, and random ones.
std::vector<NetEvent> eventsFor(const NetPolicy &p, NetHook hook, std::mt19937 &rng) {
  std::vector<NetEvent> out;
  NetEvent base;
  base.hook = hook;
  if (hook == NetHook::SockCreate) {
    std::vector<uint32_t> fams = {0xffffffffU, 0x80000000U | AF_INET, 0x80000000U | AF_INET6, 0x100U | AF_INET};
    for (uint32_t f = 0; f < 64; ++f)
      fams.push_back(f);
    for (uint32_t f : p.families)
      fams.insert(fams.end(), {f, f + 1, f - 1});
    for (int i = 0; i < 100; ++i)
      fams.push_back(rng());
    for (uint32_t f : fams)
      for (uint32_t type : {1u, 2u, 3u}) {
        NetEvent e = base;
        e.family = f, e.type = type, e.protocol = type == 2 ? 17 : 0;
        out.push_back(e);
      }
    return out;
  }
  if (hook == NetHook::Bind4 || hook == NetHook::Bind6) {
    for (uint32_t port = 0; port <= 0xffff; ++port) {
      NetEvent e = base;
      e.port = uint16_t(port);
      out.push_back(e);
    }
    return out;
  }
  std::vector<std::array<uint8_t, 16>> addrs = {{}, v6("::1"), v6("::ffff:0.0.0.0"), v6("::ffff:127.0.0.1")};
  std::vector<uint16_t> ports = {0, 1, 0xffff, 0x100, 0xff};
  for (const NetDestination &d : p.connect) {
    std::array<uint8_t, 16> mapped{};
    mapped[10] = mapped[11] = 0xff;
    memcpy(mapped.data() + 12, d.addr.data(), 4);
    for (std::array<uint8_t, 16> a : {d.addr, mapped}) {
      addrs.push_back(a);
      for (int byte = 0; byte < 16; ++byte) { // one byte off: every word must be compared
        std::array<uint8_t, 16> near = a;
        near[byte] ^= 1;
        addrs.push_back(near);
      }
    }
    ports.insert(ports.end(), {d.port, uint16_t(d.port + 1), uint16_t(d.port - 1), uint16_t(d.port ^ 0x100)});
  }
  for (int i = 0; i < 20; ++i) {
    std::array<uint8_t, 16> a;
    for (uint8_t &b : a)
      b = uint8_t(rng());
    addrs.push_back(a);
    ports.push_back(uint16_t(rng()));
  }
  for (const auto &a : addrs)
    for (uint16_t port : ports) {
      NetEvent e = base;
      e.ip = a, e.port = port;
      out.push_back(e);
    }
  return out;
}

} // namespace

// ----------------------------------------------------------------------------------------------------
// Generation

TEST(NetPrograms, OneProgramPerHookDeterministicAndSmall) {
  for (const NamedPolicy &np : policies()) {
    SCOPED_TRACE(np.name);
    std::vector<EbpfProgram> a = compileOk(np.policy), b = compileOk(np.policy);
    ASSERT_EQ(a.size(), std::size(AllNetHooks));
    ASSERT_EQ(b.size(), a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].hook, AllNetHooks[i]);
      ASSERT_EQ(a[i].insns.size(), b[i].insns.size());
      EXPECT_EQ(memcmp(a[i].insns.data(), b[i].insns.data(), a[i].insns.size() * sizeof(bpf_insn)), 0)
          << listing(a[i]);
      EXPECT_GE(a[i].insns.size(), 2u);
      EXPECT_LE(a[i].insns.size(), 64u) << listing(a[i]);
    }
  }
}

TEST(NetPrograms, ConstantVerdictsAreTwoInstructions) {
  NetPolicy open;
  open.families = {AF_INET};
  open.bindAnyPort = open.connectAny = true;
  for (const EbpfProgram &p : compileOk(open))
    if (p.hook != NetHook::SockCreate) {
      EXPECT_EQ(p.insns.size(), 2u) << listing(p);
    }
  for (const EbpfProgram &p : compileOk(NetPolicy{}))
    if (p.hook != NetHook::Bind4 && p.hook != NetHook::Bind6) { // bind always allows port 0
      EXPECT_EQ(p.insns.size(), 2u) << listing(p);
    }
}

TEST(NetPrograms, AgreesWithReferenceSemantics) {
  std::mt19937 rng(14);
  for (const NamedPolicy &np : policies()) {
    SCOPED_TRACE(np.name);
    for (const EbpfProgram &p : compileOk(np.policy)) {
      size_t allowed = 0, checked = 0;
      for (const NetEvent &e : eventsFor(np.policy, p.hook, rng)) {
        for (uint32_t garbage : {0u, 0xabcdu}) { // user_port's upper half is documented zero; ignored anyway
          std::string why;
          std::optional<uint64_t> r0 = run(p, contextFor(e, garbage), why);
          ASSERT_TRUE(r0) << why << "\n" << listing(p);
          bool want = allows(np.policy, e);
          ASSERT_EQ(*r0, want ? 1u : 0u) << describe(e) << " port garbage " << garbage << "\n" << listing(p);
          allowed += want, ++checked;
        }
      }
      EXPECT_GT(checked, 0u);
      if ((np.policy.connectAny || std::string(np.name) == "many destinations") && p.hook != NetHook::SockCreate) {
        EXPECT_GT(allowed, 0u) << hookName(p.hook); // the events reach the allowing blocks
      }
    }
  }
}

TEST(NetPrograms, V4DestinationMatchesItsMappedFormOnlyInV6Hooks) {
  NetPolicy p;
  p.connect = {dest(AF_INET, v4(10, 0, 0, 53), 53), dest(AF_INET6, v6("2001:db8::1"), 53)};
  std::vector<EbpfProgram> progs = compileOk(p);
  auto verdict = [&](NetHook hook, std::array<uint8_t, 16> ip, uint16_t port) {
    NetEvent e;
    e.hook = hook, e.ip = ip, e.port = port;
    std::string why;
    for (const EbpfProgram &prog : progs)
      if (prog.hook == hook)
        return run(prog, contextFor(e), why).value_or(99);
    return uint64_t(98);
  };
  EXPECT_EQ(verdict(NetHook::Connect4, v4(10, 0, 0, 53), 53), 1u);
  EXPECT_EQ(verdict(NetHook::Connect6, v6("::ffff:10.0.0.53"), 53), 1u);
  EXPECT_EQ(verdict(NetHook::Sendmsg6, v6("::ffff:10.0.0.53"), 53), 1u);
  EXPECT_EQ(verdict(NetHook::Connect6, v6("::10.0.0.53"), 53), 0u); // v4-compatible, not v4-mapped
  EXPECT_EQ(verdict(NetHook::Connect6, v6("::ffff:10.0.0.53"), 54), 0u);
  EXPECT_EQ(verdict(NetHook::Connect6, v6("2001:db8::1"), 53), 1u);
  EXPECT_EQ(verdict(NetHook::Connect4, v6("2001:db8::1"), 53), 0u); // 32.1.13.184: not listed
}

TEST(NetPrograms, RefusesBadPolicies) {
  NetPolicy huge;
  for (int i = 0; i < 5000; ++i)
    huge.connect.push_back(dest(AF_INET, v4(10, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)), 80));
  llvm::Expected<std::vector<EbpfProgram>> progs = compileNetPrograms(huge);
  ASSERT_FALSE(progs);
  std::string msg = llvm::toString(progs.takeError());
  EXPECT_NE(msg.find("more than the kernel's 4096"), std::string::npos) << msg;
  EXPECT_NE(msg.find("connect4"), std::string::npos) << msg;

  NetPolicy local;
  local.connect = {dest(AF_INET, v4(127, 0, 0, 1), 80), dest(AF_UNIX, {}, 80)};
  progs = compileNetPrograms(local);
  ASSERT_FALSE(progs);
  msg = llvm::toString(progs.takeError());
  EXPECT_NE(msg.find("destination 1 has family 1"), std::string::npos) << msg;
  // Even where it would not matter (connectAny, or a hook that never reads destinations).
  local.connectAny = true;
  llvm::Expected<EbpfProgram> one = compileNetProgram(local, NetHook::SockCreate);
  ASSERT_FALSE(one);
  llvm::consumeError(one.takeError());
}

// ----------------------------------------------------------------------------------------------------
// The kernel

namespace {

bool haveRoot() { return geteuid() == 0; }

} // namespace

TEST(NetKernel, VerifierAcceptsEveryProgram) {
  if (!haveRoot())
    GTEST_SKIP() << "loading eBPF programs needs root";
  for (const NamedPolicy &np : policies()) {
    SCOPED_TRACE(np.name);
    for (const EbpfProgram &p : compileOk(np.policy)) {
      llvm::Expected<int> fd = loadNetProgram(p);
      ASSERT_TRUE(bool(fd)) << llvm::toString(fd.takeError()) << "\n" << listing(p);
      EXPECT_GE(*fd, 0);
      close(*fd);
    }
  }
}

TEST(NetKernel, RefusalCarriesTheVerifierLog) {
  if (!haveRoot())
    GTEST_SKIP() << "loading eBPF programs needs root";
  EbpfProgram bad;
  bad.hook = NetHook::Connect4;
  bpf_insn exit{};
  exit.code = BPF_JMP | BPF_EXIT; // r0 never set
  bad.insns = {exit};
  llvm::Expected<int> fd = loadNetProgram(bad);
  ASSERT_FALSE(fd);
  std::string msg = llvm::toString(fd.takeError());
  EXPECT_NE(msg.find("connect4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("R0 !read_ok"), std::string::npos) << msg;
}

// ----------------------------------------------------------------------------------------------------
// Live: a child in the cgroup

namespace {

int tcpListener(uint16_t &port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, (sockaddr *)&a, &len) != 0)
    return -1;
  port = ntohs(a.sin_port);
  return fd;
}

// A port nothing is bound to right now (bound to 0, read back, closed).
uint16_t freePort(int type) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (fd >= 0 && bind(fd, (sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

sockaddr_in loop4(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

sockaddr_in6 sa6(const char *addr, uint16_t port) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  inet_pton(AF_INET6, addr, &a.sin6_addr);
  return a;
}

// 0 or the errno of the first call that failed.
int socketOnly(int family, int type) {
  int fd = socket(family, type, 0);
  if (fd < 0)
    return errno;
  close(fd);
  return 0;
}

int withSocket(int family, int type, const std::function<int(int)> &op) {
  int fd = socket(family, type, 0);
  if (fd < 0)
    return errno;
  int err = op(fd);
  close(fd);
  return err;
}

template <typename Addr> int bindTo(int family, int type, Addr a) {
  return withSocket(family, type, [&](int fd) { return bind(fd, (sockaddr *)&a, sizeof a) == 0 ? 0 : errno; });
}
template <typename Addr> int connectTo(int family, Addr a) {
  return withSocket(family, SOCK_STREAM,
                          [&](int fd) { return connect(fd, (sockaddr *)&a, sizeof a) == 0 ? 0 : errno; });
}
template <typename Addr> int sendTo(int family, Addr a) {
  return withSocket(family, SOCK_DGRAM, [&](int fd) {
    return sendto(fd, "x", 1, 0, (sockaddr *)&a, sizeof a) == 1 ? 0 : errno;
  });
}

struct Op {
  std::string name;
  std::vector<NetEvent> events; // what the hooks see, in order
  std::function<int()> run;
  std::optional<int> want; // the outcome the test's author expects, checked against allows() too
};

NetEvent sockEvent(uint32_t family, uint32_t type) {
  NetEvent e;
  e.family = family, e.type = type, e.protocol = 0;
  return e;
}
NetEvent addrEvent(NetHook hook, std::array<uint8_t, 16> ip, uint16_t port) {
  NetEvent e;
  e.hook = hook, e.ip = ip, e.port = port;
  return e;
}

// 0 when every event is allowed, else EPERM (what the hooks make the call return).
int expected(const NetPolicy &p, const Op &op) {
  for (const NetEvent &e : op.events)
    if (!allows(p, e))
      return EPERM;
  return 0;
}

// Runs every op in a forked child (added to `cg` first, when given); their results, in order.
std::vector<int> runInChild(const std::vector<Op> &ops, NetCgroup *cg) {
  int go[2], results[2];
  if (pipe2(go, O_CLOEXEC) != 0 || pipe2(results, O_CLOEXEC) != 0)
    return {};
  pid_t pid = fork();
  if (pid == 0) {
    close(go[1]);
    close(results[0]);
    char c;
    if (read(go[0], &c, 1) != 1)
      _exit(3);
    for (const Op &op : ops) {
      int r = op.run();
      if (write(results[1], &r, sizeof r) != sizeof r)
        _exit(4);
    }
    _exit(0);
  }
  close(go[0]);
  close(results[1]);
  if (cg) {
    llvm::Error err = cg->addProcess(pid);
    EXPECT_FALSE(bool(err)) << llvm::toString(std::move(err));
  }
  EXPECT_EQ(write(go[1], "g", 1), 1);
  close(go[1]);
  std::vector<int> out;
  int r;
  while (read(results[0], &r, sizeof r) == sizeof r)
    out.push_back(r);
  close(results[0]);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  return out;
}

void liveCheck(bool allowV6) {
  uint16_t listenA = 0, listenB = 0;
  int la = tcpListener(listenA), lb = tcpListener(listenB);
  ASSERT_GE(la, 0);
  ASSERT_GE(lb, 0);
  uint16_t bindOk = freePort(SOCK_STREAM), bindOther = freePort(SOCK_STREAM);
  uint16_t udpOk = freePort(SOCK_DGRAM), udpOther = freePort(SOCK_DGRAM);
  ASSERT_TRUE(bindOk && bindOther && bindOk != bindOther && udpOk && udpOther && udpOk != udpOther);

  NetPolicy p;
  p.families = {AF_INET};
  if (allowV6)
    p.families.insert(AF_INET6);
  p.bindPorts = {bindOk};
  p.connect = {dest(AF_INET, v4(127, 0, 0, 1), listenA), dest(AF_INET, v4(127, 0, 0, 1), udpOk)};

  const auto lo = v4(127, 0, 0, 1), mapped = v6("::ffff:127.0.0.1"), any6 = v6("::");
  const NetEvent tcp4 = sockEvent(AF_INET, SOCK_STREAM), udp4 = sockEvent(AF_INET, SOCK_DGRAM);
  const NetEvent tcp6 = sockEvent(AF_INET6, SOCK_STREAM), udp6 = sockEvent(AF_INET6, SOCK_DGRAM);
  const int v6Want = allowV6 ? 0 : EPERM;
  std::vector<Op> ops = {
      {"socket(AF_INET)", {tcp4}, [] { return socketOnly(AF_INET, SOCK_STREAM); }, 0},
      {"socket(AF_INET6)", {tcp6}, [] { return socketOnly(AF_INET6, SOCK_STREAM); }, v6Want},
      {"bind 127.0.0.1:allowed", {tcp4, addrEvent(NetHook::Bind4, lo, bindOk)},
       [=] { return bindTo(AF_INET, SOCK_STREAM, loop4(bindOk)); }, 0},
      {"bind 127.0.0.1:other", {tcp4, addrEvent(NetHook::Bind4, lo, bindOther)},
       [=] { return bindTo(AF_INET, SOCK_STREAM, loop4(bindOther)); }, EPERM},
      {"bind 127.0.0.1:0", {tcp4, addrEvent(NetHook::Bind4, lo, 0)},
       [=] { return bindTo(AF_INET, SOCK_STREAM, loop4(0)); }, 0},
      {"bind [::]:allowed", {tcp6, addrEvent(NetHook::Bind6, any6, bindOk)},
       [=] { return bindTo(AF_INET6, SOCK_STREAM, sa6("::", bindOk)); }, v6Want},
      {"bind [::]:other", {tcp6, addrEvent(NetHook::Bind6, any6, bindOther)},
       [=] { return bindTo(AF_INET6, SOCK_STREAM, sa6("::", bindOther)); }, EPERM},
      {"connect 127.0.0.1:allowed", {tcp4, addrEvent(NetHook::Connect4, lo, listenA)},
       [=] { return connectTo(AF_INET, loop4(listenA)); }, 0},
      {"connect 127.0.0.1:other", {tcp4, addrEvent(NetHook::Connect4, lo, listenB)},
       [=] { return connectTo(AF_INET, loop4(listenB)); }, EPERM},
      {"connect [::ffff:127.0.0.1]:allowed", {tcp6, addrEvent(NetHook::Connect6, mapped, listenA)},
       [=] { return connectTo(AF_INET6, sa6("::ffff:127.0.0.1", listenA)); }, v6Want},
      {"connect [::ffff:127.0.0.1]:other", {tcp6, addrEvent(NetHook::Connect6, mapped, listenB)},
       [=] { return connectTo(AF_INET6, sa6("::ffff:127.0.0.1", listenB)); }, EPERM},
      {"sendto 127.0.0.1:allowed", {udp4, addrEvent(NetHook::Sendmsg4, lo, udpOk)},
       [=] { return sendTo(AF_INET, loop4(udpOk)); }, 0},
      {"sendto 127.0.0.1:other", {udp4, addrEvent(NetHook::Sendmsg4, lo, udpOther)},
       [=] { return sendTo(AF_INET, loop4(udpOther)); }, EPERM},
      // Linux 6.1 sends a datagram to a v4-mapped address through udp_sendmsg with the plain v4 address:
      // the sendmsg4 hook sees it, not sendmsg6.
      {"sendto [::ffff:127.0.0.1]:allowed", {udp6, addrEvent(NetHook::Sendmsg4, lo, udpOk)},
       [=] { return sendTo(AF_INET6, sa6("::ffff:127.0.0.1", udpOk)); }, v6Want},
      {"sendto [::ffff:127.0.0.1]:other", {udp6, addrEvent(NetHook::Sendmsg4, lo, udpOther)},
       [=] { return sendTo(AF_INET6, sa6("::ffff:127.0.0.1", udpOther)); }, EPERM},
      {"sendto [::1]:allowed port", {udp6, addrEvent(NetHook::Sendmsg6, v6("::1"), udpOk)},
       [=] { return sendTo(AF_INET6, sa6("::1", udpOk)); }, EPERM},
  };

  llvm::Expected<std::vector<EbpfProgram>> progs = compileNetPrograms(p);
  ASSERT_TRUE(bool(progs)) << llvm::toString(progs.takeError());
  llvm::Expected<NetCgroup> cg = NetCgroup::create(*progs);
  ASSERT_TRUE(bool(cg)) << llvm::toString(cg.takeError());
  std::string dir = cg->path();
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0) << dir;
  EXPECT_NE(dir.find("/bespoke-net-" + std::to_string(getpid()) + "-"), std::string::npos) << dir;

  std::vector<int> inside = runInChild(ops, &*cg);
  ASSERT_EQ(inside.size(), ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    int want = expected(p, ops[i]);
    if (ops[i].want) {
      EXPECT_EQ(want, *ops[i].want) << ops[i].name << ": allows() disagrees with the test's expectation";
    }
    EXPECT_EQ(inside[i], want) << ops[i].name << " in the cgroup: got " << strerror(inside[i]) << ", want "
                               << strerror(want);
  }

  std::vector<int> outside = runInChild(ops, nullptr); // the control: the programs bind nobody else
  ASSERT_EQ(outside.size(), ops.size());
  for (size_t i = 0; i < ops.size(); ++i)
    EXPECT_EQ(outside[i], 0) << ops[i].name << " outside the cgroup: " << strerror(outside[i]);

  llvm::Error err = cg->close();
  EXPECT_FALSE(bool(err)) << llvm::toString(std::move(err));
  EXPECT_NE(stat(dir.c_str(), &st), 0) << dir << " still exists";
  EXPECT_TRUE(cg->path().empty());
  close(la);
  close(lb);
}

} // namespace

TEST(NetLive, V4OnlyPolicyInACgroup) {
  if (!haveRoot())
    GTEST_SKIP() << "needs root (CAP_BPF, CAP_NET_ADMIN, cgroup.procs)";
  liveCheck(/*allowV6=*/false);
}

TEST(NetLive, DualStackPolicyInACgroup) {
  if (!haveRoot())
    GTEST_SKIP() << "needs root (CAP_BPF, CAP_NET_ADMIN, cgroup.procs)";
  liveCheck(/*allowV6=*/true);
}

TEST(NetLive, DestructorCleansUpAndCloseIsIdempotent) {
  if (!haveRoot())
    GTEST_SKIP() << "needs root";
  std::vector<EbpfProgram> progs = compileOk(policies()[3].policy);
  std::string dir;
  {
    llvm::Expected<NetCgroup> cg = NetCgroup::create(progs);
    ASSERT_TRUE(bool(cg)) << llvm::toString(cg.takeError());
    NetCgroup moved = std::move(*cg);
    EXPECT_TRUE(cg->path().empty());
    dir = moved.path();
  }
  struct stat st;
  EXPECT_NE(stat(dir.c_str(), &st), 0) << dir << " still exists";

  llvm::Expected<NetCgroup> cg = NetCgroup::create(progs);
  ASSERT_TRUE(bool(cg)) << llvm::toString(cg.takeError());
  EXPECT_FALSE(bool(cg->close()));
  EXPECT_FALSE(bool(cg->close()));
}

TEST(NetLive, FailedCreateLeavesNothing) {
  if (!haveRoot())
    GTEST_SKIP() << "needs root";
  std::vector<EbpfProgram> progs = compileOk(policies()[3].policy);
  bpf_insn exit{};
  exit.code = BPF_JMP | BPF_EXIT;
  progs.push_back({NetHook::Sendmsg6, {exit}}); // the verifier refuses it after six were attached
  llvm::Expected<std::string> root = cgroup2Root();
  ASSERT_TRUE(bool(root)) << llvm::toString(root.takeError());
  auto ours = [&] { // this process's cgroup directories
    std::vector<std::string> out;
    std::string prefix = "bespoke-net-" + std::to_string(getpid()) + "-";
    if (DIR *d = opendir(root->c_str())) {
      while (dirent *e = readdir(d))
        if (std::string(e->d_name).rfind(prefix, 0) == 0)
          out.push_back(e->d_name);
      closedir(d);
    }
    return out;
  };
  std::vector<std::string> before = ours();
  llvm::Expected<NetCgroup> cg = NetCgroup::create(progs);
  ASSERT_FALSE(bool(cg));
  std::string msg = llvm::toString(cg.takeError());
  EXPECT_NE(msg.find("sendmsg6"), std::string::npos) << msg;
  EXPECT_EQ(ours(), before);
}
