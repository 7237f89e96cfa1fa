#include "core/monitor/http_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qd {
namespace {

int Parse(const std::vector<std::string>& lines, HttpRequest* out) {
  return ParseRequestHead(lines, out);
}

TEST(HttpRequestTest, ParsesTheLineAndHeaders) {
  HttpRequest r;
  ASSERT_EQ(
      Parse({"GET /status?verbose=1 HTTP/1.1", "Host: x", "X-Pad:  spaced \t"},
            &r),
      0);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/status?verbose=1");
  EXPECT_EQ(r.path, "/status");
  EXPECT_EQ(r.query, "verbose=1");
  EXPECT_EQ(r.minor_version, 1);
  ASSERT_NE(r.Header("x-pad"), nullptr);
  EXPECT_EQ(*r.Header("x-pad"), "spaced");
  EXPECT_TRUE(r.keep_alive);
  EXPECT_EQ(r.content_length, 0u);
}

TEST(HttpRequestTest, KeepAliveFollowsVersionAndConnection) {
  HttpRequest a, b, c;
  ASSERT_EQ(Parse({"GET / HTTP/1.0"}, &a), 0);
  EXPECT_FALSE(a.keep_alive);
  ASSERT_EQ(Parse({"GET / HTTP/1.0", "Connection: Keep-Alive"}, &b), 0);
  EXPECT_TRUE(b.keep_alive);
  ASSERT_EQ(Parse({"GET / HTTP/1.1", "Connection: foo, close"}, &c), 0);
  EXPECT_FALSE(c.keep_alive);
}

TEST(HttpRequestTest, AbsoluteFormKeepsThePath) {
  HttpRequest r;
  ASSERT_EQ(Parse({"GET http://127.0.0.1:9187/metrics?x HTTP/1.1"}, &r), 0);
  EXPECT_EQ(r.path, "/metrics");
  EXPECT_EQ(r.query, "x");
}

TEST(HttpRequestTest, ReadsContentLengthAndExpect) {
  HttpRequest r;
  ASSERT_EQ(Parse({"POST /a HTTP/1.1", "Content-Length: 12",
                   "Content-Length: 12", "Expect: 100-continue"},
                  &r),
            0);
  EXPECT_EQ(r.content_length, 12u);
  EXPECT_TRUE(r.expect_continue);
}

TEST(HttpRequestTest, RefusesWhatCouldMeanTwoThings) {
  const std::vector<std::vector<std::string>> bad = {
      {"GET /"},                                  // no version
      {"GET  / HTTP/1.1"},                        // two spaces
      {"GET / HTTP/1.1", "Bad Name: x"},          // blank in a name
      {"GET / HTTP/1.1", " folded"},              // obsolete folding
      {"GET / HTTP/1.1", "NoColon"},              // not a header
      {"POST / HTTP/1.1", "Content-Length: -1"},  // not digits
      {"POST / HTTP/1.1", "Content-Length: 1", "Content-Length: 2"},
      {"G(T / HTTP/1.1"},  // not a token
  };
  for (const auto& lines : bad) {
    HttpRequest r;
    EXPECT_EQ(Parse(lines, &r), 400) << lines.back();
  }
  HttpRequest chunked, two;
  EXPECT_EQ(Parse({"POST / HTTP/1.1", "Transfer-Encoding: chunked"}, &chunked),
            501);
  EXPECT_EQ(Parse({"GET / HTTP/2.0"}, &two), 505);
}

}  // namespace
}  // namespace qd
