// transfer_tests: the abstract domain (AbsValue::join, State::joinWith) tested directly, and the
// transfer function and block fixpoint tested by the data files in testdata/transfer/ (one gtest per
// file, see TransferCase.h for the format), plus the reader's answers to malformed files.
#include "tests/analyzer/TransferCase.h"

#include "analyzer/AbstractState.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

using namespace bespoke;
using namespace bespoke::test;

namespace {

AbsValue consts(std::initializer_list<uint64_t> xs) {
  AbsValue v = AbsValue::bottom();
  for (uint64_t x : xs) v = v.join(AbsValue::constant(x));
  return v;
}

// ---------------------------------------------------------------------------------------------------
// The domain

TEST(AbsValueJoin, BottomIsTheIdentity) {
  EXPECT_EQ(AbsValue::bottom().join(AbsValue::constant(3)), AbsValue::constant(3));
  EXPECT_EQ(AbsValue::entry(RDI).join(AbsValue::bottom()), AbsValue::entry(RDI));
  EXPECT_EQ(AbsValue::bottom().join(AbsValue::bottom()), AbsValue::bottom());
}

TEST(AbsValueJoin, ConstantSetsMergeSortedUpToEight) {
  AbsValue v = consts({5, 1}).join(consts({3, 1}));
  EXPECT_EQ(describe(v), "[1, 3, 5]");
  AbsValue eight = consts({1, 2, 3, 4}).join(consts({5, 6, 7, 8}));
  EXPECT_EQ(eight.kind, AbsValue::Const);
  EXPECT_EQ(eight.n, 8);
  EXPECT_EQ(eight.join(AbsValue::constant(9)), AbsValue::top());
  EXPECT_EQ(eight.join(AbsValue::constant(4)), eight); // already in the set: no growth
}

TEST(AbsValueJoin, DifferentKindsOrRegistersAreTop) {
  EXPECT_EQ(AbsValue::entry(RDI).join(AbsValue::entry(RDI)), AbsValue::entry(RDI));
  EXPECT_EQ(AbsValue::entry(RDI).join(AbsValue::entry(RSI)), AbsValue::top());
  EXPECT_EQ(AbsValue::constant(0).join(AbsValue::entry(RAX)), AbsValue::top());
  EXPECT_EQ(AbsValue::stack(-8).join(AbsValue::stack(-8)), AbsValue::stack(-8));
  EXPECT_EQ(AbsValue::stack(-8).join(AbsValue::stack(-16)), AbsValue::top());
  EXPECT_EQ(AbsValue::top().join(AbsValue::constant(1)), AbsValue::top());
}

TEST(StateJoin, AnUnreachedStateTakesTheOther) {
  State a, b = State::atFunctionEntry();
  EXPECT_FALSE(b.joinWith(a)); // nothing flows from an unreached state
  EXPECT_TRUE(a.joinWith(b));
  EXPECT_TRUE(a.reached);
  EXPECT_EQ(a.reg[RSP], AbsValue::stack(0));
  EXPECT_EQ(a.reg[RDI], AbsValue::entry(RDI));
}

TEST(StateJoin, RegistersJoinAndChangeIsReported) {
  State a = State::atFunctionEntry(), b = State::atFunctionEntry();
  a.reg[RAX] = AbsValue::constant(0);
  b.reg[RAX] = AbsValue::constant(1);
  EXPECT_TRUE(a.joinWith(b));
  EXPECT_EQ(a.reg[RAX], consts({0, 1}));
  EXPECT_EQ(a.reg[RDI], AbsValue::entry(RDI));
  EXPECT_FALSE(a.joinWith(b)); // the fixpoint's termination rests on this
}

TEST(StateJoin, SlotsKnownOnOneSideOnlyAreDropped) {
  State a = State::atFunctionEntry(), b = State::atFunctionEntry();
  a.setSlot(-8, AbsValue::constant(7));
  a.setSlot(-16, AbsValue::constant(1));
  b.setSlot(-16, AbsValue::constant(2));
  b.setSlot(-24, AbsValue::constant(3));
  EXPECT_TRUE(a.joinWith(b));
  ASSERT_EQ(a.slots.size(), 1u);
  EXPECT_EQ(a.slots[0].first, -16);
  EXPECT_EQ(a.slots[0].second, consts({1, 2}));
  State c = a;
  EXPECT_FALSE(a.joinWith(c));
}

// ---------------------------------------------------------------------------------------------------
// The data files

std::vector<std::string> caseFiles() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto &e : std::filesystem::directory_iterator(BESPOKE_TRANSFER_DATA_DIR, ec))
    if (e.path().extension() == ".yaml") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

const X86Machine &machine() {
  static const X86Machine mc; // one per process: the tests run on one thread
  return mc;
}

class TransferData : public ::testing::TestWithParam<std::string> {};

TEST_P(TransferData, PostStateAndFacts) {
  auto c = loadTransferCase(GetParam());
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  ASSERT_TRUE(machine().ok());
  auto mismatches = runTransferCase(*c, machine());
  ASSERT_TRUE(bool(mismatches)) << llvm::toString(mismatches.takeError());
  std::string report;
  for (const std::string &m : *mismatches) report += "\n  " + m;
  EXPECT_TRUE(mismatches->empty()) << c->name << " (" << c->description << "):" << report;
}

std::string caseName(const ::testing::TestParamInfo<std::string> &info) {
  std::string n = std::filesystem::path(info.param).stem().string();
  for (char &ch : n)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Cases, TransferData, ::testing::ValuesIn(caseFiles()), caseName);

TEST(TransferDataDirectory, HoldsCases) {
  EXPECT_FALSE(caseFiles().empty()) << "no *.yaml in " << BESPOKE_TRANSFER_DATA_DIR;
}

// ---------------------------------------------------------------------------------------------------
// Malformed files fail with the file, the line and the problem

std::string parseError(const std::string &yaml) {
  auto c = parseTransferCase(yaml, "bad.yaml");
  if (c) return "";
  return llvm::toString(c.takeError());
}

std::string runError(const std::string &yaml) {
  auto c = parseTransferCase(yaml, "bad.yaml");
  if (!c) return "parse: " + llvm::toString(c.takeError());
  auto r = runTransferCase(*c, machine());
  if (r) return "";
  return llvm::toString(r.takeError());
}

TEST(TransferCaseFormat, MalformedFilesAreErrorsNamingTheProblem) {
  EXPECT_EQ(parseError("description: d\ncode: nop\npost: {rax: 1}\n"), "");
  EXPECT_NE(parseError("description: d\ncode: [nop\n").find("bad.yaml: not YAML"), std::string::npos);
  EXPECT_NE(parseError("description: d\npost: {}\n").find("missing 'code'"), std::string::npos);
  EXPECT_NE(parseError("description: d\ncode: nop\npost: {}\npsot: {}\n").find("bad.yaml:4: unknown key 'psot'"),
            std::string::npos);
  EXPECT_NE(parseError("description: d\ncode: nop\npost: {rxa: 1}\n").find("unknown register 'rxa'"), std::string::npos);
  EXPECT_NE(parseError("description: d\ncode: nop\npost: {rax: 1x}\n").find("'1x' is not a value"), std::string::npos);
  EXPECT_NE(parseError("description: d\ncode: nop\npost: {rax: [1,2,3,4,5,6,7,8,9]}\n").find("1 to 8 values"),
            std::string::npos);
  EXPECT_NE(parseError("description: d\ncode: nop\npost: {rax: entry(foo)}\n").find("unknown register 'foo'"),
            std::string::npos);
  EXPECT_NE(parseError("description: d\ncode: nop\npost: {}\nedges: [{kind: jump, to: x}]\n").find("kind: call, tail"),
            std::string::npos);
  EXPECT_NE(parseError("description: d\ncode: nop\nsyntax: masm\npost: {}\n").find("syntax must be att or intel"),
            std::string::npos);
}

TEST(TransferCaseFormat, CasesThatCannotRunAreErrors) {
  EXPECT_NE(runError("description: d\ncode: movq %rax\npost: {}\n").find("does not assemble"), std::string::npos);
  EXPECT_NE(runError("description: d\ncode: call helper\npost: {}\n").find("undefined symbol 'helper'"),
            std::string::npos);
  EXPECT_NE(runError("description: d\ncode: nop\nmodule: {clobbers: {f: [rax]}}\npost: {}\n").find("names 'f'"),
            std::string::npos);
}

} // namespace
