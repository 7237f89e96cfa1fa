#include "core/queue/unserved_scan.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "test/core/redis/resp_text.h"

namespace qd {
namespace {

using Clock = UnservedScan::Clock;

using test::Resp;

std::string Bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

// SCAN's reply: the next cursor and the keys of this call.
std::string ScanReply(const std::string& cursor,
                      const std::vector<std::string>& keys) {
  std::string text = "*2\r\n" + Bulk(cursor);
  text += "*" + std::to_string(keys.size()) + "\r\n";
  for (const auto& k : keys) text += Bulk(k);
  return text;
}

SiteConfig Site() {
  SiteConfig site;
  site.name = "default";
  site.queues["mail"] = QueueConfig();
  site.queues["a:b"] = QueueConfig();
  return site;
}

TEST(UnservedScanTest, OnlyQueueStreamsOfNoConfiguredQueueAreUnserved) {
  SiteConfig site = Site();
  std::string queue;
  EXPECT_TRUE(UnservedScan::IsUnserved(site, "qd:{default}:q:nosuch", &queue));
  EXPECT_EQ(queue, "nosuch");
  // A queue name may hold ':'; "a" is not configured, "a:b" is.
  EXPECT_TRUE(UnservedScan::IsUnserved(site, "qd:{default}:q:a"));
  EXPECT_TRUE(UnservedScan::IsUnserved(site, "qd:{default}:q:a:b:c"));
  for (const char* served : {
           "qd:{default}:q:mail",           // configured
           "qd:{default}:q:a:b",            // configured
           "qd:{default}:q:",               // no queue name
           "qd:{default}:dead:nosuch",      // a dead-letter stream
           "qd:{default}:dead:_malformed",  // the promoter's refusals
           "qd:{default}:delayed",          // the delayed set
           "qd:{default}:xmpp:confirm",     // the XMPP confirmations
           "qd:{other}:q:nosuch",           // another site
           "xx:{default}:q:nosuch",         // another prefix
           "qd:{qd}:session:1:2:sip:3",     // a listener's session
           "qd:{qd}:daemon:host:generic",   // a daemon's hash
           "qd:{default}:qq:nosuch",        // not under q:
           "QD:{default}:q:nosuch",         // keys are case-sensitive
       }) {
    EXPECT_FALSE(UnservedScan::IsUnserved(site, served)) << served;
  }
}

TEST(UnservedScanTest, PatternMatchesTheSiteQueueStreams) {
  SiteConfig site = Site();
  EXPECT_EQ(UnservedScan::Pattern(site), "qd:{default}:q:*");
  site.prefix = "x*y";  // not a valid prefix; escaped all the same
  site.name = "s[1]";
  EXPECT_EQ(UnservedScan::Pattern(site), "x\\*y:{s\\[1\\]}:q:*");
}

TEST(UnservedScanTest, FollowsTheCursorAndKeepsUnservedKeysOnce) {
  Clock::time_point now = Clock::now();
  UnservedScan scan(Site(), now);
  EXPECT_EQ(scan.Command(),
            (std::vector<std::string>{"SCAN", "0", "MATCH", "qd:{default}:q:*",
                                      "COUNT", "1000", "TYPE", "stream"}));
  auto r = Resp(ScanReply("17", {"qd:{default}:q:nosuch", "qd:{default}:q:mail",
                                 "qd:{default}:dead:mail"}));
  ASSERT_TRUE(scan.Take(r.get(), now).ok());
  ASSERT_FALSE(scan.done());
  EXPECT_EQ(scan.Command()[1], "17");
  // SCAN may return a key again.
  r = Resp(ScanReply("0", {"qd:{default}:q:nosuch", "qd:{default}:q:x"}));
  ASSERT_TRUE(scan.Take(r.get(), now).ok());
  EXPECT_TRUE(scan.done());
  EXPECT_EQ(scan.cut_short(), "");
  EXPECT_EQ(scan.keys(), (std::set<std::string>{"qd:{default}:q:nosuch",
                                                "qd:{default}:q:x"}));
  EXPECT_EQ(scan.QueueOf("qd:{default}:q:x"), "x");
  EXPECT_FALSE(scan.more());
}

TEST(UnservedScanTest, KeepsAtMostMaxStreams) {
  Clock::time_point now = Clock::now();
  UnservedScan scan(Site(), now);
  std::vector<std::string> keys;
  for (size_t i = 0; i < UnservedScan::kMaxStreams + 5; ++i) {
    keys.push_back("qd:{default}:q:n" + std::to_string(i));
  }
  auto r = Resp(ScanReply("0", keys));
  ASSERT_TRUE(scan.Take(r.get(), now).ok());
  EXPECT_EQ(scan.keys().size(), UnservedScan::kMaxStreams);
  EXPECT_TRUE(scan.more());
}

TEST(UnservedScanTest, StopsAtTheDeadline) {
  Clock::time_point now = Clock::now();
  UnservedScan scan(Site(), now);
  auto r = Resp(ScanReply("5", {"qd:{default}:q:late"}));
  ASSERT_TRUE(scan.Take(r.get(), now + UnservedScan::kDeadline).ok());
  EXPECT_TRUE(scan.done());
  EXPECT_EQ(scan.cut_short(), "stopped after 10s");
  EXPECT_EQ(scan.keys().size(), 1u);
}

TEST(UnservedScanTest, StopsAfterMaxCalls) {
  Clock::time_point now = Clock::now();
  UnservedScan scan(Site(), now);
  auto r = Resp(ScanReply("5", {}));
  int calls = 0;
  while (!scan.done() && calls < UnservedScan::kMaxCalls + 10) {
    ASSERT_TRUE(scan.Take(r.get(), now).ok());
    ++calls;
  }
  EXPECT_EQ(calls, UnservedScan::kMaxCalls);
  EXPECT_EQ(scan.cut_short(), "stopped after 1000 SCAN calls");
}

TEST(UnservedScanTest, ErrorsAndOddRepliesEndTheScan) {
  Clock::time_point now = Clock::now();
  for (const char* text : {"-ERR syntax error\r\n", "*1\r\n$1\r\n0\r\n",
                           ":3\r\n", "*2\r\n$1\r\n0\r\n$1\r\nx\r\n"}) {
    UnservedScan scan(Site(), now);
    auto r = Resp(text);
    Status s = scan.Take(r.get(), now);
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_TRUE(scan.done()) << text;
  }
  UnservedScan scan(Site(), now);
  EXPECT_EQ(scan.Take(nullptr, now).message(), "connection lost");
  EXPECT_TRUE(scan.done());
}

}  // namespace
}  // namespace qd
