// Tests of ManifestDiff: what counts as growth (syscalls, argument values, paths, features, unresolved
// sites), address-insensitive matching of unresolved sites, and the renderings (text, Markdown, JSON, SARIF
// shape; the SARIF schema itself is checked by tests/cli/review_test.sh against the official schema).

#include "manifests/Diff.h"
#include "manifests/Manifest.h"

#include "analyzer/KernelEntries.h"

#include "llvm/Support/JSON.h"

#include <gtest/gtest.h>

using namespace bespoke;

namespace {

Evidence sourceChain(const std::string &file, unsigned line) {
  Evidence e;
  e.root = "entry";
  Frame main;
  main.symbol = "main";
  main.file = file;
  main.line = line;
  Frame lib;
  lib.module = "libc.so.6";
  lib.symbol = "socket";
  lib.address = 0x1234;
  e.chain = {main, lib};
  return e;
}

SyscallUse use(const std::string &name, int nr, std::map<std::string, ArgFact> args = {}) {
  SyscallUse u;
  u.name = name;
  u.nr = nr;
  u.args = std::move(args);
  u.evidence = {sourceChain("/src/app/main.c", 10)};
  return u;
}

ArgFact values(std::vector<std::string> v) {
  ArgFact f;
  f.values = std::move(v);
  return f;
}

ArgFact anyValue() {
  ArgFact f;
  f.any = true;
  return f;
}

Unresolved unresolved(const std::string &kind, const std::string &module, const std::string &symbol, uint64_t addr) {
  Unresolved u;
  u.kind = kind;
  u.why = "%rax is not a constant at the syscall instruction";
  Frame f;
  f.module = module;
  f.symbol = symbol;
  f.address = addr;
  u.evidence.root = "entry";
  u.evidence.chain = {f};
  return u;
}

DiffLabels labels(const std::string &before, const std::string &after, const std::string &root = "") {
  DiffLabels l;
  l.before = before;
  l.after = after;
  l.sourceRoot = root;
  return l;
}

Footprint base() {
  Footprint fp;
  fp.app.name = "app";
  fp.app.path = "/src/app/app";
  fp.syscalls = {use("openat", 257, {{"flags", values({"O_RDONLY"})}}), use("read", 0), use("write", 1)};
  fp.kernel.paths = {"/proc/self/status"};
  return fp;
}

TEST(ManifestDiff, IdenticalIsEmptyAndDidNotGrow) {
  ManifestDiff d = diffManifests(base(), base());
  EXPECT_TRUE(d.empty());
  EXPECT_FALSE(d.grew());
  EXPECT_NE(renderDiffText(d, labels("a.yaml", "b.yaml")).find("no differences"), std::string::npos);
}

TEST(ManifestDiff, AddedSyscallGrowsAndKeepsItsEvidence) {
  Footprint after = base();
  after.syscalls.insert(after.syscalls.begin() + 1, use("socket", 41));
  ManifestDiff d = diffManifests(base(), after);
  ASSERT_EQ(d.addedSyscalls.size(), 1u);
  EXPECT_EQ(d.addedSyscalls[0].name, "socket");
  EXPECT_EQ(d.addedSyscalls[0].evidence[0].chain[0].line, 10u);
  EXPECT_TRUE(d.removedSyscalls.empty());
  EXPECT_TRUE(d.grew());
  std::string text = renderDiffText(d, labels("a.yaml", "b.yaml"));
  EXPECT_NE(text.find("+ syscall socket (41)"), std::string::npos) << text;
  EXPECT_NE(text.find("main@/src/app/main.c:10"), std::string::npos) << text;
}

TEST(ManifestDiff, KernelIssuedSyscallsAppearingInANewerManifestAreNoChange) {
  Footprint before = base(), after = base();
  addKernelIssuedSyscalls(after); // what the analysis adds now; a manifest of an older bespoke lacks them
  ASSERT_GT(after.syscalls.size(), before.syscalls.size());
  ManifestDiff d = diffManifests(before, after);
  EXPECT_TRUE(d.empty());
  EXPECT_FALSE(d.grew());
  EXPECT_TRUE(diffManifests(after, before).empty());
  // Reached from code, the same name is the application's own growth.
  Footprint code = before;
  code.syscalls.push_back(use("restart_syscall", 219));
  EXPECT_TRUE(diffManifests(before, code).grew());
}

TEST(ManifestDiff, RemovedSyscallShrinksWithoutGrowing) {
  Footprint after = base();
  after.syscalls.pop_back(); // write
  ManifestDiff d = diffManifests(base(), after);
  ASSERT_EQ(d.removedSyscalls.size(), 1u);
  EXPECT_EQ(d.removedSyscalls[0].name, "write");
  EXPECT_FALSE(d.empty());
  EXPECT_FALSE(d.grew());
  EXPECT_NE(renderDiffMarkdown(d, labels("a.yaml", "b.yaml"), "app").find("shrank"), std::string::npos);
}

TEST(ManifestDiff, ArgumentValuesAddedGrowRemovedDoNot) {
  Footprint after = base();
  after.syscalls[0].args["flags"] = values({"O_RDONLY", "O_WRONLY|O_CREAT"});
  ManifestDiff d = diffManifests(base(), after);
  ASSERT_EQ(d.argChanges.size(), 1u);
  EXPECT_EQ(d.argChanges[0].syscall, "openat");
  EXPECT_EQ(d.argChanges[0].added, std::vector<std::string>{"O_WRONLY|O_CREAT"});
  EXPECT_TRUE(d.grew());

  ManifestDiff back = diffManifests(after, base());
  ASSERT_EQ(back.argChanges.size(), 1u);
  EXPECT_EQ(back.argChanges[0].removed, std::vector<std::string>{"O_WRONLY|O_CREAT"});
  EXPECT_FALSE(back.grew());
}

TEST(ManifestDiff, AnArgumentWithoutFactsTakesAnyValue) {
  // Facts -> `any`, and facts -> no entry at all, both widen the argument.
  for (bool dropKey : {false, true}) {
    Footprint after = base();
    if (dropKey) after.syscalls[0].args.clear();
    else after.syscalls[0].args["flags"] = anyValue();
    ManifestDiff d = diffManifests(base(), after);
    ASSERT_EQ(d.argChanges.size(), 1u) << dropKey;
    EXPECT_TRUE(d.argChanges[0].nowAny);
    EXPECT_TRUE(d.grew());
    ManifestDiff back = diffManifests(after, base());
    ASSERT_EQ(back.argChanges.size(), 1u);
    EXPECT_TRUE(back.argChanges[0].wasAny);
    EXPECT_FALSE(back.grew());
  }
}

TEST(ManifestDiff, KernelPathsAndFeatures) {
  Footprint after = base();
  after.kernel.paths = {"/dev/kvm"};
  after.kernel.features = {"KVM"};
  ManifestDiff d = diffManifests(base(), after);
  EXPECT_EQ(d.addedPaths, std::vector<std::string>{"/dev/kvm"});
  EXPECT_EQ(d.removedPaths, std::vector<std::string>{"/proc/self/status"});
  EXPECT_EQ(d.addedFeatures, std::vector<std::string>{"KVM"});
  EXPECT_TRUE(d.grew());
}

TEST(ManifestDiff, UnresolvedSitesMatchByFunctionNotAddress) {
  Footprint before = base(), after = base();
  before.unresolved = {unresolved("syscall-number", "libc.so.6", "sub_86720", 0x86768)};
  after.unresolved = {unresolved("syscall-number", "libc.so.6", "sub_86720", 0x86990)}; // moved
  EXPECT_TRUE(diffManifests(before, after).empty());

  after.unresolved.push_back(unresolved("dlopen", "app", "load_plugin", 0x4000));
  ManifestDiff d = diffManifests(before, after);
  ASSERT_EQ(d.addedUnresolved.size(), 1u);
  EXPECT_EQ(d.addedUnresolved[0].kind, "dlopen");
  EXPECT_TRUE(d.grew());

  // Two sites in one function are two sites.
  after.unresolved = before.unresolved;
  after.unresolved.push_back(before.unresolved[0]);
  EXPECT_EQ(diffManifests(before, after).addedUnresolved.size(), 1u);
}

TEST(ManifestDiff, JsonIsDeterministicAndComplete) {
  Footprint after = base();
  after.syscalls.insert(after.syscalls.begin() + 1, use("socket", 41));
  ManifestDiff d = diffManifests(base(), after);
  std::string a = renderDiffJson(d, labels("a.yaml", "b.yaml")), b = renderDiffJson(diffManifests(base(), after), labels("a.yaml", "b.yaml"));
  EXPECT_EQ(a, b);
  auto v = llvm::json::parse(a);
  ASSERT_TRUE(bool(v)) << llvm::toString(v.takeError());
  const llvm::json::Object *o = v->getAsObject();
  EXPECT_EQ(o->getBoolean("grew"), true);
  EXPECT_EQ(o->getArray("added_syscalls")->size(), 1u);
  EXPECT_EQ((*o->getArray("added_syscalls"))[0].getAsObject()->getString("name"), "socket");
}

TEST(ManifestDiff, SarifPutsANewSyscallAtItsSourceLine) {
  Footprint after = base();
  after.syscalls.insert(after.syscalls.begin() + 1, use("socket", 41));
  ManifestDiff d = diffManifests(base(), after);
  auto v = llvm::json::parse(renderDiffSarif(d, labels("base.yaml", "app", "/src"), after));
  ASSERT_TRUE(bool(v)) << llvm::toString(v.takeError());
  const llvm::json::Object *log = v->getAsObject();
  EXPECT_EQ(log->getString("version"), "2.1.0");
  const llvm::json::Object *run = (*log->getArray("runs"))[0].getAsObject();
  const llvm::json::Array *results = run->getArray("results");
  ASSERT_EQ(results->size(), 1u);
  const llvm::json::Object *r = (*results)[0].getAsObject();
  EXPECT_EQ(r->getString("ruleId"), "BSPK001");
  const llvm::json::Object *phys = (*r->getArray("locations"))[0].getAsObject()->getObject("physicalLocation");
  EXPECT_EQ(phys->getObject("artifactLocation")->getString("uri"), "app/main.c");
  EXPECT_EQ(phys->getObject("artifactLocation")->getString("uriBaseId"), "SRCROOT");
  EXPECT_EQ(phys->getObject("region")->getInteger("startLine"), 10);
  EXPECT_TRUE(r->getArray("codeFlows") && !r->getArray("codeFlows")->empty());
  // A shrink produces no results.
  ManifestDiff back = diffManifests(after, base());
  auto w = llvm::json::parse(renderDiffSarif(back, labels("base.yaml", "app", "/src"), base()));
  ASSERT_TRUE(bool(w));
  EXPECT_TRUE((*w->getAsObject()->getArray("runs"))[0].getAsObject()->getArray("results")->empty());
}

} // namespace

namespace bespoke {
namespace {

// The reviewer's network section: a new port or destination is a growth, a removed one is not.
TEST(ManifestDiffNetwork, PortsAndDestinations) {
  Footprint before = base(), after = base();
  before.network.present = after.network.present = true;
  before.network.bind = {80};
  after.network.bind = {80, 8080};
  before.network.connect = {"10.0.0.53:53"};
  ManifestDiff d = diffManifests(before, after);
  EXPECT_EQ(d.addedNetwork, (std::vector<std::string>{"bind 8080"}));
  EXPECT_EQ(d.removedNetwork, (std::vector<std::string>{"connect 10.0.0.53:53"}));
  EXPECT_TRUE(d.grew());
  std::string text = renderDiffText(d, labels("a.yaml", "b.yaml"));
  EXPECT_NE(text.find("+ network bind 8080\n"), std::string::npos) << text;
  EXPECT_NE(text.find("- network connect 10.0.0.53:53\n"), std::string::npos) << text;
  Footprint fewer = after;
  fewer.network.bind = {80};
  ManifestDiff narrowed = diffManifests(after, fewer);
  EXPECT_EQ(narrowed.removedNetwork, (std::vector<std::string>{"bind 8080"}));
  EXPECT_FALSE(narrowed.grew());
  EXPECT_FALSE(narrowed.empty());
}

// network.families bounds socket families, none is no bound: bounding narrows, unbounding grows, a family
// added to a bound grows.
TEST(ManifestDiffNetwork, Families) {
  Footprint unbounded = base(), bounded = base(), wider = base();
  unbounded.network.present = bounded.network.present = wider.network.present = true;
  bounded.network.families = {"AF_INET", "AF_UNIX"};
  wider.network.families = {"AF_INET", "AF_NETLINK", "AF_UNIX"};
  ManifestDiff bound = diffManifests(unbounded, bounded);
  EXPECT_FALSE(bound.grew());
  EXPECT_EQ(bound.removedNetwork, (std::vector<std::string>{"family any (now only AF_INET, AF_UNIX)"}));
  ManifestDiff unbound = diffManifests(bounded, unbounded);
  EXPECT_TRUE(unbound.grew());
  EXPECT_EQ(unbound.addedNetwork, (std::vector<std::string>{"family any (was only AF_INET, AF_UNIX)"}));
  ManifestDiff added = diffManifests(bounded, wider);
  EXPECT_TRUE(added.grew());
  EXPECT_EQ(added.addedNetwork, (std::vector<std::string>{"family AF_NETLINK"}));
  ManifestDiff removed = diffManifests(wider, bounded);
  EXPECT_FALSE(removed.grew());
  EXPECT_EQ(removed.removedNetwork, (std::vector<std::string>{"family AF_NETLINK"}));
  EXPECT_TRUE(diffManifests(bounded, bounded).empty());
}

} // namespace
} // namespace bespoke
