#include "core/control/control_message.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "core/config/config.h"
#include "core/util/units.h"

namespace qd {
namespace {

using Json = nlohmann::json;

constexpr const char* kSecret = "0123456789abcdef-shared";

// A valid command's JSON with `change` applied (a null value removes the
// key).
std::string CommandJson(const Json& change = Json::object()) {
  Json j = {{"v", 1},
            {"cmd", "reload"},
            {"req", "r1"},
            {"reply_to", "qd:{qd}:control:reply:r1"},
            {"ts", 1700000000000}};
  for (const auto& [key, value] : change.items()) {
    if (value.is_null()) {
      j.erase(key);
    } else {
      j[key] = value;
    }
  }
  return j.dump();
}

Status Decode(const Json& change) {
  ControlCommand c;
  return ControlCommand::Decode(CommandJson(change), &c);
}

class ControlMessageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qd-control-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  // Writes `text` to a file in the temp dir with `mode`; returns its path.
  std::string SecretFile(const std::string& text, mode_t mode) {
    std::string path = dir_ + "/secret";
    std::ofstream(path, std::ios::trunc) << text;
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }

  std::string dir_;
};

TEST_F(ControlMessageTest, MakeGivesAFreshRequestAReplyKeyAndTheTime) {
  int64_t before = EpochMs();
  ControlCommand a = ControlCommand::Make("ps");
  ControlCommand b = ControlCommand::Make("ps");
  EXPECT_EQ(a.cmd, "ps");
  EXPECT_FALSE(a.req.empty());
  EXPECT_NE(a.req, b.req);
  EXPECT_EQ(a.reply_to, "qd:{qd}:control:reply:" + a.req);
  EXPECT_GE(a.ts_ms, before);
  EXPECT_LE(a.ts_ms, EpochMs());
}

TEST_F(ControlMessageTest, EncodeDecodeRoundTrip) {
  ControlCommand c = ControlCommand::Make("reload");
  c.site = "a";
  c.host = "web1";
  c.id = "generic";
  ControlCommand d;
  ASSERT_TRUE(ControlCommand::Decode(c.Encode(), &d).ok());
  EXPECT_EQ(d.cmd, "reload");
  EXPECT_EQ(d.site, "a");
  EXPECT_EQ(d.host, "web1");
  EXPECT_EQ(d.id, "generic");
  EXPECT_EQ(d.req, c.req);
  EXPECT_EQ(d.reply_to, c.reply_to);
  EXPECT_EQ(d.ts_ms, c.ts_ms);
}

TEST_F(ControlMessageTest, EncodeLeavesOutEmptySelectors) {
  Json j = Json::parse(ControlCommand::Make("stop").Encode());
  EXPECT_EQ(j["v"], 1);
  EXPECT_FALSE(j.contains("site"));
  EXPECT_FALSE(j.contains("host"));
  EXPECT_FALSE(j.contains("id"));
}

TEST_F(ControlMessageTest, EncodeReplacesBytesThatAreNotUtf8) {
  ControlCommand c = ControlCommand::Make("drain");
  c.site = "caf\xe9";
  std::string json;
  ASSERT_NO_THROW(json = c.Encode());
  ControlCommand d;
  ASSERT_TRUE(ControlCommand::Decode(json, &d).ok());
  EXPECT_EQ(d.site, "caf\xef\xbf\xbd") << "U+FFFD";
}

TEST_F(ControlMessageTest, DecodeAcceptsEveryCommand) {
  for (const char* cmd :
       {"reload", "restart", "drain", "resume", "stop", "ps"}) {
    EXPECT_TRUE(Decode({{"cmd", cmd}}).ok()) << cmd;
  }
}

TEST_F(ControlMessageTest, DecodeRefusesAnUnknownCommand) {
  Status s = Decode({{"cmd", "format-disk"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unknown command 'format-disk'"),
            std::string::npos)
      << s.message();
}

TEST_F(ControlMessageTest, DecodeRefusesMissingFields) {
  for (const char* key : {"v", "cmd", "req", "reply_to", "ts"}) {
    Status s = Decode({{key, nullptr}});
    EXPECT_FALSE(s.ok()) << key;
    EXPECT_NE(s.message().find(key), std::string::npos) << s.message();
  }
}

TEST_F(ControlMessageTest, DecodeRefusesWrongTypesAndVersions) {
  EXPECT_FALSE(Decode({{"v", 2}}).ok());
  EXPECT_FALSE(Decode({{"cmd", 7}}).ok());
  EXPECT_FALSE(Decode({{"site", true}}).ok());
  EXPECT_FALSE(Decode({{"ts", "yesterday"}}).ok());
  EXPECT_FALSE(Decode({{"ts", 1.5}}).ok());
  ControlCommand c;
  EXPECT_FALSE(ControlCommand::Decode("not json", &c).ok());
  EXPECT_FALSE(ControlCommand::Decode("[1,2]", &c).ok());
}

TEST_F(ControlMessageTest, DecodeRefusesASiteOnACommandThatTakesNone) {
  for (const char* cmd : {"restart", "stop", "ps"}) {
    Status s = Decode({{"cmd", cmd}, {"site", "a"}});
    ASSERT_FALSE(s.ok()) << cmd;
    EXPECT_NE(s.message().find("takes no site"), std::string::npos);
  }
  for (const char* cmd : {"reload", "drain", "resume"}) {
    EXPECT_TRUE(Decode({{"cmd", cmd}, {"site", "a"}}).ok()) << cmd;
  }
}

TEST_F(ControlMessageTest, DecodeRefusesABadReplyKeyOrRequest) {
  EXPECT_FALSE(Decode({{"reply_to", "qd:{a}:q:jobs"}}).ok())
      << "answers must not be pushed into a queue";
  EXPECT_FALSE(Decode({{"reply_to", ""}}).ok());
  EXPECT_FALSE(Decode({{"reply_to", "qd:control:reply:r1"}}).ok())
      << "the name before the {qd} tag: a Cluster node other than the "
         "tag's would answer MOVED";
  EXPECT_FALSE(
      Decode({{"reply_to", "qd:{qd}:control:reply:" + std::string(200, 'x')}})
          .ok());
  EXPECT_FALSE(Decode({{"req", ""}}).ok());
  EXPECT_FALSE(Decode({{"req", std::string(65, 'r')}}).ok());
  EXPECT_TRUE(Decode({{"req", std::string(64, 'r')}}).ok());
}

TEST_F(ControlMessageTest, DecodeLeavesTheOutputAloneOnError) {
  ControlCommand c;
  c.cmd = "kept";
  ASSERT_FALSE(ControlCommand::Decode(CommandJson({{"cmd", "x"}}), &c).ok());
  EXPECT_EQ(c.cmd, "kept");
}

TEST_F(ControlMessageTest, SelectsByHostAndId) {
  ControlCommand c = ControlCommand::Make("ps");
  EXPECT_TRUE(c.Selects("web1", "a"));
  c.host = "web1";
  EXPECT_TRUE(c.Selects("web1", "a"));
  EXPECT_TRUE(c.Selects("web1", "b"));
  EXPECT_FALSE(c.Selects("web2", "a"));
  c.host.clear();
  c.id = "a";
  EXPECT_TRUE(c.Selects("web2", "a"));
  EXPECT_FALSE(c.Selects("web2", "b"));
  c.host = "web1";
  EXPECT_TRUE(c.Selects("web1", "a"));
  EXPECT_FALSE(c.Selects("web1", "b"));
  EXPECT_FALSE(c.Selects("web2", "a"));
}

TEST_F(ControlMessageTest, ReplyRoundTripWithAndWithoutData) {
  ControlReply r;
  r.req = "r1";
  r.host = "web1";
  r.id = "a";
  r.pid = 4242;
  r.ok = true;
  r.message = "reloaded site a";
  ControlReply d;
  ASSERT_TRUE(ControlReply::Decode(r.Encode(), &d).ok());
  EXPECT_EQ(d.req, "r1");
  EXPECT_EQ(d.host, "web1");
  EXPECT_EQ(d.id, "a");
  EXPECT_EQ(d.pid, 4242);
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.message, "reloaded site a");
  EXPECT_TRUE(d.data.is_null());

  r.ok = false;
  r.data = {{"sites", {"a", "b"}}, {"rss", 1024}};
  ASSERT_TRUE(ControlReply::Decode(r.Encode(), &d).ok());
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.data["sites"][1], "b");
  EXPECT_EQ(d.data["rss"], 1024);
}

TEST_F(ControlMessageTest, ReplyDecodeRefusesMissingFields) {
  ControlReply r;
  EXPECT_FALSE(
      ControlReply::Decode(R"({"req":"r","host":"h","id":"i"})", &r).ok())
      << "no ok";
  EXPECT_FALSE(
      ControlReply::Decode(R"({"req":"r","host":"h","ok":true})", &r).ok())
      << "no id";
  EXPECT_FALSE(
      ControlReply::Decode(R"({"req":"r","host":"h","id":"i","ok":"yes"})", &r)
          .ok());
  EXPECT_TRUE(
      ControlReply::Decode(R"({"req":"r","host":"h","id":"i","ok":true})", &r)
          .ok());
}

TEST_F(ControlMessageTest, WithoutASecretThePayloadIsTheJson) {
  std::string json = CommandJson();
  EXPECT_EQ(SealControl(json, ""), json);
  std::string out;
  ASSERT_TRUE(OpenControl(json, "", &out).ok());
  EXPECT_EQ(out, json);
}

TEST_F(ControlMessageTest, WithASecretTheRightSignatureIsAccepted) {
  std::string json = CommandJson();
  std::string sealed = SealControl(json, kSecret);
  EXPECT_EQ(sealed.rfind("v1:", 0), 0u);
  EXPECT_EQ(sealed.size(), 3 + 64 + 1 + json.size()) << "hex SHA-256, space";
  std::string out;
  ASSERT_TRUE(OpenControl(sealed, kSecret, &out).ok());
  EXPECT_EQ(out, json);
}

TEST_F(ControlMessageTest, WithASecretAnUnsignedCommandIsRefused) {
  std::string out;
  Status s = OpenControl(CommandJson(), kSecret, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unsigned"), std::string::npos) << s.message();
  EXPECT_TRUE(out.empty());
}

TEST_F(ControlMessageTest, WithASecretABadSignatureIsRefused) {
  std::string json = CommandJson();
  std::string out;
  std::string other = SealControl(json, "another-secret-of-16+");
  Status s = OpenControl(other, kSecret, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("bad signature"), std::string::npos);

  // The right signature over a different body.
  std::string sealed = SealControl(json, kSecret);
  std::string tampered =
      sealed.substr(0, sealed.find(' ') + 1) + CommandJson({{"cmd", "stop"}});
  EXPECT_FALSE(OpenControl(tampered, kSecret, &out).ok());
  // Truncated or malformed signatures.
  EXPECT_FALSE(OpenControl("v1:abcd " + json, kSecret, &out).ok());
  EXPECT_FALSE(OpenControl("v1:" + json, kSecret, &out).ok());
  EXPECT_FALSE(OpenControl("v1:", kSecret, &out).ok());
}

TEST_F(ControlMessageTest, WithoutASecretASignedCommandIsAccepted) {
  std::string json = CommandJson();
  std::string out;
  ASSERT_TRUE(OpenControl(SealControl(json, kSecret), "", &out).ok());
  EXPECT_EQ(out, json);
}

TEST_F(ControlMessageTest, ReadControlSecretTakesTheFirstLine) {
  std::string path = SecretFile(std::string(kSecret) + " \r\nignored\n", 0600);
  std::string secret;
  ASSERT_TRUE(ReadControlSecret(path, &secret).ok());
  EXPECT_EQ(secret, kSecret);
  path = SecretFile(kSecret, 0400);
  ASSERT_TRUE(ReadControlSecret(path, &secret).ok()) << "no newline, r--";
  EXPECT_EQ(secret, kSecret);
}

TEST_F(ControlMessageTest, ReadControlSecretRefusesATooShortSecret) {
  std::string path = SecretFile("fifteen-bytes!!\n", 0600);
  std::string secret = "untouched";
  Status s = ReadControlSecret(path, &secret);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("at least 16 bytes"), std::string::npos);
  EXPECT_NE(s.message().find(path), std::string::npos);
  EXPECT_EQ(secret, "untouched");
  EXPECT_FALSE(ReadControlSecret(SecretFile("", 0600), &secret).ok());
}

TEST_F(ControlMessageTest, ReadControlSecretRefusesAFileReadableByOthers) {
  for (mode_t mode : {0644, 0640, 0604}) {
    std::string path = SecretFile(kSecret, mode);
    std::string secret;
    Status s = ReadControlSecret(path, &secret);
    ASSERT_FALSE(s.ok()) << std::oct << mode;
    EXPECT_NE(s.message().find("readable by others"), std::string::npos);
  }
}

TEST_F(ControlMessageTest, ReadControlSecretRefusesAMissingFile) {
  std::string secret;
  Status s = ReadControlSecret(dir_ + "/nope", &secret);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(dir_ + "/nope"), std::string::npos);
}

}  // namespace
}  // namespace qd
