#include "handlers/builtin_handlers.h"

#include <gtest/gtest.h>

#include "core/plugin/handler_registry.h"

namespace qd {
namespace {

TEST(BuiltinHandlersTest, RegistersExecLogNoopAndXmpp) {
  HandlerRegistry registry;
  RegisterBuiltinHandlers(registry);
  EXPECT_TRUE(registry.TakeError().ok());
  EXPECT_EQ(registry.HandlerNames(),
            (std::vector<std::string>{"exec", "log", "noop", "xmpp"}));
}

TEST(BuiltinHandlersTest, DefaultConfigBuilds) {
  HandlerRegistry registry;
  RegisterBuiltinHandlers(registry);
  HandlerSet set;
  Status s = registry.Build(Config::Defaults(), &set);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_NE(set.Find("default", "noop"), nullptr);
}

TEST(BuiltinHandlersTest, BadExecOptionStopsTheBuildNamingTheQueue) {
  HandlerRegistry registry;
  RegisterBuiltinHandlers(registry);
  Config config;
  ASSERT_TRUE(Config::LoadString("sites:\n  shop:\n    queues:\n"
                                 "      mail:\n        handler: exec\n"
                                 "        comand: [/bin/true]\n",
                                 "etc/qd.yaml", &config)
                  .ok());
  HandlerSet set;
  Status s = registry.Build(config, &set);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "etc/qd.yaml:4: sites.shop.queues.mail: handler 'exec': unknown "
            "option 'comand' (did you mean 'command'?)");
}

}  // namespace
}  // namespace qd
