#include "core/queue/job_commands.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qd {
namespace {

using Fields = JobCommands::Fields;
using Strings = std::vector<std::string>;

Strings Copy(const JobCommands::Command& command) {
  return Strings(command.begin(), command.end());
}

TEST(JobCommandsTest, NowIsAnXaddWithPayloadExtrasJidAndEnqueuedAt) {
  JobCommands c("qd", "default", "mail");
  EXPECT_EQ(Copy(c.Now("hi", {}, "", 1700000000000)),
            (Strings{"XADD", "qd:{default}:q:mail", "*", "payload", "hi",
                     "enqueued_at", "1700000000000"}));
  EXPECT_EQ(Copy(c.Now("hi", {}, "j-1", 5)),
            (Strings{"XADD", "qd:{default}:q:mail", "*", "payload", "hi", "jid",
                     "j-1", "enqueued_at", "5"}));
  Fields extra = {{"to", "x"}, {"jid", "j-2"}, {"a", ""}};
  EXPECT_EQ(Copy(c.Now("hi", extra, "", 6)),
            (Strings{"XADD", "qd:{default}:q:mail", "*", "payload", "hi", "to",
                     "x", "jid", "j-2", "a", "", "enqueued_at", "6"}));
}

TEST(JobCommandsTest, UniqueIsAnFcallWithTheLockLast) {
  JobCommands c("pre", "s:1", "q");
  EXPECT_EQ(Copy(c.Unique("p", {}, "j", 7, "user-7", 600000)),
            (Strings{"FCALL", "qd_enqueue", "1", "pre:{s:1}:q:q", "payload",
                     "p", "jid", "j", "enqueued_at", "7", "unique_key",
                     "user-7", "unique_for", "600000"}));
  // No unique_for: the library's default.
  EXPECT_EQ(Copy(c.Unique("p", {{"to", "x"}}, "", 8, "k", 0)),
            (Strings{"FCALL", "qd_enqueue", "1", "pre:{s:1}:q:q", "payload",
                     "p", "to", "x", "enqueued_at", "8", "unique_key", "k"}));
}

TEST(JobCommandsTest, LaterIsAZaddOfTheSameFieldsAtTheDueTime) {
  JobCommands c("qd", "default", "mail");
  Strings zadd = Copy(c.Later("hi", {{"to", "x"}}, "j-3", 100, 60100));
  ASSERT_EQ(zadd.size(), 4u);
  EXPECT_EQ(zadd[0], "ZADD");
  EXPECT_EQ(zadd[1], "qd:{default}:delayed");
  EXPECT_EQ(zadd[2], "60100");
  DelayedJob job;
  ASSERT_TRUE(DelayedJob::Decode(zadd[3], &job).ok()) << zadd[3];
  EXPECT_EQ(job.queue, "mail");
  EXPECT_EQ(job.fields, (Fields{{"payload", "hi"},
                                {"to", "x"},
                                {"jid", "j-3"},
                                {"enqueued_at", "100"}}));
  // A jid among the extra fields is the member's only jid.
  zadd = Copy(c.Later("hi", {{"jid", "mine"}}, "", 100, 200));
  ASSERT_TRUE(DelayedJob::Decode(zadd[3], &job).ok()) << zadd[3];
  EXPECT_EQ(
      job.fields,
      (Fields{{"payload", "hi"}, {"jid", "mine"}, {"enqueued_at", "100"}}));
}

// One builder serves a whole bulk enqueue: a call starts a new command.
TEST(JobCommandsTest, EachCallReplacesTheLastCommand) {
  JobCommands c("qd", "default", "mail");
  Strings first = Copy(c.Later("one", {}, "j", 1, 2));
  const JobCommands::Command& again = c.Later("other", {}, "j", 3, 4);
  ASSERT_EQ(again.size(), 4u);
  EXPECT_EQ(again[2], "4");
  EXPECT_NE(std::string(again[3]), first[3]);
  const JobCommands::Command& now = c.Now("p", {}, "", 9);
  ASSERT_EQ(now.size(), 7u);
  EXPECT_EQ(now[6], "9");
}

TEST(JobCommandsTest, RandomJidIs32HexDigitsAndNew) {
  std::mt19937_64 rng(42);
  std::string a = JobCommands::RandomJid(&rng);
  std::string b = JobCommands::RandomJid(&rng);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace qd
