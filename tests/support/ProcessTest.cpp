// The process runner both the image pipeline (output to a log file) and the MCP server (captured output,
// a deadline, its own process group) use: exit statuses, signals, capture limits, timeouts, ticks.
#include <gtest/gtest.h>

#include "support/Process.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace bespoke;

namespace {

std::string readFile(const std::string &path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Process, LogFileAndExitStatus) {
  std::string log = testing::TempDir() + "/process-test-" + std::to_string(getpid()) + ".log";
  std::remove(log.c_str());
  auto r = runProcess({"sh", "-c", "echo out; echo err >&2; exit 3"}, log);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  EXPECT_EQ(r->exitCode, 3);
  EXPECT_EQ(readFile(log), "out\nerr\n"); // both streams, appended
  auto again = runProcess({"sh", "-c", "echo more"}, log);
  ASSERT_TRUE(static_cast<bool>(again));
  EXPECT_EQ(readFile(log), "out\nerr\nmore\n");
  std::remove(log.c_str());
}

TEST(Process, NotFound) {
  auto r = runProcess({"no-such-program-bespoke"}, "");
  ASSERT_FALSE(static_cast<bool>(r));
  EXPECT_NE(llvm::toString(r.takeError()).find("not found in PATH"), std::string::npos);
}

TEST(Process, CaptureSignalsAndLimits) {
  ProcessOptions opt;
  opt.capture = true;
  opt.maxCaptureBytes = 4;
  auto r = runProcess({"sh", "-c", "printf 123456; printf ab >&2; kill -TERM $$"}, opt);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  EXPECT_EQ(r->out, "1234");
  EXPECT_EQ(r->err, "ab");
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->signal, SIGTERM);
  EXPECT_EQ(r->exitCode, -1);
}

TEST(Process, TimeoutKillsTheGroupAndTicks) {
  ProcessOptions opt;
  opt.capture = true;
  opt.ownProcessGroup = true;
  opt.timeout = std::chrono::milliseconds(1500);
  opt.tickInterval = std::chrono::milliseconds(300);
  int ticks = 0;
  opt.tick = [&](double) { ++ticks; };
  // The grandchild keeps the pipes open: only killing the group ends the wait.
  auto r = runProcess({"sh", "-c", "sleep 30 & sleep 30"}, opt);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  EXPECT_TRUE(r->timedOut);
  EXPECT_LT(r->seconds, 10);
  EXPECT_GE(ticks, 2);
}

} // namespace
