// The function library "qd" (core/queue/enqueue_library.h), its loader and
// the scripts that free unique locks, run by a real redis-server: what
// FCALL qd_enqueue accepts and refuses, the lock it takes, which library
// versions the loader replaces, and that a lock is freed only by the job
// it names.
#include "core/queue/enqueue_library.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/queue/enqueue_library_loader.h"
#include "core/queue/outcome_script.h"
#include "core/queue/unique_release_script.h"
#include "core/redis/redis_conn.h"
#include "daemon_harness.h"

namespace qd::test {
namespace {

constexpr const char* kMail = "qd:{s}:q:mail";
constexpr const char* kLock = "qd:{s}:unique:mail/K";
using Result = EnqueueLibraryLoader::Result;

// A stream entry id, "MS-SEQ".
bool IsId(const std::string& text) {
  size_t dash = text.find('-');
  return dash != std::string::npos && dash > 0 && dash + 1 < text.size() &&
         text.find_first_not_of("0123456789-") == std::string::npos;
}

class EnqueueLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RedisUrl url;
    ASSERT_TRUE(RedisUrl::Parse(redis_.url(), &url).ok());
    ASSERT_TRUE(RedisConn::Open(url, &conn_).ok());
  }
  // One command; an error reply comes back as a reply.
  ReplyPtr Call(const std::vector<std::string>& args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    conn_->Append(views);
    ReplyPtr r;
    EXPECT_TRUE(conn_->Read(&r).ok());
    return r;
  }
  std::string Text(const std::vector<std::string>& args) {
    ReplyPtr r = Call(args);
    if (r == nullptr) return "(none)";
    if (r->type == REDIS_REPLY_NIL) return "(nil)";
    if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
    return std::string(r->str, r->len);
  }
  std::string Enqueue(std::vector<std::string> fields,
                      const std::string& key = kMail) {
    std::vector<std::string> args = {"FCALL", "qd_enqueue", "1", key};
    args.insert(args.end(), fields.begin(), fields.end());
    return Text(args);
  }
  void Load() {
    ASSERT_EQ(EnqueueLibraryLoader::Ensure(conn_.get()).result,
              Result::kLoaded);
  }
  // Loads a library called qd whose qd_version says `version`, with a
  // function `marker` that shows it is still the one loaded.
  void LoadFake(long long version) {
    std::string code =
        "#!lua name=qd\n"
        "redis.register_function('qd_version', function() return " +
        std::to_string(version) +
        " end)\n"
        "redis.register_function('marker', function() return 'fake' end)\n";
    ASSERT_EQ(Text({"FUNCTION", "LOAD", "REPLACE", code}), "qd");
  }

  RedisServer redis_;
  std::unique_ptr<RedisConn> conn_;
};

TEST_F(EnqueueLibraryTest, TheTextRepeatsTheConstants) {
  std::string text = kEnqueueLibrary;
  EXPECT_NE(text.find("local VERSION = " +
                      std::to_string(kEnqueueLibraryVersion) + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("local DEFAULT_UNIQUE_FOR = '" +
                      std::to_string(kDefaultUniqueForMs) + "'\n"),
            std::string::npos);
}

TEST_F(EnqueueLibraryTest, LoadsWhenMissingThenLeavesItAlone) {
  EXPECT_EQ(Text({"FCALL", "qd_version", "0"}), "ERR Function not found");
  auto first = EnqueueLibraryLoader::Ensure(conn_.get());
  EXPECT_EQ(first.result, Result::kLoaded);
  EXPECT_EQ(first.old_version, -1);
  EXPECT_EQ(Text({"FCALL_RO", "qd_version", "0"}),
            std::to_string(kEnqueueLibraryVersion));
  auto second = EnqueueLibraryLoader::Ensure(conn_.get());
  EXPECT_EQ(second.result, Result::kPresent)
      << EnqueueLibraryLoader::Describe(second);
}

TEST_F(EnqueueLibraryTest, ReplacesAnOlderVersion) {
  LoadFake(kEnqueueLibraryVersion - 1);
  auto outcome = EnqueueLibraryLoader::Ensure(conn_.get());
  EXPECT_EQ(outcome.result, Result::kLoaded);
  EXPECT_EQ(outcome.old_version, kEnqueueLibraryVersion - 1);
  EXPECT_EQ(Text({"FCALL", "marker", "0"}), "ERR Function not found");
  EXPECT_TRUE(IsId(Enqueue({"payload", "p"})));
}

TEST_F(EnqueueLibraryTest, KeepsTheSameOrANewerVersion) {
  for (long long version :
       {kEnqueueLibraryVersion, kEnqueueLibraryVersion + 1}) {
    LoadFake(version);
    auto outcome = EnqueueLibraryLoader::Ensure(conn_.get());
    EXPECT_EQ(outcome.result, Result::kPresent) << version;
    EXPECT_EQ(outcome.version, version);
    EXPECT_EQ(Text({"FCALL", "marker", "0"}), "fake") << "not reloaded";
  }
}

TEST_F(EnqueueLibraryTest, AnotherProgramsLibraryCalledQdIsLeftAndReported) {
  ASSERT_EQ(Text({"FUNCTION", "LOAD",
                  "#!lua name=qd\nredis.register_function('theirs', "
                  "function() return 1 end)"}),
            "qd");
  auto outcome = EnqueueLibraryLoader::Ensure(conn_.get());
  EXPECT_EQ(outcome.result, Result::kFailed);
  EXPECT_NE(outcome.why.find("without a qd_version"), std::string::npos)
      << outcome.why;
  EXPECT_EQ(Text({"FCALL", "theirs", "0"}), "1");
}

TEST_F(EnqueueLibraryTest, ASecondJobWithTheKeyIsRefusedInThatQueueOnly) {
  Load();
  std::string id = Enqueue({"payload", "a", "unique_key", "K"});
  ASSERT_TRUE(IsId(id)) << id;
  EXPECT_EQ(Enqueue({"payload", "b", "unique_key", "K"}), "(nil)");
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", kMail}), 1);
  EXPECT_EQ(Text({"GET", kLock}), id) << "the lock names the job's jid";
  long long ttl = RedisInt(redis_.port(), {"PTTL", kLock});
  EXPECT_GT(ttl, kDefaultUniqueForMs - 60000);
  EXPECT_LE(ttl, kDefaultUniqueForMs);
  // Another queue of the site has its own locks.
  EXPECT_TRUE(
      IsId(Enqueue({"payload", "c", "unique_key", "K"}, "qd:{s}:q:other")));
  // The entry carries the key (the worker frees the lock through it), not
  // unique_for.
  std::vector<std::string> fields =
      RedisStrings(redis_.port(), {"XRANGE", kMail, "-", "+"});
  EXPECT_EQ(fields,
            (std::vector<std::string>{id, "payload", "a", "unique_key", "K"}));
}

TEST_F(EnqueueLibraryTest, AGivenJidAndUniqueForGoIntoTheLock) {
  Load();
  ASSERT_TRUE(IsId(Enqueue(
      {"payload", "a", "jid", "J1", "unique_key", "K", "unique_for", "5000"})));
  EXPECT_EQ(Text({"GET", kLock}), "J1");
  long long ttl = RedisInt(redis_.port(), {"PTTL", kLock});
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 5000);
  // A long unique_for arrives whole (Lua would print 1e+14).
  ASSERT_TRUE(IsId(Enqueue(
      {"payload", "a", "unique_key", "L", "unique_for", "999999999999999"})));
  EXPECT_GT(RedisInt(redis_.port(), {"PTTL", "qd:{s}:unique:mail/L"}),
            999999999000000);
}

TEST_F(EnqueueLibraryTest, WithoutUniqueKeyEveryCallEnqueues) {
  Load();
  EXPECT_TRUE(IsId(Enqueue({"payload", "a", "trace", "t"})));
  EXPECT_TRUE(IsId(Enqueue({"payload", "a", "trace", "t"})));
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", kMail}), 2);
}

TEST_F(EnqueueLibraryTest, BadArgumentsAreRefusedWithTheReason) {
  Load();
  struct Case {
    std::vector<std::string> args;  // after FCALL qd_enqueue
    std::string error;
  };
  std::vector<Case> cases = {
      {{"1", kMail, "payload"}, "1 arguments after the key"},
      {{"1", kMail, "payload", "p", "unique_key"}, "3 arguments after the key"},
      {{"1", kMail, "body", "p"}, "no \"payload\" field"},
      {{"1", kMail, "payload", "p", "unique_key", ""}, "unique_key is empty"},
      {{"1", kMail, "payload", "p", "unique_for", "10"},
       "unique_for without unique_key"},
      {{"1", kMail, "payload", "p", "unique_key", "K", "unique_for", "abc"},
       "unique_for \"abc\""},
      {{"1", kMail, "payload", "p", "unique_key", "K", "unique_for", "0"},
       "unique_for \"0\""},
      {{"1", kMail, "payload", "p", "unique_key", "K", "unique_for", "-5"},
       "unique_for \"-5\""},
      {{"1", kMail, "payload", "p", "unique_key", "K", "unique_for", "1.5"},
       "unique_for \"1.5\""},
      {{"1", kMail, "payload", "p", "unique_key", "K", "unique_for",
        "1234567890123456"},
       "unique_for \"1234567890123456\""},
      {{"1", "mail", "payload", "p"}, "is not a queue stream"},
      {{"1", "qd:{s}:dead:mail", "payload", "p"}, "is not a queue stream"},
      {{"2", kMail, "qd:{s}:q:x", "payload", "p"}, "give one key"},
      {{"0", "payload", "p"}, "give one key"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"FCALL", "qd_enqueue"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    ReplyPtr r = Call(args);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->type, REDIS_REPLY_ERROR) << c.error;
    std::string text(r->str, r->len);
    EXPECT_EQ(text.rfind("ERR qd_enqueue: ", 0), 0u) << text;
    EXPECT_NE(text.find(c.error), std::string::npos) << text;
  }
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", kMail}), 0);
  EXPECT_EQ(RedisStrings(redis_.port(), {"KEYS", "*unique*"}).size(), 0u);
}

TEST_F(EnqueueLibraryTest, AStreamKeyOfAnotherTypeLeavesNoLock) {
  Load();
  ASSERT_EQ(Text({"SET", kMail, "x"}), "OK");
  EXPECT_NE(Enqueue({"payload", "p", "unique_key", "K"}).find("WRONGTYPE"),
            std::string::npos);
  EXPECT_EQ(RedisInt(redis_.port(), {"EXISTS", kLock}), 0);
}

TEST_F(EnqueueLibraryTest, ReleaseFreesOnlyTheLockThatNamesTheJob) {
  ASSERT_EQ(Text({"SET", kLock, "newer"}), "OK");
  ASSERT_EQ(Text({"HSET", "qd:{s}:unique:mail/H", "f", "v"}), "1");
  EXPECT_EQ(
      Text({"EVAL", kUniqueReleaseScript, "3", kLock, "qd:{s}:unique:mail/H",
            "qd:{s}:unique:mail/gone", "older", "older", "older"}),
      "0");
  EXPECT_EQ(Text({"GET", kLock}), "newer");
  EXPECT_EQ(RedisInt(redis_.port(), {"EXISTS", "qd:{s}:unique:mail/H"}), 1);
  EXPECT_EQ(Text({"EVAL", kUniqueReleaseScript, "1", kLock, "newer"}), "1");
  EXPECT_EQ(RedisInt(redis_.port(), {"EXISTS", kLock}), 0);
}

// A dead letter's lock goes in the call that moves it, and only then.
TEST_F(EnqueueLibraryTest, TheOutcomeScriptFreesADeadLettersLockOnceMoved) {
  const std::string dead = "qd:{s}:dead:mail";
  ASSERT_EQ(Text({"XGROUP", "CREATE", kMail, "workers", "0", "MKSTREAM"}),
            "OK");
  auto add_pending = [&](const std::string& lock_value) {
    std::string id = Text({"XADD", kMail, "*", "payload", "p"});
    Call({"XREADGROUP", "GROUP", "workers", "c", "STREAMS", kMail, ">"});
    EXPECT_EQ(Text({"SET", kLock, lock_value.empty() ? id : lock_value}), "OK");
    return id;
  };
  auto move = [&](const std::string& id) {
    return RedisStrings(redis_.port(),
                        {"EVAL", kOutcomeScript, "3", kMail, dead, kLock,
                         "workers", "xadd", "1", id, "2", "payload", "p", id});
  };
  // The dead stream refuses (another type): the job and its lock stay.
  ASSERT_EQ(Text({"SET", dead, "x"}), "OK");
  std::string id = add_pending("");
  EXPECT_EQ(move(id).at(0), "0");
  EXPECT_EQ(Text({"GET", kLock}), id);
  // Fixed: moved, and the lock freed with it.
  ASSERT_EQ(Text({"DEL", dead}), "1");
  EXPECT_EQ(move(id).at(0), "1");
  EXPECT_EQ(RedisInt(redis_.port(), {"EXISTS", kLock}), 0);
  // A lock a newer job took is not this job's to free.
  std::string other = add_pending("newer");
  EXPECT_EQ(move(other).at(0), "1");
  EXPECT_EQ(Text({"GET", kLock}), "newer");
}

}  // namespace
}  // namespace qd::test
