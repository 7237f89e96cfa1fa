// Unique jobs end to end (docs/unique-jobs.md): the real daemon and
// queuectl against a real redis-server, jobs enqueued with FCALL
// qd_enqueue as any client would. The testkit handler's "wait:FILE" keeps a
// job running until the test creates FILE, so "while it runs" is a state
// the test controls, not a race.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/queue/enqueue_library.h"
#include "core/redis/redis_conn.h"
#include "daemon_harness.h"
#include "queue_harness.h"

namespace qd::test {
namespace {

constexpr const char* kJobs = "qd:{a}:q:jobs";
constexpr const char* kDelayed = "qd:{a}:delayed";
const std::string kVersion = std::to_string(kEnqueueLibraryVersion);

std::string Lock(const std::string& key) { return "qd:{a}:unique:jobs/" + key; }

// A blocking connection to one server, for FCALL and its nil reply.
class Client {
 public:
  explicit Client(const std::string& url) {
    RedisUrl parsed;
    EXPECT_TRUE(RedisUrl::Parse(url, &parsed).ok());
    EXPECT_TRUE(RedisConn::Open(parsed, &conn_).ok());
  }
  // The reply as text: an entry id, "(nil)", an error's text.
  std::string Call(const std::vector<std::string>& args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    conn_->Append(views);
    ReplyPtr r;
    if (!conn_->Read(&r).ok()) return "(lost)";
    if (r->type == REDIS_REPLY_NIL) return "(nil)";
    if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
    return std::string(r->str, r->len);
  }
  // FCALL qd_enqueue on site a's queue jobs.
  std::string Enqueue(const std::string& payload, const std::string& key,
                      const std::vector<std::string>& more = {}) {
    std::vector<std::string> args = {"FCALL",      "qd_enqueue", "1",
                                     kJobs,        "payload",    payload,
                                     "unique_key", key};
    args.insert(args.end(), more.begin(), more.end());
    return Call(args);
  }

 private:
  std::unique_ptr<RedisConn> conn_;
};

class UniqueJobsTest : public QueueTest {
 protected:
  // A daemon with one worker (so jobs run in order) on site a's queue
  // jobs; waits until the library is loaded.
  std::unique_ptr<Daemon> Start(const std::string& queue_extra = "") {
    auto d =
        std::make_unique<Daemon>(QueueConfig(redis_.url(), 1, queue_extra));
    EXPECT_TRUE(d->WaitForWorkers(1));
    EXPECT_TRUE(WaitFor(
        [&] {
          return client_.Call({"FCALL", "qd_version", "0"}) == kVersion;
        },
        milliseconds(5000)));
    return d;
  }
  // Waits until the testkit record shows `payload` started `runs` times.
  bool WaitForRuns(const Daemon& d, const std::string& payload, int runs = 1) {
    return WaitFor([&] { return ReadRecord(Record(d))[payload] >= runs; },
                   milliseconds(10000));
  }
  bool WaitForNoLock(const std::string& key,
                     milliseconds deadline = milliseconds(10000)) {
    return WaitFor(
        [&] {
          return RedisInt(redis_.port(), {"EXISTS", Lock(key)}) == 0;
        },
        deadline);
  }
  // Whether stream entry `id` is still in the queue (not acked yet).
  // Delivered and not acked yet. (An acked entry stays in the stream until
  // its trim, so XRANGE would not tell.)
  bool Pending(const std::string& id) {
    return !RedisStrings(redis_.port(),
                         {"XPENDING", kJobs, "workers", id, id, "1"})
                .empty();
  }

  RedisServer redis_;
  Client client_{redis_.url()};
  TempDir files_;
};

TEST_F(UniqueJobsTest, ADuplicateIsRefusedUntilTheJobIsDone) {
  auto d = Start();
  const std::string run = "wait:" + files_.File("go");
  std::string id = client_.Enqueue(run, "K");
  ASSERT_NE(id.find('-'), std::string::npos) << id;
  ASSERT_TRUE(WaitForRuns(*d, run));
  // Running: still held, from FCALL and from queuectl alike.
  EXPECT_EQ(client_.Enqueue("second", "K"), "(nil)");
  CtlResult ctl = RunQueuectl(d->dir(), {"-c", d->config_path(), "enqueue", "a",
                                         "jobs", "third", "--unique-key", "K"});
  EXPECT_EQ(ctl.code, 4) << ctl.err;
  EXPECT_NE(ctl.err.find("duplicate: a job with unique_key K is held"),
            std::string::npos)
      << ctl.err;
  EXPECT_EQ(ctl.out, "");
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", kJobs}), 1);
  files_.Write("go", "");
  ASSERT_TRUE(WaitForNoLock("K"));
  EXPECT_FALSE(Pending(id)) << "freed with the ack";
  EXPECT_NE(client_.Enqueue("fourth", "K").find('-'), std::string::npos);
  EXPECT_TRUE(WaitForRuns(*d, "fourth"));
}

TEST_F(UniqueJobsTest, TheLockIsFreedWhenTheJobGoesDead) {
  auto d = Start();
  // Failed by its handler, and out of attempts (max_attempts 3).
  ASSERT_NE(client_.Enqueue("fail", "F").find('-'), std::string::npos);
  ASSERT_NE(client_.Enqueue("throw", "T").find('-'), std::string::npos);
  EXPECT_TRUE(WaitForNoLock("F"));
  EXPECT_TRUE(WaitForNoLock("T"));
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", "qd:{a}:dead:jobs"}), 2);
  EXPECT_EQ(ReadRecord(Record(*d))["throw"], 3);
  EXPECT_NE(client_.Enqueue("again", "F").find('-'), std::string::npos);
}

TEST_F(UniqueJobsTest, UniqueUntilStartFreesTheLockWhenTheHandlerStarts) {
  auto d = Start(", unique_until: start");
  const std::string run = "wait:" + files_.File("go");
  std::string first = client_.Enqueue(run, "K");
  ASSERT_TRUE(WaitForRuns(*d, run));
  ASSERT_TRUE(WaitForNoLock("K", milliseconds(5000)));
  std::string second = client_.Enqueue(run, "K");
  EXPECT_NE(second.find('-'), std::string::npos) << second;
  EXPECT_TRUE(Pending(first)) << "the first job still runs";
  EXPECT_EQ(client_.Enqueue(run, "K"), "(nil)") << "the second holds it";
  files_.Write("go", "");
  EXPECT_TRUE(WaitForRuns(*d, run, 2));
  EXPECT_TRUE(WaitForNoLock("K"));
}

TEST_F(UniqueJobsTest, AnExpiredLockLetsANewJobInWhichAnOlderJobCannotFree) {
  auto d = Start();
  const std::string old_run = "wait:" + files_.File("old");
  const std::string new_run = "wait:" + files_.File("new");
  std::string old_id = client_.Enqueue(old_run, "K", {"unique_for", "300"});
  ASSERT_NE(old_id.find('-'), std::string::npos) << old_id;
  ASSERT_TRUE(WaitForRuns(*d, old_run));
  // unique_for passed while the old job runs: the key is free.
  ASSERT_TRUE(WaitForNoLock("K", milliseconds(5000)));
  std::string new_id = client_.Enqueue(new_run, "K");
  ASSERT_NE(new_id.find('-'), std::string::npos) << new_id;
  // The old job ends; its release must leave the new job's lock.
  files_.Write("old", "");
  ASSERT_TRUE(WaitFor([&] { return !Pending(old_id); }, milliseconds(10000)));
  EXPECT_EQ(client_.Call({"GET", Lock("K")}), new_id);
  EXPECT_EQ(client_.Enqueue("dup", "K"), "(nil)");
  files_.Write("new", "");
  EXPECT_TRUE(WaitForNoLock("K"));
}

TEST_F(UniqueJobsTest, ARetriedJobKeepsItsLockUntilItSucceeds) {
  auto d = Start();
  const std::string run = "retry:1:1500";  // fails once, due 1.5 s later
  std::string id = client_.Enqueue(run, "K");
  ASSERT_NE(id.find('-'), std::string::npos) << id;
  ASSERT_TRUE(WaitFor(
      [&] {
        return RedisInt(redis_.port(), {"ZCARD", kDelayed}) == 1;
      },
      milliseconds(10000)));
  EXPECT_EQ(client_.Enqueue("dup", "K"), "(nil)") << "waiting to retry";
  EXPECT_EQ(client_.Call({"GET", Lock("K")}), id);
  ASSERT_TRUE(WaitForRuns(*d, run, 2));
  EXPECT_TRUE(WaitForNoLock("K")) << "the retry carried the jid the lock holds";
  EXPECT_NE(client_.Enqueue("after", "K").find('-'), std::string::npos);
}

// A drain gives back a fetched job as a copy with a new entry id: the copy
// must carry the old id as its jid, which is what its lock holds.
TEST_F(UniqueJobsTest, AJobGivenBackAtDrainStillFreesItsLock) {
  ASSERT_EQ(client_.Call({"FUNCTION", "LOAD", kEnqueueLibrary}), "qd");
  const std::string run = "wait:" + files_.File("go");
  ASSERT_NE(client_.Call({"XADD", kJobs, "*", "payload", run}).find('-'),
            std::string::npos);
  std::string id = client_.Enqueue("given-back", "K");
  ASSERT_NE(id.find('-'), std::string::npos) << id;
  {
    // One worker fetches both, runs the first; the second waits behind it.
    Daemon d(QueueConfig(redis_.url(), 1));
    ASSERT_TRUE(WaitForRuns(d, run));
    d.Signal(SIGTERM);
    ASSERT_TRUE(d.WaitForLog("draining"));
    files_.Write("go", "");
    EXPECT_EQ(d.WaitExit(), 0);
    ASSERT_EQ(d.LogCount("gave back 1 fetched jobs"), 1u) << d.Log();
  }
  // The newest entry (the acked originals stay until their trim).
  std::vector<std::string> copy =
      RedisStrings(redis_.port(), {"XREVRANGE", kJobs, "+", "-", "COUNT", "1"});
  ASSERT_EQ(copy.size(), 7u);  // id, payload, unique_key, jid
  EXPECT_EQ(copy[5], "jid");
  EXPECT_EQ(copy[6], id);
  EXPECT_EQ(client_.Call({"GET", Lock("K")}), id) << "still held";
  Daemon d(QueueConfig(redis_.url(), 1));
  EXPECT_TRUE(WaitForRuns(d, "given-back"));
  EXPECT_TRUE(WaitForNoLock("K"));
}

// At start on the daemon's server and on a site's own one; again after a
// site's server lost it (FUNCTION FLUSH stands in for a restart without
// persistence) and the workers reconnected.
TEST(UniqueJobsLibraryTest, LoadedAtStartAndAgainAfterTheServerLostIt) {
  RedisServer top;
  RedisServer site;
  Client top_client(top.url());
  Client site_client(site.url());
  Daemon d(
      "daemon:\n  threads: 2\n  run_dir: RUN_DIR/run\n"
      "redis: " +
      top.url() +
      "\n"
      "sites:\n  a:\n    redis: " +
      site.url() +
      "\n"
      "    queues:\n      jobs: { handler: noop }\n");
  ASSERT_TRUE(d.WaitForWorkers(2));
  EXPECT_EQ(top_client.Call({"FCALL", "qd_version", "0"}), kVersion);
  EXPECT_EQ(site_client.Call({"FCALL", "qd_version", "0"}), kVersion);
  // Each worker asks for the version before its first read, which makes
  // it a consumer: once both are, no first check can come after the flush.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<std::string> consumers = RedisStrings(
            site.port(), {"XINFO", "CONSUMERS", "qd:{a}:q:jobs", "workers"});
        return std::count(consumers.begin(), consumers.end(), "name") == 2;
      },
      milliseconds(5000)));
  ASSERT_EQ(site_client.Call({"FUNCTION", "FLUSH"}), "OK");
  ASSERT_EQ(site_client.Call({"FCALL", "qd_version", "0"}),
            "ERR Function not found");
  site_client.Call({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  EXPECT_TRUE(WaitFor(
      [&] {
        return site_client.Call({"FCALL", "qd_version", "0"}) == kVersion;
      },
      milliseconds(10000)));
  // The master's two at start, then one worker's.
  EXPECT_TRUE(
      d.WaitForLog("loaded function library qd version " + kVersion, 3));
}

}  // namespace
}  // namespace qd::test
