// queuectl end to end: the real binary against a real redis-server, checked
// with plain Redis commands (what any other client would see).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/redis/argv_of.h"
#include "daemon_harness.h"

namespace qd::test {
namespace {

using Json = nlohmann::json;

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

// The fields of a stream entry or a flat array reply, as a map.
std::map<std::string, std::string> FieldMap(const redisReply* flat) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < flat->elements; i += 2) {
    out[std::string(flat->element[i]->str, flat->element[i]->len)] =
        std::string(flat->element[i + 1]->str, flat->element[i + 1]->len);
  }
  return out;
}

class QueuectlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("qd.yaml", CtlConfig(redis_.url()));
    timeval tv = {2, 0};
    redis_conn_ = redisConnectWithTimeout("127.0.0.1", redis_.port(), tv);
    ASSERT_TRUE(redis_conn_ != nullptr && redis_conn_->err == 0);
  }
  void TearDown() override {
    if (redis_conn_ != nullptr) redisFree(redis_conn_);
  }

  // Runs queuectl -c qd.yaml ARGS in the temp dir, `input` on stdin.
  CtlResult Ctl(const std::vector<std::string>& args,
                const std::string& input = "", bool with_config = true) {
    std::vector<std::string> all;
    if (with_config) all = {"-c", "qd.yaml"};
    all.insert(all.end(), args.begin(), args.end());
    return RunQueuectl(dir_, all, input);
  }

  Reply Redis(const std::vector<std::string>& args) {
    return Redis(redis_conn_, args);
  }
  static Reply Redis(redisContext* c, const std::vector<std::string>& args) {
    ArgvOf command(args);
    return Reply(static_cast<redisReply*>(redisCommandArgv(
        c, command.argc(), command.argv.data(), command.lens.data())));
  }
  long long Int(const std::vector<std::string>& args) {
    Reply r = Redis(args);
    EXPECT_EQ(r->type, REDIS_REPLY_INTEGER) << args[0];
    return r->integer;
  }
  // The entries of a stream: id -> fields.
  std::vector<std::pair<std::string, std::map<std::string, std::string>>>
  Entries(const std::string& key) {
    Reply r = Redis({"XRANGE", key, "-", "+"});
    std::vector<std::pair<std::string, std::map<std::string, std::string>>> out;
    for (size_t i = 0; i < r->elements; ++i) {
      out.emplace_back(r->element[i]->element[0]->str,
                       FieldMap(r->element[i]->element[1]));
    }
    return out;
  }

  static constexpr const char* kMail = "qd:{default}:q:mail";
  static constexpr const char* kDeadMail = "qd:{default}:dead:mail";
  static constexpr const char* kDelayed = "qd:{default}:delayed";

  RedisServer redis_;
  TempDir dir_;
  redisContext* redis_conn_ = nullptr;
};

TEST_F(QueuectlTest, EnqueueAddsAnEntryWithPayloadAndEnqueuedAt) {
  int64_t before = NowMs();
  CtlResult r = Ctl({"enqueue", "default", "mail", "{\"to\":\"a@b\"}"});
  int64_t after = NowMs();
  ASSERT_EQ(r.code, 0) << r.err;
  auto entries = Entries(kMail);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(r.out, entries[0].first + "\n");
  auto& fields = entries[0].second;
  EXPECT_EQ(fields["payload"], "{\"to\":\"a@b\"}");
  int64_t at = std::atoll(fields["enqueued_at"].c_str());
  EXPECT_GE(at, before);
  EXPECT_LE(at, after);
  EXPECT_EQ(fields.count("jid"), 0u);
  EXPECT_EQ(fields.size(), 2u);
}

TEST_F(QueuectlTest, EnqueueWithJidAddsIt) {
  ASSERT_EQ(Ctl({"enqueue", "default", "mail", "hi", "--jid", "j-42"}).code, 0);
  auto entries = Entries(kMail);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].second["jid"], "j-42");
}

TEST_F(QueuectlTest, EnqueueReadsStdinByteForByte) {
  std::string payload("bin\0\xFF\x01 and a newline\n", 21);
  ASSERT_EQ(Ctl({"enqueue", "default", "mail", "-"}, payload).code, 0);
  ASSERT_EQ(Ctl({"enqueue", "default", "mail"}, "no dash").code, 0);
  auto entries = Entries(kMail);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].second["payload"], payload);
  EXPECT_EQ(entries[1].second["payload"], "no dash");
}

TEST_F(QueuectlTest, DelayedEnqueueAddsAMemberDueLater) {
  int64_t now = NowMs();
  CtlResult r =
      Ctl({"enqueue", "default", "mail", "--delay", "30s", "later \xFF"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Int({"XLEN", kMail}), 0);
  Reply z = Redis({"ZRANGE", kDelayed, "0", "-1", "WITHSCORES"});
  ASSERT_EQ(z->elements, 2u);
  double score = std::atof(z->element[1]->str);
  EXPECT_GE(score, now + 30000 - 1000);
  EXPECT_LE(score, now + 30000 + 1000);
  // What DelayedJob::Decode and the promoter accept: an object with a
  // "queue" string; a payload that is not UTF-8 as payload_b64.
  Json member = Json::parse(z->element[0]->str);
  EXPECT_EQ(member["queue"], "mail");
  EXPECT_EQ(member["payload_b64"], "bGF0ZXIg/w==");
  EXPECT_EQ(r.out, member["jid"].get<std::string>() + "\n");
  // Two identical delayed jobs are two members (each has its own jid).
  ASSERT_EQ(Ctl({"enqueue", "default", "mail", "--delay", "30s", "x"}).code, 0);
  ASSERT_EQ(Ctl({"enqueue", "default", "mail", "--delay", "30s", "x"}).code, 0);
  EXPECT_EQ(Int({"ZCARD", kDelayed}), 3);
}

TEST_F(QueuectlTest, BulkEnqueuesOneJobPerLine) {
  std::string input;
  for (int i = 0; i < 10000; ++i) input += "job " + std::to_string(i) + "\n";
  input += "\n";  // empty lines are skipped
  CtlResult r = Ctl({"enqueue", "default", "mail", "--bulk", "--stats"}, input);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "10000\n");
  EXPECT_NE(r.err.find("jobs/s"), std::string::npos) << r.err;
  EXPECT_EQ(Int({"XLEN", kMail}), 10000);
  Reply first = Redis({"XRANGE", kMail, "-", "+", "COUNT", "1"});
  Reply last = Redis({"XREVRANGE", kMail, "+", "-", "COUNT", "1"});
  EXPECT_EQ(FieldMap(first->element[0]->element[1])["payload"], "job 0");
  EXPECT_EQ(FieldMap(last->element[0]->element[1])["payload"], "job 9999");
}

TEST_F(QueuectlTest, BulkWithDelayAddsDistinctMembers) {
  std::string input;
  for (int i = 0; i < 100; ++i) input += "same\r\n";
  CtlResult r =
      Ctl({"enqueue", "default", "mail", "--bulk", "--delay", "1m"}, input);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Int({"ZCARD", kDelayed}), 100);
  Reply z = Redis({"ZRANGE", kDelayed, "0", "0"});
  EXPECT_EQ(Json::parse(z->element[0]->str)["payload"], "same");
}

TEST_F(QueuectlTest, StatsCountsReadyPendingDelayedAndDead) {
  Redis({"XGROUP", "CREATE", kMail, "workers", "$", "MKSTREAM"});
  for (int i = 0; i < 5; ++i) Redis({"XADD", kMail, "*", "payload", "p"});
  Reply read = Redis({"XREADGROUP", "GROUP", "workers", "c1", "COUNT", "2",
                      "STREAMS", kMail, ">"});
  ASSERT_EQ(read->type, REDIS_REPLY_ARRAY);
  Redis({"ZADD", kDelayed, "1", "{\"queue\":\"mail\",\"payload\":\"a\"}"});
  Redis({"ZADD", kDelayed, "2", "{\"queue\":\"noop\",\"payload\":\"b\"}"});
  Redis({"XADD", kDeadMail, "*", "payload", "d", "error", "boom"});
  Redis({"XADD", "xx:{other}:q:q1", "*", "payload", "o"});  // no group yet

  CtlResult r = Ctl({"stats", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  Json mail = j["sites"]["default"]["queues"]["mail"];
  EXPECT_EQ(mail["ready"], 3);
  EXPECT_EQ(mail["pending"], 2);
  EXPECT_EQ(mail["dead"], 1);
  EXPECT_EQ(j["sites"]["default"]["delayed"], 2);
  Json noop = j["sites"]["default"]["queues"]["noop"];
  EXPECT_EQ(noop, Json({{"ready", 0}, {"pending", 0}, {"dead", 0}}));
  EXPECT_EQ(j["sites"]["other"]["queues"]["q1"]["ready"], 1);
  EXPECT_EQ(j["sites"]["other"]["delayed"], 0);

  r = Ctl({"stats"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("READY"), std::string::npos) << r.out;
  std::istringstream lines(r.out);
  std::string line;
  bool found = false;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
    if (w.size() == 6 && w[0] == "default" && w[1] == "mail") {
      EXPECT_EQ(
          w, (std::vector<std::string>{"default", "mail", "3", "2", "-", "1"}));
      found = true;
    }
  }
  EXPECT_TRUE(found) << r.out;
}

// The words of each line of `text` that has `word` among them.
std::vector<std::vector<std::string>> LinesWith(const std::string& text,
                                                const std::string& word) {
  std::vector<std::vector<std::string>> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
    if (std::find(w.begin(), w.end(), word) != w.end()) out.push_back(w);
  }
  return out;
}

// A stream under a site's queue keys that no configured queue serves is
// listed with its length; the served queues' streams, the dead streams and
// the site's other keys are not.
TEST_F(QueuectlTest, StatsListsStreamsNoQueueServes) {
  Redis({"XADD", "qd:{default}:q:nosuch", "*", "payload", "a"});
  Redis({"XADD", "qd:{default}:q:nosuch", "*", "payload", "b"});
  Redis({"XADD", "xx:{other}:q:stray", "*", "payload", "o"});
  // Not to be listed:
  Redis({"XADD", kMail, "*", "payload", "m"});
  Redis({"XADD", "qd:{default}:dead:nosuch", "*", "payload", "d"});
  Redis({"XADD", "qd:{default}:dead:_malformed", "*", "payload", "d"});
  Redis({"ZADD", kDelayed, "1", "{\"queue\":\"nosuch\",\"payload\":\"x\"}"});
  Redis({"ZADD", "qd:{default}:xmpp:confirm", "1", "x"});
  Redis({"SET", "qd:{default}:q:notastream", "x"});
  Redis({"XADD", "qd:{other}:q:elsewhere", "*", "payload", "o"});  // prefix xx

  CtlResult r = Ctl({"stats"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.back(), '\n') << r.out;
  auto unserved = LinesWith(r.out, "served");
  EXPECT_EQ(unserved,
            (std::vector<std::vector<std::string>>{
                {"default", "nosuch", "2", "-", "-", "-", "not", "served"},
                {"other", "stray", "1", "-", "-", "-", "not", "served"}}))
      << r.out;
  for (const char* hidden : {"_malformed", "notastream", "elsewhere"}) {
    EXPECT_EQ(r.out.find(hidden), std::string::npos) << hidden << r.out;
  }

  r = Ctl({"stats", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["sites"]["default"]["unserved"],
            Json::parse(R"([{"stream": "qd:{default}:q:nosuch",
                             "queue": "nosuch", "length": 2}])"));
  EXPECT_EQ(j["sites"]["other"]["unserved"][0]["stream"], "xx:{other}:q:stray");
  EXPECT_EQ(j["sites"]["default"]["queues"]["mail"]["ready"], 1);
}

// The daemon acks with XACK + XDEL; once the last delivered entry is
// deleted Redis 7 reports no "lag", and ready comes from XLEN - pending.
TEST_F(QueuectlTest, StatsReadyStaysRightAfterAckedEntriesAreDeleted) {
  Redis({"XGROUP", "CREATE", kMail, "workers", "$", "MKSTREAM"});
  for (int i = 1; i <= 5; ++i) {
    Redis({"XADD", kMail, std::to_string(i) + "-0", "payload", "p"});
  }
  Redis({"XREADGROUP", "GROUP", "workers", "c1", "COUNT", "3", "STREAMS", kMail,
         ">"});
  Redis({"XACK", kMail, "workers", "3-0"});
  Redis({"XDEL", kMail, "3-0"});
  CtlResult r = Ctl({"stats", "default", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json mail = Json::parse(r.out)["sites"]["default"]["queues"]["mail"];
  EXPECT_EQ(mail["ready"], 2);
  EXPECT_EQ(mail["pending"], 2);
  EXPECT_FALSE(Json::parse(r.out)["sites"].contains("other"));
}

TEST_F(QueuectlTest, DeadListShowsEntriesOldestFirst) {
  Redis({"XADD", kDeadMail, "1000-0", "payload", "first", "error", "boom",
         "failed_at", "1700000000000", "attempts", "10"});
  Redis({"XADD", kDeadMail, "2000-0", "payload", "raw \xFF", "error", "bad"});
  CtlResult r = Ctl({"dead", "list", "default", "mail", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["total"], 2);
  ASSERT_EQ(j["entries"].size(), 2u);
  EXPECT_EQ(j["entries"][0]["id"], "1000-0");
  EXPECT_EQ(j["entries"][0]["fields"]["payload"], "first");
  EXPECT_EQ(j["entries"][0]["fields"]["error"], "boom");
  EXPECT_EQ(j["entries"][1]["fields"]["payload_b64"], "cmF3IP8=");

  r = Ctl({"dead", "list", "default", "mail", "--count", "1", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["entries"].size(), 1u);

  r = Ctl({"dead", "list", "default", "mail"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1000-0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2023-11-14T22:13:20Z"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("raw \\xff"), std::string::npos) << r.out;
}

// The promoter's refusals: listed and purged like a queue's dead entries;
// not retried (they name no queue of the site).
TEST_F(QueuectlTest, DeadListAndPurgeWorkForTheMalformedStream) {
  const char* key = "qd:{default}:dead:_malformed";
  Redis({"XADD", key, "1000-0", "payload", R"({"queue":"nope"})", "error",
         R"(queue "nope" is not a queue of this site)"});
  CtlResult r = Ctl({"dead", "list", "default", "_malformed", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["total"], 1);
  EXPECT_EQ(j["entries"][0]["fields"]["error"],
            R"(queue "nope" is not a queue of this site)");
  r = Ctl({"dead", "retry", "default", "_malformed", "--all"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("ZADD it again"), std::string::npos) << r.err;
  EXPECT_EQ(Int({"XLEN", key}), 1);
  r = Ctl({"dead", "purge", "default", "_malformed", "--all"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Int({"XLEN", key}), 0);
  EXPECT_NE(Ctl({"dead", "list", "default", "nope"}).code, 0)
      << "other names are still checked";
}

TEST_F(QueuectlTest, DeadRetryMovesEntriesBackWithAttemptReset) {
  Redis({"XADD", kDeadMail,      "1000-0", "payload",     "p1", "jid",
         "j1",   "attempt",      "9",      "enqueued_at", "1",  "custom",
         "kept", "error",        "boom",   "failed_at",   "5",  "attempts",
         "10",   "origin_queue", "mail",   "origin_id",   "7-0"});
  Redis({"XADD", kDeadMail, "2000-0", "payload", "p2", "origin_id", "8-0"});
  Redis({"XADD", kDeadMail, "3000-0", "payload", "p3"});
  int64_t before = NowMs();
  CtlResult r = Ctl({"dead", "retry", "default", "mail", "1000-0", "2000-0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "retried 2\n");
  auto entries = Entries(kMail);
  ASSERT_EQ(entries.size(), 2u);
  std::map<std::string, std::string> want = {
      {"payload", "p1"}, {"jid", "j1"}, {"attempt", "0"}, {"custom", "kept"}};
  auto got = entries[0].second;
  EXPECT_GE(std::atoll(got["enqueued_at"].c_str()), before);
  got.erase("enqueued_at");
  EXPECT_EQ(got, want);
  EXPECT_EQ(entries[1].second["jid"], "8-0");  // the id the daemon used
  EXPECT_EQ(Int({"XLEN", kDeadMail}), 1);

  r = Ctl({"dead", "retry", "default", "mail", "3000-0", "9-9"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("9-9"), std::string::npos) << r.err;
  EXPECT_EQ(Int({"XLEN", kMail}), 3);
  EXPECT_EQ(Int({"XLEN", kDeadMail}), 0);
}

TEST_F(QueuectlTest, DeadRetryAllMovesEveryEntry) {
  for (int i = 0; i < 250; ++i) {
    Redis({"XADD", kDeadMail, "*", "payload", "p" + std::to_string(i)});
  }
  CtlResult r = Ctl({"dead", "retry", "default", "mail", "--all"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "retried 250\n");
  EXPECT_EQ(Int({"XLEN", kDeadMail}), 0);
  auto entries = Entries(kMail);
  ASSERT_EQ(entries.size(), 250u);
  EXPECT_EQ(entries[0].second["payload"], "p0");
  EXPECT_EQ(entries[249].second["payload"], "p249");
}

TEST_F(QueuectlTest, DeadPurgeByAgeOrAll) {
  Redis({"XADD", kDeadMail, "1000-0", "payload", "old"});
  Redis({"XADD", kDeadMail, "*", "payload", "new"});
  CtlResult r = Ctl({"dead", "purge", "default", "mail", "--older-than", "1h"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "purged 1\n");
  auto entries = Entries(kDeadMail);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].second["payload"], "new");
  r = Ctl({"dead", "purge", "default", "mail", "--all"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "purged 1\n");
  EXPECT_EQ(Int({"XLEN", kDeadMail}), 0);
}

TEST_F(QueuectlTest, UnknownSiteOrQueueExits2NamingIt) {
  CtlResult r = Ctl({"enqueue", "nosuch", "mail", "x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'nosuch'"), std::string::npos) << r.err;
  r = Ctl({"enqueue", "default", "nosuchq", "x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'nosuchq'"), std::string::npos) << r.err;
  EXPECT_EQ(Ctl({"stats", "nosuch"}).code, 2);
  EXPECT_EQ(Ctl({"dead", "list", "nosuch", "mail"}).code, 2);
  EXPECT_EQ(Ctl({"dead", "retry", "default", "nosuchq", "--all"}).code, 2);
  EXPECT_EQ(Int({"XLEN", "qd:{default}:q:nosuchq"}), 0);

  r = Ctl({"enqueue", "default", "adhoc", "x", "--any-queue"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Int({"XLEN", "qd:{default}:q:adhoc"}), 1);
}

TEST_F(QueuectlTest, UsageErrorsExit2) {
  EXPECT_EQ(Ctl({"enqueue", "default", "mail", "x", "--delay", "soon"}).code,
            2);
  EXPECT_EQ(Ctl({"enqueue", "default", "mail", "x", "--bulk"}).code, 2);
  EXPECT_EQ(Ctl({"enqueue", "default", "mail", "--bulk", "--jid", "j"}).code,
            2);
  EXPECT_EQ(Ctl({"dead", "retry", "default", "mail"}).code, 2);
  EXPECT_EQ(Ctl({"dead", "retry", "default", "mail", "x-y"}).code, 2);
  EXPECT_EQ(Ctl({"dead", "purge", "default", "mail"}).code, 2);
  EXPECT_EQ(Ctl({"stats", "--no-such-option"}).code, 2);
  EXPECT_EQ(Ctl({}).code, 2);
  dir_.Write("bad.yaml", "daemon: { threads: many }\n");
  EXPECT_EQ(Ctl({"-c", "bad.yaml", "stats"}, "", false).code, 2);
  EXPECT_EQ(Ctl({"--help"}).code, 0);
}

TEST_F(QueuectlTest, RedisDownExits1NamingTheServer) {
  int port = FreePort();
  std::string url = "redis://127.0.0.1:" + std::to_string(port);
  CtlResult r = Ctl({"--redis", url, "enqueue", "default", "mail", "x"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << r.err;
  r = Ctl({"--redis", url, "stats", "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(Json::parse(r.out)["sites"]["default"].contains("error"));
}

TEST_F(QueuectlTest, SiteWithItsOwnRedisUsesItAndDbIsSelected) {
  RedisServer own;
  dir_.Write("qd.yaml", CtlConfig(redis_.url() + "/3", own.url()));
  ASSERT_EQ(Ctl({"enqueue", "other", "q1", "to own"}).code, 0);
  ASSERT_EQ(Ctl({"enqueue", "default", "mail", "to db 3"}).code, 0);
  EXPECT_EQ(RedisCommand("127.0.0.1", own.port(), "XLEN xx:{other}:q:q1"), "1");
  EXPECT_EQ(Int({"XLEN", "xx:{other}:q:q1"}), 0);
  EXPECT_EQ(Int({"XLEN", kMail}), 0);  // db 0
  Redis({"SELECT", "3"});
  EXPECT_EQ(Int({"XLEN", kMail}), 1);
  // --redis replaces the daemon's redis, not a site's own.
  ASSERT_EQ(Ctl({"--redis", redis_.url(), "enqueue", "other", "q1", "x"}).code,
            0);
  EXPECT_EQ(RedisCommand("127.0.0.1", own.port(), "XLEN xx:{other}:q:q1"), "2");
}

// "embedded": the daemon's server on <run_dir>/redis/redis.sock, run_dir
// relative to the current directory.
TEST_F(QueuectlTest, EmbeddedMeansTheSocketInRunDir) {
  std::string redis_dir = dir_.File("run/redis");
  ASSERT_EQ(std::system(("mkdir -p " + ShellQuote(redis_dir)).c_str()), 0);
  std::string socket = redis_dir + "/redis.sock";
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    dup2(fd, 2);
    execlp("redis-server", "redis-server", "--port", "0", "--unixsocket",
           socket.c_str(), "--save", "", "--appendonly", "no", "--dir",
           redis_dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_TRUE(WaitFor([&] { return RedisCommand(socket, 0, "PING") == "PONG"; },
                      milliseconds(5000)));
  dir_.Write("qd.yaml", CtlConfig("embedded"));
  CtlResult r = Ctl({"enqueue", "default", "mail", "via socket"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(RedisCommand(socket, 0, "XLEN qd:{default}:q:mail"), "1");
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

TEST_F(QueuectlTest, StatusStillReportsADaemonThatIsNotRunning) {
  CtlResult r = Ctl({"status"});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.out.find("not running"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace qd::test
