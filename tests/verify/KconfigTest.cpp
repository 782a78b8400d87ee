// verify/Kconfig + verify/ConfigProof: a small synthetic Kconfig tree (written here) covering every
// construct the parser models, proofs of good and broken .config values, minimality; and (label
// `kernel`) the real Linux 6.1 tree with the .config files the images cache holds.
#include <gtest/gtest.h>

#include "verify/ConfigProof.h"
#include "verify/Kconfig.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdlib>

using namespace bespoke;

namespace {

class TempTree {
public:
  TempTree() {
    llvm::SmallString<128> d;
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("kconfig-test", d));
    Dir = d.str().str();
  }
  ~TempTree() { llvm::sys::fs::remove_directories(Dir); }
  void write(const std::string &rel, const std::string &text) {
    std::string path = Dir + "/" + rel;
    llvm::sys::fs::create_directories(llvm::sys::path::parent_path(path));
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    ASSERT_FALSE(ec) << path;
    os << text;
  }
  std::string Dir;
};

const char *RootKconfig = R"K(mainmenu "Test $(ARCH)"
# a comment line
VAR := sub
source "$(VAR)/Kconfig"

config A
	bool "A prompt"
	help
	  Help text with keywords that must not be parsed:
	  config NOTASYMBOL

	  depends on NOTHING

config B
	bool
	default y if A

config C
	tristate "C" if A
	depends on B
	select D if A

menuconfig E
	bool "E"
	imply F

config D
	bool

config F
	bool

if E
config G
	def_bool y
endif

menu "M"
	depends on A
	visible if B

config H
	bool "H"

comment "a comment"
	depends on H
endmenu

choice
	prompt "pick"
	default C1

config C1
	bool "one"

config C2
	bool "two"
	depends on A

endchoice

config I
	int "number"
	range 0 10
	default 5

config J
	bool
	default y if I = 5 && A != n && (B || !C) && I > 3

config K
	string "str"
	default "x86_64" if "$(ARCH)" = "x86_64"

config L
	bool "L" \
	  if A

config EXT
	def_bool $(success,true)

config MODY
	bool "never visible" if m = n
)K";

const char *SubKconfig = R"(config SUB
	bool "sub"
	depends on A
)";

// A .config that satisfies the tree: every symbol on where it can be.
std::map<std::string, std::string> goodConfig() {
  return {{"A", "y"},  {"B", "y"},  {"C", "y"}, {"D", "y"}, {"E", "y"},         {"F", "y"},    {"G", "y"},
          {"H", "y"},  {"C1", "y"}, {"C2", "n"}, {"I", "5"}, {"J", "y"},        {"K", "\"x86_64\""},
          {"L", "y"},  {"EXT", "y"}, {"SUB", "y"}, {"MODY", "n"}};
}

KconfigModel parseTest(TempTree &t) {
  t.write("Kconfig", RootKconfig);
  t.write("sub/Kconfig", SubKconfig);
  auto m = parseKconfig(t.Dir);
  if (!m) {
    ADD_FAILURE() << llvm::toString(m.takeError());
    return {};
  }
  return std::move(*m);
}

ConfigProof prove(const KconfigModel &m, const std::map<std::string, std::string> &dot,
                  const std::map<std::string, std::string> &req = {}) {
  auto p = proveConfig(m, dot, req);
  if (!p) {
    ADD_FAILURE() << llvm::toString(p.takeError());
    return {};
  }
  return *p;
}

// The symbols named by the violations, sorted.
std::string violated(const ConfigProof &p) {
  std::set<std::string> s;
  for (const ConfigViolation &v : p.violations) s.insert(v.symbol);
  return llvm::join(s, ",");
}

TEST(Kconfig, ParsesEveryConstruct) {
  TempTree t;
  KconfigModel m = parseTest(t);
  EXPECT_EQ(m.files, (std::vector<std::string>{"Kconfig", "sub/Kconfig"}));
  EXPECT_EQ(m.symbols.size(), 17u);
  EXPECT_FALSE(m.symbol("NOTASYMBOL")) << "help text parsed as entries";
  EXPECT_EQ(m.menus, 1u);
  EXPECT_EQ(m.comments, 1u);
  EXPECT_EQ(m.ifBlocks, 1u);
  EXPECT_EQ(m.symbol("C")->type, KSymbol::Tristate);
  EXPECT_EQ(m.symbol("I")->type, KSymbol::Int);
  EXPECT_EQ(m.symbol("K")->type, KSymbol::String);
  EXPECT_EQ(m.symbol("G")->type, KSymbol::Bool);
  EXPECT_EQ(toString(m.symbol("G")->dependsOn), "E");
  EXPECT_EQ(toString(m.symbol("SUB")->dependsOn), "A");
  // Menu deps are dependencies; `visible if` only restricts the prompt.
  EXPECT_EQ(toString(m.symbol("H")->dependsOn), "A");
  EXPECT_EQ(toString(m.symbol("H")->prompts.at(0).cond), "A && B");
  EXPECT_EQ(toString(m.symbol("C")->prompts.at(0).cond), "A && B");
  EXPECT_EQ(toString(m.symbol("C")->selects.at(0).value), "D");
  EXPECT_EQ(toString(m.symbol("C")->selects.at(0).cond), "A && B");
  EXPECT_EQ(toString(m.symbol("E")->implies.at(0).value), "F");
  EXPECT_EQ(toString(m.symbol("L")->prompts.at(0).cond), "A"); // a continued line
  EXPECT_EQ(toString(m.symbol("J")->defaults.at(0).cond), "I=5 && A!=n && (B || !C) && I>3");
  EXPECT_EQ(toString(m.symbol("K")->defaults.at(0).cond), "\"x86_64\"=\"x86_64\""); // $(ARCH) expanded
  EXPECT_EQ(m.symbol("EXT")->defaults.at(0).value->kind, KExpr::External);
  ASSERT_EQ(m.choices.size(), 1u);
  EXPECT_EQ(m.choices[0].members, (std::vector<std::string>{"C1", "C2"}));
  EXPECT_EQ(m.symbol("C2")->choice, 0);
  EXPECT_EQ(toString(m.symbol("C2")->dependsOn), "A");
  EXPECT_EQ(m.symbol("H")->definitions.at(0).str(), "Kconfig:42");
}

TEST(Kconfig, ErrorsNameFileAndLine) {
  TempTree t;
  t.write("Kconfig", "config A\n\tbool \"a\"\nsource \"missing/Kconfig\"\n");
  auto m = parseKconfig(t.Dir);
  ASSERT_FALSE(m);
  EXPECT_NE(llvm::toString(m.takeError()).find("Kconfig:3: source \"missing/Kconfig\""), std::string::npos);

  t.write("Kconfig", "if A\nconfig B\n\tbool\nendmenu\n");
  m = parseKconfig(t.Dir);
  ASSERT_FALSE(m);
  EXPECT_NE(llvm::toString(m.takeError()).find("Kconfig:4: 'endmenu' without its opening block"), std::string::npos);

  t.write("Kconfig", "config A\n\tbool \"a\"\n\tdependz on B\n");
  m = parseKconfig(t.Dir);
  ASSERT_FALSE(m);
  EXPECT_NE(llvm::toString(m.takeError()).find("Kconfig:3: unknown keyword 'dependz'"), std::string::npos);

  t.write("Kconfig", "config A\n\tbool \"a\"\n\tdepends on (B && \n");
  m = parseKconfig(t.Dir);
  ASSERT_FALSE(m);
  EXPECT_NE(llvm::toString(m.takeError()).find("Kconfig:3:"), std::string::npos);

  t.write("Kconfig", "menu \"x\"\nconfig A\n\tbool\n");
  m = parseKconfig(t.Dir);
  ASSERT_FALSE(m);
  EXPECT_NE(llvm::toString(m.takeError()).find("Kconfig:1: block not closed"), std::string::npos);
}

TEST(ConfigProof, GoodConfigHolds) {
  TempTree t;
  KconfigModel m = parseTest(t);
  ConfigProof p = prove(m, goodConfig(), {{"A", "y"}, {"I", "5"}, {"UNDEFINED", "n"}});
  EXPECT_TRUE(p.holds) << p.report();
  EXPECT_EQ(p.symbols, 15u); // the bool/tristate ones
  auto dot = goodConfig();
  dot["EXT"] = "n"; // a toolchain test: either answer is possible
  EXPECT_TRUE(prove(m, dot).holds);
  dot = goodConfig();
  dot["C"] = "m"; // m counts as on
  EXPECT_TRUE(prove(m, dot).holds);
  // Everything off but the invisible defaults that follow: also consistent (the choice is visible, so
  // C1 stays).
  std::map<std::string, std::string> off{{"C1", "y"}, {"I", "5"}, {"EXT", "y"}};
  ConfigProof p2 = prove(m, off);
  EXPECT_TRUE(p2.holds) << p2.report();
}

TEST(ConfigProof, ReportsEachBrokenConstraint) {
  TempTree t;
  KconfigModel m = parseTest(t);
  auto with = [](std::map<std::string, std::string> d, std::map<std::string, std::string> change) {
    for (auto &[k, v] : change) d[k] = v;
    return d;
  };
  // select: C=y with A=y selects D.
  ConfigProof p = prove(m, with(goodConfig(), {{"D", "n"}}));
  EXPECT_FALSE(p.holds);
  EXPECT_EQ(violated(p), "D");
  ASSERT_FALSE(p.violations.empty());
  EXPECT_NE(p.violations[0].constraint.find("selected by C"), std::string::npos) << p.report();
  EXPECT_EQ(p.violations[0].where.str(), "Kconfig:21");
  EXPECT_TRUE(llvm::is_contained(p.violations[0].values, "D=n")) << p.report();
  EXPECT_TRUE(llvm::is_contained(p.violations[0].values, "C=y")) << p.report();
  // depends on: C=y needs B (and B follows A, so A=y, B=n also breaks B's default); C's select of D
  // carries C's dependency on B, so D loses its reason too; J's default needs B || !C.
  p = prove(m, with(goodConfig(), {{"B", "n"}}));
  EXPECT_EQ(violated(p), "B,C,D,H,J") << p.report(); // H: the menu's `visible if B`
  // select overrides depends: D has no prompt, but selected it may be y.
  EXPECT_TRUE(prove(m, with(goodConfig(), {{"D", "y"}})).holds);
  // An invisible symbol without a select must follow its default both ways.
  p = prove(m, with(goodConfig(), {{"C", "n"}, {"D", "y"}}));
  EXPECT_EQ(violated(p), "D") << p.report();
  // imply: F follows E when F is invisible.
  p = prove(m, with(goodConfig(), {{"F", "n"}}));
  EXPECT_EQ(violated(p), "F") << p.report();
  // if block: G = E.
  p = prove(m, with(goodConfig(), {{"E", "n"}, {"F", "n"}}));
  EXPECT_EQ(violated(p), "G") << p.report();
  // choice: exactly one.
  p = prove(m, with(goodConfig(), {{"C2", "y"}}));
  EXPECT_EQ(violated(p), "C1") << p.report();
  EXPECT_NE(p.report().find("more than one member of the choice at Kconfig:49"), std::string::npos) << p.report();
  p = prove(m, with(goodConfig(), {{"C1", "n"}}));
  EXPECT_NE(p.report().find("none of its members (C1, C2) is y"), std::string::npos) << p.report();
  // A choice member whose prompt is not visible.
  p = prove(m, with(goodConfig(), {{"A", "n"}, {"B", "n"}, {"C", "n"}, {"D", "n"}, {"H", "n"}, {"L", "n"},
                                   {"SUB", "n"}, {"J", "n"}, {"C1", "n"}, {"C2", "y"}}));
  EXPECT_EQ(violated(p), "C2") << p.report();
  // Comparisons on int values: I=4 turns J's default off.
  p = prove(m, with(goodConfig(), {{"I", "4"}}));
  EXPECT_EQ(violated(p), "J") << p.report();
  // Kconfig rewrites only a bare `m` to `m && MODULES`; a comparison sees m itself, so `m = n` is false
  // and MODY's prompt never visible.
  p = prove(m, with(goodConfig(), {{"MODY", "y"}}));
  EXPECT_EQ(violated(p), "MODY") << p.report();
  // Requirements.
  p = prove(m, with(goodConfig(), {{"L", "n"}}), {{"L", "y"}, {"I", "6"}, {"NOPE", "y"}});
  EXPECT_FALSE(p.holds);
  EXPECT_TRUE(p.violations.empty()) << p.report();
  EXPECT_EQ(p.missing, (std::vector<std::string>{"I: required 6, .config has 5", "L: required y, .config has n",
                                                 "NOPE: required y, but no Kconfig file defines it"}));
  // Symbols the tree does not define are listed.
  p = prove(m, with(goodConfig(), {{"OTHER_ARCH", "y"}}));
  EXPECT_EQ(p.unknownSymbols, std::vector<std::string>{"OTHER_ARCH"});
}

TEST(ConfigProof, Minimality) {
  TempTree t;
  KconfigModel m = parseTest(t);
  auto r = findRemovable(m, goodConfig(), {{"A", "y"}}, {"A"});
  ASSERT_TRUE(!!r) << llvm::toString(r.takeError());
  std::vector<std::string> names;
  for (const RemovableOption &o : *r) names.push_back(o.symbol);
  // C (then D, invisible, follows), E (G and F follow), H, L, SUB; not A (required), not C1 (choice).
  EXPECT_EQ(names, (std::vector<std::string>{"C", "E", "H", "L", "SUB"}));
  for (const RemovableOption &o : *r) EXPECT_TRUE(o.alsoChanged.empty()) << o.symbol;
  // Requiring SUB keeps it; requiring G keeps E (G has no prompt: E must stay).
  r = findRemovable(m, goodConfig(), {{"A", "y"}, {"SUB", "y"}, {"G", "y"}}, {});
  ASSERT_TRUE(!!r);
  names.clear();
  for (const RemovableOption &o : *r) names.push_back(o.symbol);
  EXPECT_EQ(names, (std::vector<std::string>{"C", "H", "L"}));
  // A removable option whose dependents must go too: without the requirement on A, turning A off takes
  // the prompted options that depend on it.
  r = findRemovable(m, goodConfig(), {}, {"C", "E", "H", "L", "SUB"});
  ASSERT_TRUE(!!r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].symbol, "A");
  EXPECT_EQ(llvm::join((*r)[0].alsoChanged, ","), "C=n,H=n,L=n,SUB=n");
  // A broken config is refused.
  auto bad = goodConfig();
  bad["D"] = "n";
  auto refused = findRemovable(m, bad, {}, {});
  ASSERT_FALSE(!!refused);
  EXPECT_NE(llvm::toString(refused.takeError()).find("prove it first"), std::string::npos);
}

// --- The real tree (label kernel).

std::map<std::string, std::string> readDotConfig(const std::string &path) {
  std::map<std::string, std::string> dot;
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf) {
    ADD_FAILURE() << path;
    return dot;
  }
  llvm::SmallVector<llvm::StringRef> lines;
  (*buf)->getBuffer().split(lines, '\n', -1, false);
  for (llvm::StringRef line : lines) {
    line = line.trim();
    if (line.starts_with("# CONFIG_") && line.ends_with(" is not set")) dot[line.drop_front(9).drop_back(11).str()] = "n";
    else if (line.consume_front("CONFIG_")) dot[line.split('=').first.str()] = line.split('=').second.str();
  }
  return dot;
}

std::string kernelTree() {
  if (const char *d = std::getenv("BESPOKE_KERNEL_SOURCE")) return d;
  std::string cache;
  if (const char *c = std::getenv("BESPOKE_CACHE_DIR")) cache = c;
  else if (const char *x = std::getenv("XDG_CACHE_HOME")) cache = std::string(x) + "/bespoke";
  else if (const char *h = std::getenv("HOME")) cache = std::string(h) + "/.cache/bespoke";
  return cache + "/linux-source-6.1";
}

TEST(KconfigKernel, ParsesLinux61AndProvesImageConfigs) {
  std::string tree = kernelTree();
  if (!llvm::sys::fs::exists(tree + "/arch/x86/Kconfig")) GTEST_SKIP() << "no Linux source tree at " << tree;
  auto t0 = std::chrono::steady_clock::now();
  auto m = parseKconfig(tree);
  ASSERT_TRUE(!!m) << llvm::toString(m.takeError());
  double parseSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(m->files.size(), 1000u);
  EXPECT_TRUE(llvm::is_contained(m->files, "arch/x86/Kconfig"));
  EXPECT_FALSE(llvm::is_contained(m->files, "arch/arm64/Kconfig"));
  EXPECT_GT(m->symbols.size(), 15000u);
  ASSERT_TRUE(m->symbol("X86_64"));
  EXPECT_EQ(toString(m->symbol("SERIAL_8250_CONSOLE")->dependsOn), "TTY && HAS_IOMEM && SERIAL_8250=y");
  std::printf("parsed %zu files, %zu symbols, %zu choices in %.3f s\n", m->files.size(), m->symbols.size(),
              m->choices.size(), parseSeconds);

  // The .config files the images cache holds (BESPOKE_TEST_KCONFIG_DIRS, colon-separated).
  std::vector<std::string> configs;
  if (const char *dirs = std::getenv("BESPOKE_TEST_KCONFIG_DIRS")) {
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::StringRef(dirs).split(parts, ':', -1, false);
    for (llvm::StringRef d : parts) {
      std::error_code ec;
      for (llvm::sys::fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec))
        if (llvm::StringRef(it->path()).ends_with(".config")) configs.push_back(it->path());
    }
  }
  if (configs.empty()) {
    std::printf("note: no resolved .config in BESPOKE_TEST_KCONFIG_DIRS (the images test has not run here)\n");
    return;
  }
  // What every image's config holds (the cache also keeps minimality's trial configs, so nothing more): the
  // root's options depend on its kind (images/root-KIND.config), an EROFS root has no initramfs.
  std::map<std::string, std::string> base{{"64BIT", "y"}, {"PRINTK", "y"},      {"TTY", "y"},
                                          {"SERIAL_8250", "y"}, {"SERIAL_8250_CONSOLE", "y"},
                                          {"BINFMT_ELF", "y"}, {"DEVTMPFS", "y"}};
  for (const std::string &path : configs) {
    std::map<std::string, std::string> dot = readDotConfig(path);
    auto t1 = std::chrono::steady_clock::now();
    ConfigProof p = prove(*m, dot, base);
    EXPECT_TRUE(p.holds) << path << "\n" << p.report();
    EXPECT_TRUE(p.unknownSymbols.empty()) << llvm::join(p.unknownSymbols, " ");
    double proveSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    std::printf("%s: %zu bool symbols, %zu constraints, proof %s in %.3f s\n", path.c_str(), p.symbols, p.constraints,
                p.holds ? "holds" : "FAILS", proveSeconds);
    // A mutant: the serial console without its driver breaks SERIAL_8250_CONSOLE's dependency.
    auto mutant = dot;
    mutant["SERIAL_8250"] = "n";
    ConfigProof q = prove(*m, mutant, {});
    EXPECT_FALSE(q.holds);
    EXPECT_NE(q.report().find("SERIAL_8250_CONSOLE: y needs its dependencies"), std::string::npos) << q.report();
  }
}

// The kernel's own configurations, made by its Kconfig tool (make ARCH=x86_64 allnoconfig, defconfig —
// MODULES=y with =m values — and allyesconfig, every option it can turn on): each must be proven.
TEST(KconfigKernel, ProvesTheKernelsOwnConfigs) {
  std::string tree = kernelTree();
  if (!llvm::sys::fs::exists(tree + "/arch/x86/Kconfig")) GTEST_SKIP() << "no Linux source tree at " << tree;
  auto m = parseKconfig(tree);
  ASSERT_TRUE(!!m) << llvm::toString(m.takeError());
  llvm::SmallString<128> work;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("kconfig-kernel", work));
  for (const char *target : {"allnoconfig", "defconfig", "allyesconfig"}) {
    std::string o = work.str().str() + "/" + target;
    std::string cmd = "make -s -C '" + tree + "' O='" + o + "' ARCH=x86_64 " + target + " > '" + work.str().str() +
                      "/make.log' 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::map<std::string, std::string> dot = readDotConfig(o + "/.config");
    auto t1 = std::chrono::steady_clock::now();
    ConfigProof p = prove(*m, dot, {});
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    size_t on = llvm::count_if(dot, [](const auto &kv) { return kv.second == "y" || kv.second == "m"; });
    EXPECT_TRUE(p.holds) << target << "\n" << p.report();
    std::printf("%s: %zu options on, proof %s in %.3f s\n", target, on, p.holds ? "holds" : "FAILS", seconds);
  }
  llvm::sys::fs::remove_directories(work);
}

} // namespace
