// Log: every line's message and jid are escaped and bounded, so a value
// from outside can neither split nor forge a line.
#include "core/config/log.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace qd {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qd-log-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    LogConfig config;
    config.file = dir_ + "/qd.log";
    ASSERT_TRUE(Log::Setup(config, "worker 1").ok());
  }
  void TearDown() override {
    (void)Log::Setup(LogConfig(), "main");  // back to stderr
    unlink((dir_ + "/qd.log").c_str());
    rmdir(dir_.c_str());
  }
  std::vector<std::string> Lines() const {
    std::ifstream in(dir_ + "/qd.log");
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  std::string dir_;
};

TEST_F(LogTest, ControlCharactersInAMessageAreEscaped) {
  spdlog::info("payload={}", "a\nCRITICAL [master 1] forged\r\x1b[31m\x7f");
  spdlog::info("c1 {} and utf-8 {}",
               "\xc2\x9b"
               "2J",
               "\xc3\xa9t\xc3\xa9");
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(
      lines[0].find("payload=a\\nCRITICAL [master 1] forged\\r\\x1b[31m\\x7f"),
      std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("c1 \\u009b2J and utf-8 \xc3\xa9t\xc3\xa9"),
            std::string::npos)
      << lines[1];
}

TEST_F(LogTest, ALongMessageIsCutWithTheCountOfWhatWasLeftOut) {
  std::string big(3 * Log::kMaxMessageBytes, 'x');
  spdlog::warn("{}", big);
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_LT(lines[0].size(), Log::kMaxMessageBytes + 200);
  EXPECT_NE(lines[0].find("...(+" + std::to_string(2 * Log::kMaxMessageBytes) +
                          " bytes)"),
            std::string::npos);
}

TEST_F(LogTest, AQueueLoggersJidIsEscapedAndBounded) {
  Log::SetCurrentJob("j1\nCRITICAL [master 1] forged");
  Log::ForQueue("shop", "mail").info("sent");
  Log::SetCurrentJob(std::string(1000, 'j'));
  Log::ForQueue("shop", "mail").info("again");
  Log::SetCurrentJob({});
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(
      lines[0].find("shop/mail jid=j1\\nCRITICAL [master 1] forged: sent"),
      std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find(std::string(Log::kMaxJidBytes, 'j') + "...(+" +
                          std::to_string(1000 - Log::kMaxJidBytes) +
                          " bytes): again"),
            std::string::npos)
      << lines[1];
}

// A forked request worker renames the logger it inherited: its lines
// carry the new role at once, in the same file, the queue loggers too.
TEST_F(LogTest, RenameChangesTheRoleOfEveryLaterLine) {
  spdlog::info("before");
  Log::Rename("line generic:1:line:7");
  spdlog::info("after");
  Log::ForQueue("default", "mail").info("queued");
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  std::string pid = std::to_string(getpid());
  EXPECT_NE(lines[0].find("[worker 1 " + pid + "] before"), std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("[line generic:1:line:7 " + pid + "] after"),
            std::string::npos)
      << lines[1];
  EXPECT_NE(lines[2].find("[line generic:1:line:7 " + pid + "] default/mail"),
            std::string::npos)
      << lines[2];
}

}  // namespace
}  // namespace qd
