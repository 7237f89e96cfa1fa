// The Redis credentials in the config (RedisEndpoint: the top-level `redis:`
// and a site's own), the url forms that carry none, and RedisUrl's handling
// of them: where they come from, every refusal with its file:line:col, and
// that no message ever holds a password.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "core/config/config.h"
#include "core/config/redis_url.h"

namespace qd {
namespace {

constexpr char kPassword[] = "Tr0ub4dor-and-3";

class RedisAuthConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qd-redis-auth-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!std::system(cmd.c_str());
    unsetenv("QD_TEST_REDIS_PW");
  }

  // A file holding `text` with `mode`; returns its path.
  std::string File(const std::string& name, const std::string& text,
                   mode_t mode = 0600) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    chmod(path.c_str(), mode);
    return path;
  }

  // Loads `text` as "x.yaml"; fails the test when it does not load.
  Config Load(const std::string& text) {
    Config config;
    Status s = Config::LoadString(text, "x.yaml", &config);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.message());
    return config;
  }

  // Asserts that loading `text` fails with a message starting with `prefix`
  // ("x.yaml:LINE:COL: key.path: "), containing `what`, on one line and
  // without the password.
  void ExpectError(const std::string& text, const std::string& prefix,
                   const std::string& what) {
    Config config;
    Status s = Config::LoadString(text, "x.yaml", &config);
    ASSERT_FALSE(s.ok()) << "loaded:\n" << text;
    const std::string& error = s.message();
    EXPECT_EQ(error.substr(0, prefix.size()), prefix) << error;
    EXPECT_NE(error.find(what), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    EXPECT_EQ(error.find(kPassword), std::string::npos) << error;
  }

  std::string dir_;
};

TEST_F(RedisAuthConfigTest, EveryFormWithoutCredentialsStillLoads) {
  for (const char* text :
       {"redis: redis://10.0.0.1:6379/2\n", "redis: { url: embedded }\n",
        "redis:\n  url: unix:///run/r.sock\n  server_binary: /opt/rs\n",
        "sites: { a: { redis: redis://h:1/3 } }\n"}) {
    Config c = Load(text);
    EXPECT_EQ(c.redis.password, "") << text;
    EXPECT_EQ(c.redis.username, "") << text;
  }
  EXPECT_EQ(
      Load("sites: { a: { redis: redis://h:1/3 } }\n").sites.at("a").redis.url,
      "redis://h:1/3");
}

TEST_F(RedisAuthConfigTest, TopLevelPasswordFileAndUsername) {
  std::string pw = File("pw", std::string(kPassword) + "\n");
  Config c = Load(
      "redis:\n  url: redis://10.0.0.1:6380/2\n  username: qd\n"
      "  password_file: " +
      pw + "\n");
  EXPECT_EQ(c.redis.url, "redis://10.0.0.1:6380/2");
  EXPECT_EQ(c.redis.username, "qd");
  EXPECT_EQ(c.redis.password, kPassword);
  EXPECT_EQ(c.redis.password_from, "redis.password_file " + pw);
  RedisUrl url;
  ASSERT_TRUE(c.redis.Resolve(&url).ok());
  EXPECT_EQ(url.host, "10.0.0.1");
  EXPECT_EQ(url.port, 6380);
  EXPECT_EQ(url.db, 2);
  EXPECT_EQ(url.username, "qd");
  EXPECT_EQ(url.password, kPassword);
  EXPECT_EQ(url.Describe(), "10.0.0.1:6380/2");
  EXPECT_EQ(url.AuthName(), "AUTH as qd");
  EXPECT_EQ(url.AuthArgs(),
            (std::vector<std::string_view>{"AUTH", "qd", kPassword}));
}

TEST_F(RedisAuthConfigTest, OnlyTheTrailingLineEndIsStripped) {
  const std::pair<const char*, const char*> cases[] = {
      {"pw\n", "pw"},
      {"pw\r\n", "pw"},
      {"pw", "pw"},
      {"pw\n\n", "pw"},
      {" pw with spaces \n", " pw with spaces "}};
  for (const auto& [text, want] : cases) {
    std::string pw = File("pw", text);
    Config c = Load("redis: { url: 'redis://h', password_file: " + pw + " }\n");
    EXPECT_EQ(c.redis.password, want) << text;
  }
}

TEST_F(RedisAuthConfigTest, PasswordEnv) {
  setenv("QD_TEST_REDIS_PW", kPassword, 1);
  Config c =
      Load("redis: { url: 'redis://h', password_env: QD_TEST_REDIS_PW }\n");
  EXPECT_EQ(c.redis.password, kPassword);
  EXPECT_EQ(c.redis.username, "");
  EXPECT_EQ(c.redis.password_from, "redis.password_env QD_TEST_REDIS_PW");
  RedisUrl url;
  ASSERT_TRUE(c.redis.Resolve(&url).ok());
  EXPECT_EQ(url.AuthArgs(), (std::vector<std::string_view>{"AUTH", kPassword}));
  EXPECT_EQ(url.AuthName(), "AUTH");
}

TEST_F(RedisAuthConfigTest, ASiteMayHaveItsOwnCredentials) {
  std::string pw = File("pw", kPassword);
  Config c = Load(
      "redis: redis://main:6379\n"
      "sites:\n"
      "  a:\n"
      "    redis: { url: 'redis://other:6390/1', username: shop, "
      "password_file: " +
      pw +
      " }\n"
      "  b:\n"
      "    redis: redis://third:6379\n"
      "  c: {}\n");
  const RedisEndpoint& a = c.RedisOf(c.sites.at("a"));
  EXPECT_EQ(a.url, "redis://other:6390/1");
  EXPECT_EQ(a.username, "shop");
  EXPECT_EQ(a.password, kPassword);
  EXPECT_EQ(a.password_from, "sites.a.redis.password_file " + pw);
  EXPECT_EQ(c.RedisOf(c.sites.at("b")).password, "");
  EXPECT_EQ(&c.RedisOf(c.sites.at("c")), &c.redis);
}

TEST_F(RedisAuthConfigTest, ASiteWithoutItsOwnUrlUsesTheDaemonsCredentials) {
  setenv("QD_TEST_REDIS_PW", kPassword, 1);
  Config c = Load(
      "redis: { url: 'redis://main', password_env: QD_TEST_REDIS_PW }\n"
      "sites:\n  a: { redis: embedded }\n  b: {}\n");
  EXPECT_EQ(c.RedisOf(c.sites.at("a")).password, kPassword);
  EXPECT_EQ(c.RedisOf(c.sites.at("b")).password, kPassword);
}

TEST_F(RedisAuthConfigTest, ThePasswordFileMustBeTheOwnersAlone) {
  std::string pw = File("pw", kPassword, 0640);
  std::string yaml = "redis:\n  url: redis://h\n  password_file: " + pw + "\n";
  ExpectError(yaml, "x.yaml:3:18: redis.password_file: ",
              pw + ": readable by others; chmod 600 it");
  chmod(pw.c_str(), 0604);
  ExpectError(yaml, "x.yaml:3:18: redis.password_file: ", "readable by others");
  chmod(pw.c_str(), 0400);
  EXPECT_EQ(Load(yaml).redis.password, kPassword);
}

TEST_F(RedisAuthConfigTest, PasswordFileErrors) {
  auto yaml = [](const std::string& path) {
    return "sites:\n  a:\n    redis: { url: 'redis://h', password_file: " +
           path + " }\n";
  };
  const std::string prefix = "x.yaml:3:47: sites.a.redis.password_file: ";
  ExpectError(yaml(dir_ + "/nope"), prefix, "/nope: cannot read it (No such");
  ExpectError(yaml(File("empty", "")), prefix, "empty; it holds the password");
  ExpectError(yaml(File("newline", "\n")), prefix, "empty");
  ExpectError(yaml(File("two", std::string(kPassword) + "\nmore\n")), prefix,
              "more than one line");
  ExpectError(yaml(dir_), prefix, "not a regular file");
  ExpectError(yaml(File("big", std::string(70000, 'x'))), prefix,
              "larger than 64 KiB");
}

// Variables of their own: the loader keeps a variable it has read (and
// took out of the environment) for reloads, so QD_TEST_REDIS_PW stays set
// for the loader once another test in this process has read it.
TEST_F(RedisAuthConfigTest, PasswordEnvErrors) {
  ExpectError("redis: { url: 'redis://h', password_env: QD_TEST_NO_PW }\n",
              "x.yaml:1:42: redis.password_env: ",
              "QD_TEST_NO_PW is not set in the environment");
  setenv("QD_TEST_EMPTY_PW", "", 1);
  ExpectError("redis: { url: 'redis://h', password_env: QD_TEST_EMPTY_PW }\n",
              "x.yaml:1:42: redis.password_env: ", "QD_TEST_EMPTY_PW is empty");
  unsetenv("QD_TEST_EMPTY_PW");
}

TEST_F(RedisAuthConfigTest, OnePasswordSourceAtMost) {
  setenv("QD_TEST_REDIS_PW", kPassword, 1);
  std::string pw = File("pw", kPassword);
  ExpectError("redis:\n  url: redis://h\n  password_file: " + pw +
                  "\n  password_env: QD_TEST_REDIS_PW\n",
              "x.yaml:4:17: redis.password_env: ",
              "give password_file or password_env, not both");
}

TEST_F(RedisAuthConfigTest, AnInlinePasswordIsRefused) {
  ExpectError(
      std::string("redis:\n  url: redis://h\n  password: ") + kPassword + "\n",
      "x.yaml:3:3: redis.password: ",
      "a password in the config is refused; put it in a file");
}

TEST_F(RedisAuthConfigTest, AUsernameNeedsAPassword) {
  ExpectError("redis: { url: 'redis://h', username: qd }\n",
              "x.yaml:1:38: redis.username: ",
              "username needs password_file or password_env");
}

TEST_F(RedisAuthConfigTest, TheEmbeddedRedisTakesNoPassword) {
  std::string pw = File("pw", kPassword);
  const std::string why = "the embedded Redis takes no password";
  ExpectError("redis:\n  url: embedded\n  password_file: " + pw + "\n",
              "x.yaml:3:18: redis.password_file: ", why);
  // No url at the top level is the embedded one.
  ExpectError("redis:\n  password_file: " + pw + "\n",
              "x.yaml:2:18: redis.password_file: ", why);
  setenv("QD_TEST_REDIS_PW", kPassword, 1);
  ExpectError(
      "sites:\n  a:\n    redis: { url: embedded, password_env: "
      "QD_TEST_REDIS_PW }\n",
      "x.yaml:3:43: sites.a.redis.password_env: ", why);
}

TEST_F(RedisAuthConfigTest, PasswordsInTheUrlAreRefusedWithoutRepeatingThem) {
  const std::string why = "credentials in the url are refused";
  ExpectError(std::string("redis: redis://:") + kPassword + "@h:6379\n",
              "x.yaml:1:8: redis: ", why);
  ExpectError(std::string("redis: { url: 'redis://u:") + kPassword + "@h' }\n",
              "x.yaml:1:15: redis.url: ", why);
  ExpectError(std::string("sites: { a: { redis: 'rediss://u:") + kPassword +
                  "@h' } }\n",
              "x.yaml:1:22: sites.a.redis: ", why);
  // A unix socket path may hold an @.
  EXPECT_EQ(Load("redis: unix:///run/a@b.sock\n").redis.url,
            "unix:///run/a@b.sock");
}

TEST_F(RedisAuthConfigTest, SiteRedisMapShape) {
  ExpectError(
      "sites:\n  a:\n    redis: { username: x }\n",
      "x.yaml:3:5: sites.a.redis: ", "url (or sentinel and master) is missing");
  ExpectError(
      "sites:\n  a:\n    redis: { url: 'redis://h', server_binary: x }\n",
      "x.yaml:3:32: sites.a.redis.server_binary: ", "unknown key");
  ExpectError("sites:\n  a:\n    redis: [a]\n", "x.yaml:3:12: sites.a.redis: ",
              "expected a url or a map with 'url', got a list");
}

TEST(RedisUrlTest, ParseRefusesUserInfoAndMasksIt) {
  RedisUrl url;
  for (std::string text : {std::string("redis://:") + kPassword + "@h:6379/1",
                           std::string("redis://user:") + kPassword + "@h/x",
                           std::string("redis://") + kPassword + "@[::1]"}) {
    Status s = RedisUrl::Parse(text, &url);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.message().find(kPassword), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("redis url 'redis://***@"), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("password_file or password_env"),
              std::string::npos)
        << s.message();
  }
}

TEST(RedisUrlTest, DescribeAndKeyNeverHoldThePassword) {
  RedisUrl url;
  ASSERT_TRUE(RedisUrl::Parse("redis://127.0.0.1:7000/3", &url).ok());
  url.username = "qd";
  url.password = kPassword;
  EXPECT_EQ(url.Describe(), "127.0.0.1:7000/3");
  EXPECT_EQ(url.Key().find(kPassword), std::string::npos);
  EXPECT_NE(url.Key(), RedisUrl{}.Key());
}

TEST(RedisUrlTest, RedactMasksEveryOccurrence) {
  RedisUrl url;
  url.password = "pw";
  EXPECT_EQ(url.Redact("a pw b pwpw"), "a *** b ******");
  url.password = "*";  // no endless loop on its own mask
  EXPECT_EQ(url.Redact("x*y"), "x***y");
  url.password.clear();
  EXPECT_EQ(url.Redact("pw"), "pw");
}

}  // namespace
}  // namespace qd
