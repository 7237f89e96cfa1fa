#include "queuedaemon/handler_options.h"

#include <gtest/gtest.h>

#include <string>

namespace qd {
namespace {

TEST(HandlerOptionsTest, KnownKeysPass) {
  HandlerOptions options("exec", YAML::Load("{ command: [a], env: {} }"),
                         {"command", "env"});
  EXPECT_TRUE(options.CheckKeys().ok());
}

TEST(HandlerOptionsTest, AbsentOrNullOptionsPass) {
  EXPECT_TRUE(HandlerOptions("noop", YAML::Node(), {}).CheckKeys().ok());
  EXPECT_TRUE(HandlerOptions("noop", YAML::Load("~"), {}).CheckKeys().ok());
}

TEST(HandlerOptionsTest, UnknownKeySuggestsTheCloseOne) {
  Status s =
      HandlerOptions("exec", YAML::Load("{ comand: [a] }"), {"command", "env"})
          .CheckKeys();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "unknown option 'comand' (did you mean 'command'?)");
}

TEST(HandlerOptionsTest, UnknownKeyListsTheKnownOnes) {
  Status s =
      HandlerOptions("exec", YAML::Load("{ user: x }"), {"command", "env"})
          .CheckKeys();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "unknown option 'user' (exec knows: command, env)");
  s = HandlerOptions("noop", YAML::Load("{ level: x }"), {}).CheckKeys();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "unknown option 'level' (noop takes no options)");
}

TEST(HandlerOptionsTest, NounNamesNestedKeys) {
  Status s = HandlerOptions("example-line", YAML::Load("{ passwd: x }"),
                            {"password", "site"}, "key")
                 .CheckKeys();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "unknown key 'passwd' (did you mean 'password'?)");
}

TEST(HandlerOptionsTest, OptionsMustBeAMap) {
  Status s = HandlerOptions("log", YAML::Load("[a, b]"), {"level"}).CheckKeys();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "options must be a map");
}

TEST(HandlerOptionsTest, GetStringReadsScalarsAndLeavesAbsentAlone) {
  HandlerOptions options("log", YAML::Load("{ level: warn, list: [a] }"),
                         {"level", "list"});
  std::string level = "info";
  EXPECT_TRUE(options.GetString("level", &level).ok());
  EXPECT_EQ(level, "warn");
  std::string absent = "kept";
  EXPECT_TRUE(options.GetString("missing", &absent).ok());
  EXPECT_EQ(absent, "kept");
  std::string list;
  Status s = options.GetString("list", &list);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "option 'list': expected a string");
  EXPECT_TRUE(options.Get("missing").IsNull());
  EXPECT_TRUE(options.Get("list").IsSequence());
}

}  // namespace
}  // namespace qd
