// queuectl enqueue --unique-key against a real redis-server, no daemon:
// it loads the function library itself, says when a job is a duplicate
// (exit 4) and refuses unique options that cannot apply.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon_harness.h"

namespace qd::test {
namespace {

class UniqueEnqueueCtlTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_.Write("qd.yaml", CtlConfig(redis_.url())); }
  CtlResult Enqueue(std::vector<std::string> more) {
    std::vector<std::string> args = {"-c",      "qd.yaml", "enqueue",
                                     "default", "mail",    "hello"};
    args.insert(args.end(), more.begin(), more.end());
    return RunQueuectl(dir_, args);
  }

  RedisServer redis_;
  TempDir dir_;
};

TEST_F(UniqueEnqueueCtlTest, LoadsTheLibraryItselfAndSaysWhenADuplicate) {
  CtlResult first = Enqueue({"--unique-key", "K", "--unique-for", "10m"});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_NE(first.out.find('-'), std::string::npos) << first.out;
  const std::string lock = "qd:{default}:unique:mail/K";
  long long ttl = RedisInt(redis_.port(), {"PTTL", lock});
  EXPECT_GT(ttl, 590000);
  EXPECT_LE(ttl, 600000);
  EXPECT_EQ(
      RedisStrings(redis_.port(), {"GET", lock}),
      std::vector<std::string>{first.out.substr(0, first.out.size() - 1)});
  CtlResult second = Enqueue({"--unique-key", "K"});
  EXPECT_EQ(second.code, 4);
  EXPECT_EQ(second.out, "");
  EXPECT_NE(second.err.find("duplicate: a job with unique_key K is held in "
                            "queue mail (lock " +
                            lock + ")"),
            std::string::npos)
      << second.err;
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", "qd:{default}:q:mail"}), 1);
  // Another key, and --jid naming the job in the lock.
  CtlResult other = Enqueue({"--unique-key", "L", "--jid", "J7"});
  EXPECT_EQ(other.code, 0) << other.err;
  EXPECT_EQ(RedisStrings(redis_.port(), {"GET", "qd:{default}:unique:mail/L"}),
            std::vector<std::string>{"J7"});
}

TEST_F(UniqueEnqueueCtlTest, BadUniqueOptionsAreUsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  std::vector<Case> cases = {
      {{"--unique-for", "10m"}, "--unique-for goes with --unique-key"},
      {{"--unique-key", "K", "--delay", "1m"}, "cannot go with --delay"},
      {{"--unique-key", "K", "--unique-for", "0s"}, "must be above 0"},
      {{"--unique-key", "K", "--unique-for", "soon"}, "--unique-for: "},
  };
  for (const Case& c : cases) {
    CtlResult r = Enqueue(c.args);
    EXPECT_EQ(r.code, 2) << c.error;
    EXPECT_NE(r.err.find(c.error), std::string::npos) << r.err;
  }
  CtlResult bulk = RunQueuectl(dir_,
                               {"-c", "qd.yaml", "enqueue", "default", "mail",
                                "--bulk", "--unique-key", "K"},
                               "a\nb\n");
  EXPECT_EQ(bulk.code, 2);
  EXPECT_NE(bulk.err.find("cannot go with --bulk"), std::string::npos)
      << bulk.err;
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", "qd:{default}:q:mail"}), 0);
}

}  // namespace
}  // namespace qd::test
