#include "core/xmpp/sasl_scram.h"

#include <gtest/gtest.h>

#include <string>

namespace qd {
namespace {

// RFC 5802 section 5.
constexpr char kUser[] = "user";
constexpr char kPassword[] = "pencil";
constexpr char kNonce[] = "fyko+d2lbbFgONRv9qkxdawL";
constexpr char kServerFirst[] =
    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
constexpr char kClientFinal[] =
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
    "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
constexpr char kServerFinal[] = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";

class ScramSha1ClientTest : public ::testing::Test {
 protected:
  // Runs the exchange up to the server-first message.
  Status UpToServerFirst(std::string_view server_first) {
    EXPECT_EQ(client_.ClientFirst(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    return client_.ServerFirst(server_first, &client_final_);
  }
  // A server-first error must name the problem and never the password.
  void ExpectRefused(std::string_view server_first, std::string_view why) {
    Status s = UpToServerFirst(server_first);
    ASSERT_FALSE(s.ok()) << server_first;
    EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find(kPassword), std::string::npos) << s.message();
  }

  ScramSha1Client client_{kUser, kPassword, kNonce};
  std::string client_final_;
};

TEST_F(ScramSha1ClientTest, Rfc5802Example) {
  ASSERT_TRUE(UpToServerFirst(kServerFirst).ok());
  EXPECT_EQ(client_final_, kClientFinal);
  EXPECT_FALSE(client_.done());
  Status s = client_.ServerFinal(kServerFinal);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(client_.done());
}

TEST_F(ScramSha1ClientTest, ExtensionsAfterKnownAttributesAreAccepted) {
  ASSERT_TRUE(UpToServerFirst(std::string(kServerFirst) + ",x=future").ok());
  // The whole server-first message is signed, extension included.
  EXPECT_EQ(client_final_.rfind(
                "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=", 0),
            0u);
  EXPECT_NE(client_final_, kClientFinal);
}

TEST_F(ScramSha1ClientTest, WrongServerSignatureRefused) {
  ASSERT_TRUE(UpToServerFirst(kServerFirst).ok());
  Status s = client_.ServerFinal("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("signature does not match"), std::string::npos);
  EXPECT_FALSE(client_.done());
  // A failed exchange stays failed.
  EXPECT_FALSE(client_.ServerFinal(kServerFinal).ok());
}

TEST_F(ScramSha1ClientTest, TruncatedServerSignatureRefused) {
  ASSERT_TRUE(UpToServerFirst(kServerFirst).ok());
  EXPECT_FALSE(client_.ServerFinal("v=rmF9pqV8S7suAoZW").ok());
  EXPECT_FALSE(client_.done());
}

TEST_F(ScramSha1ClientTest, ServerErrorReported) {
  ASSERT_TRUE(UpToServerFirst(kServerFirst).ok());
  Status s = client_.ServerFinal("e=invalid-proof");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "server refused SCRAM authentication: invalid-proof");
}

TEST_F(ScramSha1ClientTest, BadServerFinalRefused) {
  ASSERT_TRUE(UpToServerFirst(kServerFirst).ok());
  EXPECT_FALSE(client_.ServerFinal("").ok());
}

TEST_F(ScramSha1ClientTest, NonceNotExtendingOursRefused) {
  ExpectRefused(
      "r=XXXX+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,"
      "i=4096",
      "nonce");
}

TEST_F(ScramSha1ClientTest, NonceEqualToOursRefused) {
  // The server must add its own part.
  ExpectRefused("r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",
                "nonce");
}

TEST_F(ScramSha1ClientTest, BadSaltRefused) {
  ExpectRefused("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf9,i=4096",
                "salt");
  ScramSha1Client other(kUser, kPassword, kNonce);
  other.ClientFirst();
  EXPECT_FALSE(other
                   .ServerFirst("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=,i=4096",
                                &client_final_)
                   .ok());
}

TEST_F(ScramSha1ClientTest, IterationCountOutOfBoundsRefused) {
  for (const char* count :
       {"0", "-1", "1000001", "99999999999999999999", "4096x", "", "+4096"}) {
    ScramSha1Client client(kUser, kPassword, kNonce);
    client.ClientFirst();
    std::string message =
        std::string("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=") +
        count;
    Status s = client.ServerFirst(message, &client_final_);
    ASSERT_FALSE(s.ok()) << count;
    EXPECT_NE(s.message().find("iteration count"), std::string::npos)
        << s.message();
  }
}

TEST_F(ScramSha1ClientTest, MissingOrMisorderedFieldsRefused) {
  ExpectRefused("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92",
                "expected r=, s=, i=");
  ExpectRefused("s=QSXCR+Q6sek8bf92,r=fyko+d2lbbFgONRv9qkxdawL3rfc,i=4096",
                "expected r=, s=, i=");
}

TEST_F(ScramSha1ClientTest, GarbageRefused) {
  ExpectRefused("hello", "not a list");
}

TEST_F(ScramSha1ClientTest, MandatoryExtensionRefused) {
  ExpectRefused("m=ext,r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=1",
                "mandatory extension");
}

TEST_F(ScramSha1ClientTest, OutOfOrderCallsRefused) {
  ScramSha1Client client(kUser, kPassword, kNonce);
  EXPECT_FALSE(client.ServerFirst(kServerFirst, &client_final_).ok());
  EXPECT_FALSE(client.ServerFinal(kServerFinal).ok());
}

TEST(ScramSha1ClientUserTest, UserNameEscaped) {
  ScramSha1Client client("a,b=c", "x", "nonce");
  EXPECT_EQ(client.ClientFirst(), "n,,n=a=2Cb=3Dc,r=nonce");
}

TEST(ScramSha1ClientUserTest, RandomNoncesDiffer) {
  ScramSha1Client a("u", "p"), b("u", "p");
  std::string first_a = a.ClientFirst(), first_b = b.ClientFirst();
  EXPECT_NE(first_a, first_b);
  ASSERT_EQ(first_a.substr(0, 9), "n,,n=u,r=");
  EXPECT_EQ(first_a.rfind(','), 6u);    // no ',' in the nonce
  EXPECT_EQ(first_a.size(), 9u + 32u);  // 24 random bytes in base64
}

TEST(SaslPlainTest, EncodesNulSeparatedCredentials) {
  // base64("\0user\0pencil")
  EXPECT_EQ(SaslPlain("user", "pencil"), "AHVzZXIAcGVuY2ls");
  std::string decoded;
  ASSERT_TRUE(Base64Decode(SaslPlain("bob", "s3cr=t"), &decoded));
  EXPECT_EQ(decoded, std::string("\0bob\0s3cr=t", 11));
}

TEST(Base64Test, RoundTripsEveryPaddingLength) {
  const std::string data("\x00\xff\x10zq", 5);
  for (size_t n = 0; n <= data.size(); ++n) {
    std::string in = data.substr(0, n), out;
    std::string encoded = Base64Encode(in);
    EXPECT_EQ(encoded.size() % 4, 0u);
    ASSERT_TRUE(Base64Decode(encoded, &out)) << encoded;
    EXPECT_EQ(out, in) << encoded;
  }
  EXPECT_EQ(Base64Encode("pencil"), "cGVuY2ls");
  EXPECT_EQ(Base64Encode("n,,"), "biws");
}

TEST(Base64Test, RefusesMalformedInput) {
  std::string out;
  for (const char* bad : {"Q", "QQ", "QQ=", "Q===", "====", "QQ=A", "QQ Q",
                          "QQ\nQ", "QQ*A", "QQ==QQ=="}) {
    EXPECT_FALSE(Base64Decode(bad, &out)) << bad;
  }
  EXPECT_TRUE(Base64Decode("", &out));
  EXPECT_EQ(out, "");
  ASSERT_TRUE(Base64Decode("QQ==", &out));
  EXPECT_EQ(out, "A");
}

TEST(Base64Test, LargeInputCrossesEncodingSlices) {
  std::string in(200 * 1000 + 1, 'x'), out;
  ASSERT_TRUE(Base64Decode(Base64Encode(in), &out));
  EXPECT_EQ(out, in);
}

}  // namespace
}  // namespace qd
