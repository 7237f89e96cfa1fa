#include "core/queue/delayed_job.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace qd {
namespace {

using Fields = DelayedJob::Fields;

// Encodes, decodes and returns the decoded job (expects success).
DelayedJob RoundTrip(const std::string& queue, const Fields& fields) {
  DelayedJob out;
  Status s = DelayedJob::Decode(DelayedJob::Encode(queue, fields), &out);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

// The error of decoding `member` (expects failure, and *out untouched).
std::string DecodeError(const std::string& member) {
  DelayedJob out;
  out.queue = "untouched";
  Status s = DelayedJob::Decode(member, &out);
  EXPECT_FALSE(s.ok()) << member;
  EXPECT_EQ(out.queue, "untouched") << member;
  return s.ok() ? "" : s.message();
}

TEST(DelayedJobTest, RoundTripKeepsQueueFieldsAndOrder) {
  Fields fields = {{"payload", "{\"to\":\"a@b\"}"},
                   {"jid", "j-1"},
                   {"enqueued_at", "1700000000000"},
                   {"custom", "x"}};
  DelayedJob job = RoundTrip("mail", fields);
  EXPECT_EQ(job.queue, "mail");
  EXPECT_EQ(job.fields, fields);
}

TEST(DelayedJobTest, EncodeWritesQueueFirstAsJsonStrings) {
  std::string member = DelayedJob::Encode("mail", {{"payload", "hi"}});
  EXPECT_EQ(member, R"({"queue":"mail","payload":"hi"})");
}

TEST(DelayedJobTest, Utf8PayloadStaysPlain) {
  std::string text = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80";
  std::string member = DelayedJob::Encode("q", {{"payload", text}});
  auto j = nlohmann::json::parse(member);
  EXPECT_EQ(j["payload"], text);
  EXPECT_FALSE(j.contains("payload_b64"));
  EXPECT_EQ(RoundTrip("q", {{"payload", text}}).fields[0].second, text);
}

TEST(DelayedJobTest, NonUtf8PayloadGoesAsBase64AndComesBack) {
  std::string raw("\x00\x01\xFF\xFEgif\x80", 8);
  std::string member = DelayedJob::Encode("q", {{"payload", raw}});
  auto j = nlohmann::json::parse(member);
  EXPECT_FALSE(j.contains("payload"));
  EXPECT_EQ(j["payload_b64"], Base64Encode(raw));
  DelayedJob job = RoundTrip("q", {{"payload", raw}, {"jid", "7"}});
  ASSERT_EQ(job.fields.size(), 2u);
  EXPECT_EQ(job.fields[0],
            (std::pair<std::string, std::string>("payload", raw)));
  EXPECT_EQ(job.fields[1].second, "7");
}

TEST(DelayedJobTest, EveryByteValueSurvivesInPayload) {
  std::string raw;
  for (int c = 0; c < 256; ++c) raw += static_cast<char>(c);
  EXPECT_EQ(RoundTrip("q", {{"payload", raw}}).fields[0].second, raw);
}

// A retry re-encodes every field of the entry: bytes that are not UTF-8 in
// any of them must come back as they were, not as U+FFFD.
TEST(DelayedJobTest, AnyFieldThatIsNotUtf8GoesAsBase64AndComesBack) {
  Fields fields = {{"payload", "p"}, {"trace", "id \xFE\xFF"}, {"jid", "7"}};
  std::string member = DelayedJob::Encode("q", fields);
  auto j = nlohmann::json::parse(member);
  EXPECT_EQ(j["trace_b64"], Base64Encode("id \xFE\xFF"));
  EXPECT_FALSE(j.contains("trace"));
  EXPECT_EQ(RoundTrip("q", fields).fields, fields);
}

// The promoter decodes every NAME_b64: a field whose own name ends so is
// encoded too, or it would arrive decoded.
TEST(DelayedJobTest, AFieldNamedLikeTheBase64FormIsEncodedToo) {
  Fields fields = {{"payload", "p"}, {"sig_b64", "AAAA"}};
  auto j = nlohmann::json::parse(DelayedJob::Encode("q", fields));
  EXPECT_EQ(j["sig_b64_b64"], Base64Encode("AAAA"));
  EXPECT_EQ(RoundTrip("q", fields).fields, fields);
}

TEST(DelayedJobTest, DecodeAcceptsMembersWrittenByOtherClients) {
  DelayedJob job;
  ASSERT_TRUE(DelayedJob::Decode(
                  R"({"queue":"mail","attempt":3,"payload_b64":"aGk="})", &job)
                  .ok());
  EXPECT_EQ(job.queue, "mail");
  Fields want = {{"attempt", "3"}, {"payload", "hi"}};
  EXPECT_EQ(job.fields, want);
}

TEST(DelayedJobTest, DecodeErrorsSayWhatIsWrong) {
  EXPECT_NE(DecodeError("not json").find("not a JSON object"),
            std::string::npos);
  EXPECT_NE(DecodeError("[1,2]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(DecodeError("").find("not a JSON object"), std::string::npos);
  EXPECT_NE(DecodeError(R"({"payload":"x"})").find("\"queue\""),
            std::string::npos);
  EXPECT_NE(DecodeError(R"({"queue":5,"payload":"x"})").find("\"queue\""),
            std::string::npos);
  EXPECT_NE(
      DecodeError(R"({"queue":"q","payload_b64":"a!b="})").find("payload_b64"),
      std::string::npos);
  EXPECT_NE(DecodeError(R"({"queue":"q","payload":"x","payload_b64":"eA=="})")
                .find("twice"),
            std::string::npos);
}

// RFC 4648, section 10.
TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded) << plain;
    std::string decoded = "junk";
    EXPECT_TRUE(Base64Decode(encoded, &decoded)) << encoded;
    EXPECT_EQ(decoded, plain) << encoded;
  }
}

TEST(Base64Test, UsesTheStandardAlphabet) {
  EXPECT_EQ(Base64Encode("\xFB\xFF"), "+/8=");
  std::string out;
  ASSERT_TRUE(Base64Decode("+/8=", &out));
  EXPECT_EQ(out, "\xFB\xFF");
}

TEST(Base64Test, RejectsCharactersOutsideTheAlphabet) {
  std::string out;
  EXPECT_FALSE(Base64Decode("Zm9v!", &out));
  EXPECT_FALSE(Base64Decode("Zm-9", &out));  // base64url is not accepted
  EXPECT_FALSE(Base64Decode("Zm 9v", &out));
}

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii\n"));
  EXPECT_TRUE(IsValidUtf8(std::string("nul\0inside", 10)));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9"));          // U+00E9
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));      // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));  // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last
}

TEST(Utf8Test, RejectsBrokenSequences) {
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // cut short at the end
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // cut short at the end
  EXPECT_FALSE(IsValidUtf8("\xE2\x82x"));         // not a continuation
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));      // cut short at the end
  EXPECT_FALSE(IsValidUtf8("ok \xC3\xA9 \xE9"));  // Latin-1 after UTF-8
}

// RFC 3629 also forbids overlong forms, surrogates and code points above
// U+10FFFF. JSON encoders (nlohmann's dump included) refuse them, so
// IsValidUtf8 must too, or Encode replaces them with U+FFFD and the payload
// does not come back as it was written.
// DISABLED: core/queue/delayed_job.cc's IsValidUtf8 only checks the byte
// pattern and accepts these; enable both tests with the fix.
TEST(Utf8Test, RejectsWhatRfc3629Forbids) {
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));          // overlong U+0000
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));          // overlong U+007F
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));  // no such lead byte
}

TEST(DelayedJobTest, PayloadsJsonCannotCarrySurviveTheRoundTrip) {
  for (std::string raw : {"\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80"}) {
    EXPECT_EQ(RoundTrip("q", {{"payload", raw}}).fields[0].second, raw);
  }
}

}  // namespace
}  // namespace qd
