// What a job's producer writes cannot forge or split the daemon's log: a
// jid with a newline, a payload with terminal escapes and a payload of
// megabytes, through the built-in `log` handler of a real daemon.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace qd::test {
namespace {

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(LogEscapeTest, AJobsJidAndPayloadCannotForgeOrFloodALine) {
  RedisServer redis;
  Daemon d(
      "daemon:\n  threads: 1\n  run_dir: RUN_DIR/run\n"
      "  shutdown_timeout: 5s\nredis: " +
      redis.url() +
      "\nsites:\n  default:\n    queues:\n"
      "      log: { handler: log }\n");
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  const std::string forged = "CRITICAL [master 1] forged";
  ASSERT_EQ(
      RedisPipeline(redis.port(),
                    {{"XADD", "qd:{default}:q:log", "*", "jid", "j1\n" + forged,
                      "payload", "p1\r\n" + forged + "\x1b[2J"},
                     {"XADD", "qd:{default}:q:log", "*", "jid", "j2", "payload",
                      std::string(4 << 20, 'x')}}),
      2u);
  ASSERT_TRUE(d.WaitForLog("jid=j2 attempt=0")) << d.LogTail(20);
  std::string log = d.Log();
  EXPECT_NE(log.find("jid=j1\\nCRITICAL [master 1] forged"), std::string::npos)
      << d.LogTail(20);
  for (const std::string& line : SplitLines(log)) {
    EXPECT_NE(line.rfind("CRITICAL", 0), 0u) << line;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    EXPECT_LT(line.size(), 10000u) << line.substr(0, 200);
  }
}

}  // namespace
}  // namespace qd::test
