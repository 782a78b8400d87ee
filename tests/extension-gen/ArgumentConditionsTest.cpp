// Argument facts as filter conditions (extension-gen/ArgumentConditions, ManifestPolicy): the shape of each
// kind of check, 32-bit comparisons, `any`, --no-args, clone3's ENOSYS, bad facts, size limits,
// determinism, and the renderings. Every policy is also compiled and run on the interpreter.
#include "extension-gen/ArgumentConditions.h"
#include "extension-gen/ManifestPolicy.h"
#include "extension-gen/Render.h"
#include "tests/extension-gen/PolicyFixtures.h"

#include "analyzer/ArgumentSpecs.h"
#include "analyzer/SyscallTable.h"

#include <gtest/gtest.h>

using namespace bespoke;
using namespace bespoke::policytest;

namespace {

using Facts = std::map<std::string, ArgFact>;

ArgFact values(std::vector<std::string> v) { return ArgFact::of(std::move(v)); }
ArgFact anyValue() { return ArgFact::anyOf(); }

SyscallUse use(const std::string &name, Facts facts = {}) {
  SyscallUse u;
  u.name = name;
  u.nr = *syscallNumber(name);
  u.args = std::move(facts);
  return u;
}

Manifest manifestOf(std::vector<SyscallUse> uses) {
  Manifest m;
  m.footprint.syscalls = std::move(uses);
  return m;
}

Policy policyOk(const Manifest &m, PolicyOptions opts = {}, std::vector<std::string> *notes = nullptr) {
  auto p = policyFromManifest(m, kEperm, opts, notes);
  if (!p) {
    ADD_FAILURE() << llvm::toString(p.takeError());
    return {};
  }
  return *p;
}

const SyscallRule *ruleOf(const Policy &p, const std::string &name) {
  for (const SyscallRule &r : p.allowed)
    if (r.name == name)
      return &r;
  return nullptr;
}

// What the policy and its compiled program return for one call (they must agree).
uint32_t outcome(const Policy &p, const BpfProgram &prog, const std::string &name, std::vector<uint64_t> a) {
  uint64_t args[6] = {};
  std::copy(a.begin(), a.end(), args);
  uint32_t nr = static_cast<uint32_t>(*syscallNumber(name));
  uint32_t want = p.decide(nr, Policy::AuditArchX86_64, args).value();
  BpfRun run = runBpf(prog, nr, Policy::AuditArchX86_64, 0, args);
  EXPECT_TRUE(run.ok) << run.error;
  EXPECT_EQ(run.ret, want) << name;
  return want;
}

const uint32_t kAllowed = kAllow.value(), kRefused = kEperm.value();

std::string policyError(const Manifest &m) {
  auto p = policyFromManifest(m, kEperm);
  if (p) {
    ADD_FAILURE() << "no error";
    return "";
  }
  return llvm::toString(p.takeError());
}

} // namespace

TEST(ArgumentConditions, EverySpecHasACheck) {
  for (const ArgumentSpec &s : argumentSpecs())
    EXPECT_NE(argumentCheckOf(s.syscall, s.name), nullptr) << s.syscall << " " << s.name;
  EXPECT_EQ(argumentCheckOf("socket", "flags"), nullptr);
}

TEST(ArgumentConditions, ParseValues) {
  EXPECT_EQ(*parseArgumentValue("0"), 0u);
  EXPECT_EQ(*parseArgumentValue("2"), 2u);
  EXPECT_EQ(*parseArgumentValue("-1"), 0xffffffffu);
  EXPECT_EQ(*parseArgumentValue("-2147483648"), 0x80000000u);
  EXPECT_EQ(*parseArgumentValue("4294967295"), 0xffffffffu);
  EXPECT_EQ(*parseArgumentValue("0x5412"), 0x5412u);
  EXPECT_EQ(*parseArgumentValue("0XFFFFFFFF"), 0xffffffffu);
  EXPECT_EQ(*parseArgumentValue("0x000000000001"), 1u);
  for (const char *bad : {"", "-", "0x", "AF_INET", "1.5", "+1", " 1", "1 ", "0x1g", "--1", "0b1"}) {
    auto v = parseArgumentValue(bad);
    ASSERT_FALSE(static_cast<bool>(v)) << bad;
    EXPECT_NE(llvm::toString(v.takeError()).find("is not a number"), std::string::npos) << bad;
  }
  for (const char *big : {"4294967296", "-2147483649", "0x100000000", "99999999999999999999999",
                          "0x1000000000000000000000"}) {
    auto v = parseArgumentValue(big);
    ASSERT_FALSE(static_cast<bool>(v)) << big;
    EXPECT_NE(llvm::toString(v.takeError()).find("out of range for a 32-bit argument"), std::string::npos) << big;
  }
}

// A reviewer may write the constants' names (analyzer/ArgumentSymbols.h), joined by '|', and numbers.
TEST(ArgumentConditions, ConstantNamesAreTheirValues) {
  auto spec = [](const char *syscall, const char *arg) {
    for (const ArgumentSpec *s : argumentSpecsOf(syscall))
      if (std::string(s->name) == arg) return s;
    return static_cast<const ArgumentSpec *>(nullptr);
  };
  auto parse = [&](const char *syscall, const char *arg, const char *text) -> int64_t {
    auto v = parseArgumentValue(text, *spec(syscall, arg));
    if (!v) {
      llvm::consumeError(v.takeError());
      return -1;
    }
    return *v;
  };
  EXPECT_EQ(parse("socket", "domain", "AF_INET6"), 10);
  EXPECT_EQ(parse("socket", "domain", "PF_UNIX"), 1);
  EXPECT_EQ(parse("socketpair", "type", "SOCK_STREAM|SOCK_CLOEXEC"), 0x80001);
  EXPECT_EQ(parse("ioctl", "request", "TIOCSTI"), 0x5412);
  EXPECT_EQ(parse("clone", "flags", "CLONE_VM|CLONE_FS|SIGCHLD"), 0x311);
  EXPECT_EQ(parse("openat", "flags", "O_WRONLY|O_CREAT|0x8000"), 0x8041);
  EXPECT_EQ(parse("mprotect", "prot", "PROT_READ|PROT_EXEC"), 5);
  EXPECT_EQ(parse("mmap", "flags", "MAP_PRIVATE|MAP_ANONYMOUS"), 0x22);
  EXPECT_EQ(parse("fcntl", "cmd", "F_SETLKW"), 7);
  EXPECT_EQ(parse("prctl", "option", "PR_SET_NO_NEW_PRIVS"), 38);
  EXPECT_EQ(parse("madvise", "advice", "MADV_DONTNEED"), 4);
  EXPECT_EQ(parse("setsockopt", "level", "SOL_SOCKET"), 1);
  EXPECT_EQ(parse("socket", "domain", "-1"), 0xffffffff) << "numbers still parse";
  EXPECT_EQ(parse("socket", "domain", "TIOCSTI"), -1) << "names belong to their argument";
  EXPECT_EQ(parse("ioctl", "request", "AF_INET"), -1);
  // A policy from names is the policy from their numbers.
  Policy named = policyOk(manifestOf({use("socket", {{"domain", values({"AF_UNIX", "AF_INET"})}})}));
  Policy numbered = policyOk(manifestOf({use("socket", {{"domain", values({"1", "2"})}})}));
  EXPECT_EQ(writeBpf(*compilePolicy(named)), writeBpf(*compilePolicy(numbered)));
}

// An enumeration: one alternative per value, each (v & 0xffffffff) == value.
TEST(ArgumentConditions, EnumerationOnLow32Bits) {
  Policy p = policyOk(manifestOf({use("socket", {{"domain", values({"2", "1"})}})}));
  const SyscallRule *r = ruleOf(p, "socket");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->alternatives.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_EQ(r->alternatives[i].size(), 1u);
    const ArgCondition &c = r->alternatives[i][0];
    EXPECT_EQ(c.op, ArgCondition::MaskedEqual);
    EXPECT_EQ(c.arg, 0);
    EXPECT_EQ(c.mask, 0xffffffffULL);
    EXPECT_EQ(c.a, i + 1); // sorted by value
  }
  BpfProgram prog = compileOk(p);
  EXPECT_EQ(outcome(p, prog, "socket", {1, 1, 0}), kAllowed);  // AF_UNIX
  EXPECT_EQ(outcome(p, prog, "socket", {2, 1, 0}), kAllowed);  // AF_INET
  EXPECT_EQ(outcome(p, prog, "socket", {10, 1, 0}), kRefused); // AF_INET6
  EXPECT_EQ(outcome(p, prog, "socket", {17, 3, 0}), kRefused); // AF_PACKET
  EXPECT_EQ(outcome(p, prog, "socket", {0x100000002ULL}), kAllowed);
  // The kernel reads an int: garbage in the upper half never kills the app.
  EXPECT_EQ(outcome(p, prog, "socket", {0xdeadbeef00000002ULL, 1, 0}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "socket", {0xdeadbeef00000011ULL, 1, 0}), kRefused);
  checkAgainstDecide(prog, p, 1);
}

// Negative values (a signed int) are their low 32 bits.
TEST(ArgumentConditions, NegativeEnumerationValue) {
  Policy p = policyOk(manifestOf({use("personality", {{"persona", values({"-1", "0x0"})}})}));
  BpfProgram prog = compileOk(p);
  EXPECT_EQ(outcome(p, prog, "personality", {0xffffffffULL}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "personality", {~0ULL}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "personality", {0}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "personality", {0x0040000}), kRefused); // ADDR_NO_RANDOMIZE: not listed
}

// socket type: the low type bits are an enumeration; SOCK_NONBLOCK | SOCK_CLOEXEC are always allowed.
TEST(ArgumentConditions, SocketTypeIgnoresNonblockAndCloexec) {
  Policy p = policyOk(manifestOf({use("socket", {{"type", values({"0x1"})}})}));
  const SyscallRule *r = ruleOf(p, "socket");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->alternatives.size(), 1u);
  EXPECT_EQ(r->alternatives[0][0].mask, 0xffffffffULL & ~0x80800ULL);
  EXPECT_EQ(r->alternatives[0][0].a, 1u);
  EXPECT_EQ(r->alternatives[0][0].arg, 1);
  BpfProgram prog = compileOk(p);
  EXPECT_EQ(outcome(p, prog, "socket", {2, 1}), kAllowed);                 // SOCK_STREAM
  EXPECT_EQ(outcome(p, prog, "socket", {2, 1 | 0x80000}), kAllowed);       // | SOCK_CLOEXEC
  EXPECT_EQ(outcome(p, prog, "socket", {2, 1 | 0x80000 | 0x800}), kAllowed); // | SOCK_NONBLOCK
  EXPECT_EQ(outcome(p, prog, "socket", {2, 3}), kRefused);                 // SOCK_RAW
  EXPECT_EQ(outcome(p, prog, "socket", {2, 2}), kRefused);                 // SOCK_DGRAM
  EXPECT_EQ(outcome(p, prog, "socket", {2, 3 | 0x80000}), kRefused);
  EXPECT_EQ(outcome(p, prog, "socket", {2, 0x100 | 1}), kRefused);         // an unknown bit
  checkAgainstDecide(prog, p, 2);
}

// Flags: one check refusing the bits no site sets; clone's exit signal (low byte) is free.
TEST(ArgumentConditions, FlagsMask) {
  const uint64_t fork = 0x1200011, thread = 0x3d0f00;
  Policy p = policyOk(manifestOf({use("clone", {{"flags", values({"0x1200011", "0x3d0f00"})}})}));
  const SyscallRule *r = ruleOf(p, "clone");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->alternatives.size(), 1u);
  ASSERT_EQ(r->alternatives[0].size(), 1u);
  const ArgCondition &c = r->alternatives[0][0];
  EXPECT_EQ(c.op, ArgCondition::MaskedEqual);
  EXPECT_EQ(c.a, 0u);
  EXPECT_EQ(c.mask, 0xffffffffULL & ~(fork | thread | 0xff));
  BpfProgram prog = compileOk(p);
  EXPECT_EQ(outcome(p, prog, "clone", {fork}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "clone", {thread}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "clone", {0x1200000 | 10}), kAllowed);       // a subset, another exit signal
  EXPECT_EQ(outcome(p, prog, "clone", {0x10000000 | 17}), kRefused);      // CLONE_NEWUSER
  EXPECT_EQ(outcome(p, prog, "clone", {fork | 0x20000}), kRefused);       // CLONE_NEWNS
  EXPECT_EQ(outcome(p, prog, "clone", {0xffffffff00000000ULL | fork}), kAllowed); // the kernel uses the low word
  checkAgainstDecide(prog, p, 3);

  // open flags: O_RDONLY is 0, so only listed bits survive (O_WRONLY refused when no site writes).
  Policy o = policyOk(manifestOf({use("openat", {{"flags", values({"0x0", "0x80000"})}})}));
  BpfProgram oprog = compileOk(o);
  EXPECT_EQ(outcome(o, oprog, "openat", {0, 0, 0x80000}), kAllowed);
  EXPECT_EQ(outcome(o, oprog, "openat", {0, 0, 0}), kAllowed);
  EXPECT_EQ(outcome(o, oprog, "openat", {0, 0, 1}), kRefused);
  EXPECT_EQ(outcome(o, oprog, "openat", {0, 0, 0x40}), kRefused); // O_CREAT

  // Every bit listed: no check at all.
  Policy all = policyOk(manifestOf({use("mprotect", {{"prot", values({"0xffffffff"})}})}));
  EXPECT_TRUE(ruleOf(all, "mprotect")->unconditional());
}

// Arguments AND together; each argument's set on its own (the product of enumerations).
TEST(ArgumentConditions, SeveralArgumentsAndTogether) {
  Policy p = policyOk(manifestOf(
      {use("socket", {{"domain", values({"1", "2"})}, {"protocol", values({"0"})}, {"type", values({"0x1", "0x2"})}}),
       use("mmap", {{"prot", values({"0x1", "0x3"})}, {"flags", values({"0x22", "0x2"})}})}));
  const SyscallRule *s = ruleOf(p, "socket");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->alternatives.size(), 4u); // 2 domains x 1 protocol x 2 types
  for (const auto &alt : s->alternatives) {
    ASSERT_EQ(alt.size(), 3u);
    EXPECT_EQ(alt[0].arg, 0); // argument order
    EXPECT_EQ(alt[1].arg, 1);
    EXPECT_EQ(alt[2].arg, 2);
  }
  const SyscallRule *m = ruleOf(p, "mmap");
  ASSERT_EQ(m->alternatives.size(), 1u);
  EXPECT_EQ(m->alternatives[0].size(), 2u);
  BpfProgram prog = compileOk(p);
  EXPECT_EQ(outcome(p, prog, "socket", {2, 2, 0}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "socket", {1, 1 | 0x80000, 0}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "socket", {2, 3, 0}), kRefused);
  EXPECT_EQ(outcome(p, prog, "socket", {2, 1, 6}), kRefused);
  EXPECT_EQ(outcome(p, prog, "socket", {10, 1, 0}), kRefused);
  EXPECT_EQ(outcome(p, prog, "mmap", {0, 4096, 3, 0x22}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "mmap", {0, 4096, 7, 0x22}), kRefused); // PROT_EXEC
  EXPECT_EQ(outcome(p, prog, "mmap", {0, 4096, 1, 0x32}), kRefused); // MAP_FIXED
  checkAgainstDecide(prog, p, 4);
}

// `any`, an empty list and no facts leave a syscall unconditional: decided from nr and arch alone.
TEST(ArgumentConditions, AnyStaysUnconditional) {
  Policy p = policyOk(manifestOf({use("socket", {{"domain", anyValue()}, {"type", values({})}}),
                                  use("ioctl", {{"request", anyValue()}}), use("read"),
                                  use("fcntl", {{"cmd", values({"1"})}})}));
  EXPECT_TRUE(ruleOf(p, "socket")->unconditional());
  EXPECT_TRUE(ruleOf(p, "ioctl")->unconditional());
  EXPECT_TRUE(ruleOf(p, "read")->unconditional());
  EXPECT_FALSE(ruleOf(p, "fcntl")->unconditional());
  BpfProgram prog = compileOk(p);
  const uint64_t junk[6] = {17, 3, 0xdeadbeefULL, ~0ULL, 5, 6};
  for (const SyscallRule &r : p.allowed) {
    BpfRun run = runBpf(prog, static_cast<uint32_t>(r.nr), Policy::AuditArchX86_64, 0, junk);
    if (r.unconditional()) {
      EXPECT_EQ(run.ret, kAllowed) << r.name;
      EXPECT_EQ(run.loadedWords & ~0x3u, 0u) << r.name << " loads more than nr and arch";
    } else {
      EXPECT_NE(run.loadedWords & ~0x3u, 0u) << r.name;
    }
  }
}

// --no-args: every syscall unconditional, the facts not even read; the program is today's.
TEST(ArgumentConditions, NoArgsGivesTheUnconditionalFilter) {
  Manifest m = manifestOf({use("socket", {{"domain", values({"1"})}}), use("clone", {{"flags", values({"0x11"})}}),
                           use("clone3"), use("write")});
  Manifest bare = m;
  for (SyscallUse &u : bare.footprint.syscalls)
    u.args.clear();
  Policy off = policyOk(m, PolicyOptions{false});
  for (const SyscallRule &r : off.allowed) {
    EXPECT_TRUE(r.unconditional()) << r.name;
    EXPECT_EQ(r.action, kAllow) << r.name;
  }
  EXPECT_EQ(writeBpf(compileOk(off)), writeBpf(compileOk(policyOk(bare))));
  EXPECT_NE(writeBpf(compileOk(off)), writeBpf(compileOk(policyOk(m))));
  // Bad facts are not read under --no-args.
  Manifest bad = manifestOf({use("socket", {{"domain", values({"AF_INTE"})}})});
  auto withFacts = policyFromManifest(bad, kEperm);
  EXPECT_FALSE(static_cast<bool>(withFacts));
  llvm::consumeError(withFacts.takeError());
  EXPECT_TRUE(static_cast<bool>(policyFromManifest(bad, kEperm, PolicyOptions{false})));
}

// network.families (the reviewer's) bounds a socket `domain` the analysis left `any`; a domain the
// analysis knows keeps its values; an unknown name is an error naming the section; --no-args reads neither.
TEST(ArgumentConditions, NetworkFamiliesBoundAnAnyDomain) {
  Manifest m = manifestOf({use("socket", {{"domain", anyValue()}}), use("socketpair", {{"domain", values({"AF_UNIX"})}}),
                           use("write")});
  EXPECT_TRUE(ruleOf(policyOk(m), "socket")->unconditional()); // no bound: any family
  m.footprint.network.present = true;
  m.footprint.network.families = {"AF_INET", "AF_INET6", "AF_UNIX"};
  std::vector<std::string> notes;
  Policy p = policyOk(m, {}, &notes);
  BpfProgram prog = compileOk(p);
  EXPECT_EQ(outcome(p, prog, "socket", {2, 1}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "socket", {10, 2}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "socket", {1, 1}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "socket", {17, 3}), kRefused); // AF_PACKET
  EXPECT_EQ(outcome(p, prog, "socket", {16, 3}), kRefused); // AF_NETLINK
  EXPECT_EQ(outcome(p, prog, "socket", {0x100000002ULL, 1}), kAllowed); // the low 32 bits, as the kernel reads them
  EXPECT_EQ(outcome(p, prog, "socketpair", {1}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "socketpair", {2}), kRefused); // the analysis' own values stay
  EXPECT_NE(std::find(notes.begin(), notes.end(), "socket: domain narrowed from any to the reviewer's network.families"),
            notes.end());
  m.footprint.network.families = {"AF_INET", "AF_INTE"};
  EXPECT_NE(policyError(m).find("network.families: value 'AF_INTE'"), std::string::npos) << policyError(m);
  EXPECT_TRUE(static_cast<bool>(policyFromManifest(m, kEperm, PolicyOptions{false})));
}

// clone3's flags are behind a pointer: asked for (--clone3-enosys), when clone's are checked, clone3 answers
// ENOSYS (glibc falls back). By default clone3 stays allowed: a program may call it without falling back.
TEST(ArgumentConditions, Clone3GetsEnosysWhenAskedAndCloneIsChecked) {
  Manifest m = manifestOf({use("clone", {{"flags", values({"0x1200011"})}}), use("clone3"), use("write")});
  EXPECT_EQ(ruleOf(policyOk(m), "clone3")->action, kAllow) << "not asked for";
  const PolicyOptions enosys{true, true};
  Policy p = policyOk(m, enosys);
  const SyscallRule *c3 = ruleOf(p, "clone3");
  ASSERT_NE(c3, nullptr);
  EXPECT_EQ(c3->action, (Action{Action::Errno, 38}));
  EXPECT_TRUE(c3->unconditional());
  BpfProgram prog = compileOk(p);
  EXPECT_EQ(outcome(p, prog, "clone3", {0, 88}), (Action{Action::Errno, 38}.value()));
  EXPECT_EQ(outcome(p, prog, "clone", {0x1200011}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "write", {1}), kAllowed);
  checkAgainstDecide(prog, p, 5);

  // clone unchecked (any), clone3 not listed, or facts off: clone3 as the manifest says.
  Policy any = policyOk(manifestOf({use("clone", {{"flags", anyValue()}}), use("clone3")}), enosys);
  EXPECT_EQ(ruleOf(any, "clone3")->action, kAllow);
  Policy without = policyOk(manifestOf({use("clone", {{"flags", values({"0x11"})}})}), enosys);
  EXPECT_EQ(ruleOf(without, "clone3"), nullptr);
  EXPECT_EQ(ruleOf(policyOk(m, PolicyOptions{false, true}), "clone3")->action, kAllow);
  // execve granted for an exec stays allow whatever else changed.
  Policy g = p;
  EXPECT_EQ(grantExecve(g), ExecveGrant::Added);
  EXPECT_EQ(ruleOf(g, "execve")->action, kAllow);
}

TEST(ArgumentConditions, BadFactsAreErrors) {
  std::string e = policyError(manifestOf({use("socket", {{"family", values({"2"})}})}));
  EXPECT_EQ(e, "manifest syscall 'socket', argument 'family': not a recorded argument of this syscall (recorded: "
               "domain, type, protocol)");
  e = policyError(manifestOf({use("read", {{"fd", values({"0"})}})}));
  EXPECT_EQ(e, "manifest syscall 'read', argument 'fd': not a recorded argument of this syscall (it has none)");
  e = policyError(manifestOf({use("socket", {{"domain", values({"2", "AF_INTE"})}})}));
  EXPECT_EQ(e, "manifest syscall 'socket', argument 'domain': value 'AF_INTE': 'AF_INTE' is not a number nor a "
               "constant of socket's domain");
  e = policyError(manifestOf({use("socket", {{"domain", values({"TIOCSTI"})}})}));
  EXPECT_EQ(e, "manifest syscall 'socket', argument 'domain': value 'TIOCSTI': 'TIOCSTI' is not a number nor a "
               "constant of socket's domain") << "an ioctl request is no socket family";
  e = policyError(manifestOf({use("open", {{"flags", values({"O_WRONLY|O_CREAT|"})}})}));
  EXPECT_EQ(e, "manifest syscall 'open', argument 'flags': value 'O_WRONLY|O_CREAT|': '' is not a number nor a "
               "constant of open's flags");
  e = policyError(manifestOf({use("ioctl", {{"request", values({"0x100005412"})}})}));
  EXPECT_EQ(e, "manifest syscall 'ioctl', argument 'request': value '0x100005412' is out of range for a 32-bit "
               "argument");
  EXPECT_EQ(e.find('\n'), std::string::npos);
  // Even an argument marked any is checked against the table.
  e = policyError(manifestOf({use("clone", {{"flag", anyValue()}})}));
  EXPECT_NE(e.find("'flag'"), std::string::npos);
}

// Too many value combinations: the argument with the most values is left unchecked (wider, still sound).
TEST(ArgumentConditions, ProductIsBounded) {
  std::vector<std::string> levels, names;
  for (int i = 0; i < 20; ++i)
    levels.push_back(std::to_string(i));
  for (int i = 0; i < 30; ++i)
    names.push_back(std::to_string(100 + i));
  std::vector<std::string> notes;
  Policy p = policyOk(manifestOf({use("setsockopt", {{"level", values(levels)}, {"optname", values(names)}})}),
                      PolicyOptions{}, &notes);
  const SyscallRule *r = ruleOf(p, "setsockopt");
  ASSERT_EQ(r->alternatives.size(), 20u); // optname (30 values) dropped, level kept
  EXPECT_EQ(r->alternatives[0][0].arg, 1);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], "setsockopt: argument 'optname' (30 values) not checked: the value combinations exceed 256 "
                      "alternatives");
  BpfProgram prog = compileOk(p);
  EXPECT_EQ(outcome(p, prog, "setsockopt", {3, 19, 999}), kAllowed);
  EXPECT_EQ(outcome(p, prog, "setsockopt", {3, 20, 100}), kRefused);
}

// Over the instruction budget: the largest checks go unconditional, and the filter still compiles.
TEST(ArgumentConditions, BudgetKeepsTheFilterUnderTheKernelLimit) {
  std::vector<std::string> requests, domains, types;
  for (int i = 0; i < 250; ++i)
    requests.push_back(std::to_string(0x5400 + i));
  for (int i = 0; i < 16; ++i) {
    domains.push_back(std::to_string(i));
    types.push_back(std::to_string(i));
  }
  std::vector<SyscallUse> uses = {use("ioctl", {{"request", values(requests)}}),
                                  use("socket", {{"domain", values(domains)}, {"type", values(types)}}),
                                  use("socketpair", {{"domain", values(domains)}, {"type", values(types)}})};
  for (const SyscallEntry &e : x86_64Syscalls())
    if (e.name != "ioctl" && e.name != "socket" && e.name != "socketpair")
      uses.push_back(use(std::string(e.name)));
  std::vector<std::string> notes;
  Policy p = policyOk(manifestOf(uses), PolicyOptions{}, &notes);
  size_t total = 0;
  for (const SyscallRule &r : p.allowed)
    if (!r.unconditional())
      total += checkInstructions(r.alternatives);
  EXPECT_LE(total, ArgumentCheckBudget);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], "socket: arguments not checked: the filter's argument checks would exceed 2400 instructions");
  EXPECT_TRUE(ruleOf(p, "socket")->unconditional());
  EXPECT_FALSE(ruleOf(p, "socketpair")->unconditional());
  EXPECT_FALSE(ruleOf(p, "ioctl")->unconditional());
  BpfProgram prog = compileOk(p);
  EXPECT_LE(prog.size(), BpfMaxInstructions);
  checkStructure(prog);
}

// checkInstructions is what the compiler spends on a conditional syscall's leaf.
TEST(ArgumentConditions, CheckInstructionsMatchesTheCompiler) {
  Manifest m = manifestOf({use("socket", {{"domain", values({"1", "2", "10"})}, {"type", values({"0x1", "0x2"})}})});
  Policy p = policyOk(m);
  Policy plain = policyOk(m, PolicyOptions{false});
  size_t checks = checkInstructions(ruleOf(p, "socket")->alternatives);
  // The conditional leaf replaces a shared `ret allow` with its checks plus a `ja` to reach them.
  size_t withChecks = compileOk(p).size(), without = compileOk(plain).size();
  EXPECT_GE(withChecks, without + checks - 2);
  EXPECT_LE(withChecks, without + checks + 4);
}

// Same manifest, same bytes; the order of values in the manifest does not matter.
TEST(ArgumentConditions, Deterministic) {
  Manifest a = manifestOf({use("socket", {{"domain", values({"10", "16", "2"})}, {"type", values({"0x1", "0x3"})}}),
                           use("ioctl", {{"request", values({"0x5401", "0x5413"})}})});
  Manifest b = manifestOf({use("socket", {{"domain", values({"2", "0x10", "10", "2"})}, {"type", values({"0x3", "1"})}}),
                           use("ioctl", {{"request", values({"21523", "0x5401"})}})});
  BpfProgram pa = compileOk(policyOk(a)), pb = compileOk(policyOk(b));
  EXPECT_EQ(writeBpf(pa), writeBpf(pb));
  EXPECT_EQ(writeBpf(pa), writeBpf(compileOk(policyOk(a))));
}

TEST(ArgumentConditions, Renderings) {
  Policy p = policyOk(manifestOf({use("socket", {{"domain", values({"1", "2"})}}),
                                  use("clone", {{"flags", values({"0x1200011"})}}), use("clone3"), use("write")}),
                      PolicyOptions{true, true});
  std::string oci = renderOciJson(p);
  EXPECT_NE(oci.find("\"names\": [\"clone3\"],\n      \"action\": \"SCMP_ACT_ERRNO\",\n      \"errnoRet\": 38"),
            std::string::npos)
      << oci;
  EXPECT_NE(oci.find("{\"index\": 0, \"value\": 4294967295, \"valueTwo\": 2, \"op\": \"SCMP_CMP_MASKED_EQ\"}"),
            std::string::npos)
      << oci;
  // clone: (flags & ~allowed & 0xffffffff) == 0
  EXPECT_NE(oci.find("{\"index\": 0, \"value\": " + std::to_string(0xffffffffULL & ~0x12000ffULL) +
                     ", \"valueTwo\": 0, \"op\": \"SCMP_CMP_MASKED_EQ\"}"),
            std::string::npos)
      << oci;
  std::string spo = renderSpo(p, "app");
  EXPECT_NE(spo.find("  - action: SCMP_ACT_ERRNO\n    errnoRet: 38\n    names:\n    - clone3\n"), std::string::npos)
      << spo;
  std::string systemd = renderSystemd(p, "app");
  EXPECT_NE(systemd.find("# WARNING: clone socket\n"), std::string::npos) << systemd;
  EXPECT_NE(systemd.find("clone3 (errno:38)"), std::string::npos) << systemd;
  std::string c = renderCHeader(compileOk(p), p, "app");
  EXPECT_NE(c.find(" * With argument conditions: clone socket\n"), std::string::npos) << c;
  EXPECT_NE(c.find(" * Answered without running: clone3 (errno:38)\n"), std::string::npos) << c;
}
