#include "core/listen/wire_header.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace qd {
namespace {

using nlohmann::json;

std::string Quoted(std::string_view text) {
  std::string out;
  WireHeader::AppendString(&out, text);
  return out;
}

std::string Dumped(const std::string& text) {
  return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Valid UTF-8 comes out byte for byte as nlohmann's dump() writes it.
TEST(WireHeaderTest, StringsAreEscapedAsDumpEscapesThem) {
  std::vector<std::string> texts = {
      "",
      "plain text",
      "quote \" backslash \\ slash /",
      "\b\f\n\r\t",
      std::string("nul \0 and \x01 \x1f \x7f", 15),  // 15 bytes, the NUL too
      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF",
  };
  for (const std::string& t : texts) {
    EXPECT_EQ(Quoted(t), Dumped(t)) << t;
  }
}

// Bytes that are not UTF-8 (client-chosen: a site, an account, a session
// value) become U+FFFD and the header still parses; the bytes around them
// are kept.
TEST(WireHeaderTest, InvalidUtf8IsReplacedAndStillParses) {
  std::vector<std::string> texts = {
      "a\xFFz",              // never in UTF-8
      "a\xE2\x82z",          // a sequence cut short
      "a\xC0\xAFz",          // overlong
      "a\xED\xA0\x80z",      // a surrogate
      "a\xF4\x90\x80\x80z",  // past U+10FFFF
      "\x80",                // a lone continuation byte
  };
  for (const std::string& t : texts) {
    json parsed = json::parse(Quoted(t), nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << Quoted(t);
    std::string s = parsed.get<std::string>();
    EXPECT_NE(s.find("\xEF\xBF\xBD"), std::string::npos) << s;
    if (t.front() == 'a') {
      EXPECT_EQ(s.front(), 'a');
      EXPECT_EQ(s.back(), 'z');
    }
  }
}

// The request header reads as the object the master used to build with
// nlohmann::json.
TEST(WireHeaderTest, RequestHeaderCarriesIdentityAndState) {
  SessionState state = {{"requests", "7"}, {"who", "al\"ice"}};
  std::string identity = WireHeader::Identity("line:1", "main", "alice");
  json h = json::parse(WireHeader::Request(false, identity, state));
  json want = {{"t", "request"}, {"kind", "request"},  {"conn", "line:1"},
               {"site", "main"}, {"account", "alice"}, {"state", state}};
  EXPECT_EQ(h, want);
  h = json::parse(WireHeader::Request(true, identity, {}));
  EXPECT_EQ(h["kind"], "login");
  EXPECT_FALSE(h.contains("state"));  // an empty state is not sent
}

TEST(WireHeaderTest, ReplyHeaderCarriesStateAndLogin) {
  EXPECT_EQ(json::parse(WireHeader::Reply("", nullptr)),
            json({{"t", "reply"}}));
  std::string state;
  WireHeader::AppendState(&state, {});
  WireLogin login{true, "main", "bob"};
  json h = json::parse(WireHeader::Reply(state, &login));
  // A state emptied by the request is sent, as {}: the master clears its
  // copy.
  EXPECT_EQ(h["state"], json::object());
  WireMessage message{h, ""};
  WireLogin read;
  ASSERT_TRUE(message.Login(&read));
  EXPECT_TRUE(read.ok);
  EXPECT_EQ(read.site, "main");
  EXPECT_EQ(read.account, "bob");
  SessionState back = {{"stale", "1"}};
  EXPECT_TRUE(message.State(&back));
  EXPECT_TRUE(back.empty());
}

}  // namespace
}  // namespace qd
