#include "core/listen/session_record.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace qd {
namespace {

SessionRecord Sample() {
  SessionRecord r;
  r.listener = "sip";
  r.ok = true;
  r.site = "a";
  r.account = "alice";
  r.state = {{"patron", "123"}, {"lang", "fr"}, {"empty", ""}};
  r.updated_ms = 1700000000000;
  return r;
}

// Sample().Encode() with one top-level field replaced (or added).
std::string With(const std::string& field, nlohmann::json value) {
  nlohmann::json j = nlohmann::json::parse(Sample().Encode());
  j[field] = std::move(value);
  return j.dump();
}

std::string Without(const std::string& field) {
  nlohmann::json j = nlohmann::json::parse(Sample().Encode());
  j.erase(field);
  return j.dump();
}

void ExpectRefused(const std::string& text, const std::string& message) {
  SessionRecord out;
  out.site = "untouched";
  Status s = SessionRecord::Decode(text, &out);
  ASSERT_FALSE(s.ok()) << text;
  EXPECT_EQ(s.message(), message) << text;
  EXPECT_EQ(out.site, "untouched");
}

TEST(SessionRecordTest, EncodeDecodeRoundTrip) {
  SessionRecord in = Sample();
  std::string text = in.Encode();
  EXPECT_EQ(text.rfind("{\"v\":1,\"listener\":\"sip\",\"ok\":true,", 0), 0u)
      << text;
  SessionRecord out;
  ASSERT_TRUE(SessionRecord::Decode(text, &out).ok());
  EXPECT_EQ(out.listener, "sip");
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(out.site, "a");
  EXPECT_EQ(out.account, "alice");
  EXPECT_EQ(out.state, in.state);
  EXPECT_EQ(out.updated_ms, 1700000000000);
}

TEST(SessionRecordTest, EmptyRecordRoundTrips) {
  SessionRecord out = Sample();
  ASSERT_TRUE(SessionRecord::Decode(SessionRecord().Encode(), &out).ok());
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.listener, "");
  EXPECT_TRUE(out.state.empty());
  EXPECT_EQ(out.updated_ms, 0);
}

TEST(SessionRecordTest, UnknownFieldsAreIgnored) {
  SessionRecord out;
  ASSERT_TRUE(SessionRecord::Decode(With("future", {{"x", 1}}), &out).ok());
  EXPECT_EQ(out.account, "alice");
}

TEST(SessionRecordTest, WrongTypesAreRefusedByName) {
  ExpectRefused(With("listener", 5),
                "session record: \"listener\" is not a string");
  ExpectRefused(With("ok", "true"), "session record: \"ok\" is not a boolean");
  ExpectRefused(With("site", nullptr),
                "session record: \"site\" is not a string");
  ExpectRefused(With("account", {1}),
                "session record: \"account\" is not a string");
  ExpectRefused(With("state", "k=v"),
                "session record: \"state\" is not an object");
  ExpectRefused(With("state", {{"k", 1}}),
                "session record: state \"k\" is a number, not a string");
  ExpectRefused(With("state", {{"ok", "v"}, {"k", nullptr}}),
                "session record: state \"k\" is a null, not a string");
  ExpectRefused(With("updated_ms", 1.5),
                "session record: \"updated_ms\" is not a 64-bit integer");
  ExpectRefused(With("updated_ms", "1700000000000"),
                "session record: \"updated_ms\" is not a 64-bit integer");
  ExpectRefused(With("updated_ms", uint64_t{1} << 63),
                "session record: \"updated_ms\" is not a 64-bit integer");
  ExpectRefused(Without("account"), "session record: no \"account\"");
}

TEST(SessionRecordTest, OnlyVersionOneIsRead) {
  ExpectRefused(With("v", 2),
                "session record: version 2 is not supported (expected 1)");
  ExpectRefused(With("v", -1),
                "session record: version -1 is not supported (expected 1)");
  ExpectRefused(With("v", "1"), "session record: \"v\" is not an integer");
  ExpectRefused(With("v", 1.0), "session record: \"v\" is not an integer");
  ExpectRefused(Without("v"), "session record: no \"v\"");
}

TEST(SessionRecordTest, GarbageIsRefused) {
  ExpectRefused("", "session record is not valid JSON");
  ExpectRefused("{\"v\":1,", "session record is not valid JSON");
  ExpectRefused("\xff\xfe", "session record is not valid JSON");
  ExpectRefused("[1]", "session record is a JSON array, not an object");
  ExpectRefused("\"str\"", "session record is a JSON string, not an object");
}

TEST(SessionRecordTest, HostileStateKeyStaysOnOneShortLine) {
  std::string key = "line\nbreak" + std::string(200, 'x');
  SessionRecord out;
  Status s = SessionRecord::Decode(With("state", {{key, 1}}), &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.message();
  EXPECT_LT(s.message().size(), 120u) << s.message();
}

TEST(SessionRecordTest, InvalidUtf8InStateIsReplacedNotThrown) {
  SessionRecord in = Sample();
  in.state = {{"k\xff", "v\xc3"}};
  in.account = "bad\x80";
  std::string text;
  ASSERT_NO_THROW(text = in.Encode());
  SessionRecord out;
  ASSERT_TRUE(SessionRecord::Decode(text, &out).ok()) << text;
  const std::string kReplacement = "\xef\xbf\xbd";  // U+FFFD
  EXPECT_EQ(out.state.at("k" + kReplacement), "v" + kReplacement);
  EXPECT_EQ(out.account, "bad" + kReplacement);
}

TEST(SessionRecordTest, Key) {
  EXPECT_EQ(SessionRecord::Key("qd", "c42"), "qd:{qd}:session:c42");
}

}  // namespace
}  // namespace qd
