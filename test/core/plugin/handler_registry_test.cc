#include "core/plugin/handler_registry.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "core/config/config.h"
#include "core/plugin/handler_set.h"

namespace qd {
namespace {

// A handler that remembers how it was made.
class RecordingHandler : public QueueHandler {
 public:
  explicit RecordingHandler(HandlerConfig config) : config(std::move(config)) {}
  JobResult handle(const Job&, JobContext&) override { return JobResult::Ok(); }
  HandlerConfig config;
};

std::unique_ptr<QueueHandler> MakeRecording(const HandlerConfig& c,
                                            std::string*) {
  return std::make_unique<RecordingHandler>(c);
}

class NamedManager : public IoManager {
 public:
  using IoManager::IoManager;
};

Config Load(const std::string& yaml) {
  Config config;
  Status s = Config::LoadString(yaml, "qd.yaml", &config);
  EXPECT_TRUE(s.ok()) << s.message();
  return config;
}

// Registers "exec", "log" and "noop" as recording handlers.
void RegisterThree(HandlerRegistry& r) {
  for (const char* name : {"exec", "log", "noop"}) {
    r.AddQueueHandler(name, &MakeRecording);
  }
}

const RecordingHandler& As(QueueHandler* h) {
  EXPECT_NE(h, nullptr);
  return *static_cast<RecordingHandler*>(h);
}

const char* kTwoSites = R"(sites:
  a:
    queues:
      mail:
        handler: exec
        command: [/bin/true]
      quiet: { handler: noop }
  b:
    queues:
      mail: { handler: log }
)";

TEST(HandlerRegistryTest, BuildsOneHandlerPerSiteAndQueue) {
  HandlerRegistry r;
  RegisterThree(r);
  HandlerSet set;
  ASSERT_TRUE(r.Build(Load(kTwoSites), &set).ok());
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(As(set.Find("a", "mail")).config.handler, "exec");
  EXPECT_EQ(As(set.Find("a", "quiet")).config.handler, "noop");
  EXPECT_EQ(As(set.Find("b", "mail")).config.handler, "log");
  EXPECT_NE(set.Find("a", "mail"), set.Find("b", "mail"));
  EXPECT_EQ(set.Find("b", "quiet"), nullptr);
  EXPECT_EQ(set.Find("c", "mail"), nullptr);
}

TEST(HandlerRegistryTest, PassesSiteQueueOptionsAndWhere) {
  HandlerRegistry r;
  RegisterThree(r);
  HandlerSet set;
  ASSERT_TRUE(r.Build(Load(kTwoSites), &set).ok());
  const HandlerConfig& c = As(set.Find("a", "mail")).config;
  EXPECT_EQ(c.site, "a");
  EXPECT_EQ(c.queue, "mail");
  EXPECT_EQ(c.where, "qd.yaml:4");
  ASSERT_TRUE(c.options.IsMap());
  EXPECT_EQ(c.options.size(), 1u);  // framework keys are not passed on
  EXPECT_EQ(c.options["command"][0].as<std::string>(), "/bin/true");
}

// The set's host outlives the move into `set`: the handlers reach the
// worker through it once the worker attached.
TEST(HandlerRegistryTest, GivesHandlersTheHostOfTheirSet) {
  HandlerRegistry r;
  RegisterThree(r);
  HandlerSet set;
  ASSERT_TRUE(r.Build(Load(kTwoSites), &set).ok());
  const HandlerConfig& c = As(set.Find("b", "mail")).config;
  EXPECT_EQ(c.xmpp, &set.host());
  ASSERT_TRUE(c.fetch_again);
  c.fetch_again();  // nothing attached: does nothing
  int fetches = 0;
  set.host().AttachQueues([&fetches] { ++fetches; });
  c.fetch_again();
  EXPECT_EQ(fetches, 1);
  set.host().Detach();
}

TEST(HandlerRegistryTest, OptionsAreAnEmptyMapWhenAbsent) {
  HandlerRegistry r;
  RegisterThree(r);
  Config config = Load(kTwoSites);
  config.sites["a"].queues["quiet"].handler_options = YAML::Node();
  HandlerSet set;
  ASSERT_TRUE(r.Build(config, &set).ok());
  const YAML::Node& options = As(set.Find("a", "quiet")).config.options;
  EXPECT_TRUE(options.IsMap());
  EXPECT_EQ(options.size(), 0u);
}

TEST(HandlerRegistryTest, HandlerCannotChangeTheConfigItWasGiven) {
  HandlerRegistry r;
  r.AddQueueHandler("exec", [](const HandlerConfig& c, std::string*) {
    YAML::Node options = c.options;
    options["added"] = "by the handler";
    return MakeRecording(c, nullptr);
  });
  r.AddQueueHandler("noop", &MakeRecording);
  r.AddQueueHandler("log", &MakeRecording);
  Config config = Load(kTwoSites);
  HandlerSet set;
  ASSERT_TRUE(r.Build(config, &set).ok());
  EXPECT_FALSE(config.sites["a"].queues["mail"].handler_options["added"]);
}

TEST(HandlerRegistryTest, UnknownHandlerNamesSiteQueueAndSuggests) {
  HandlerRegistry r;
  RegisterThree(r);
  HandlerSet set;
  Status s = r.Build(Load("sites:\n  s1:\n    queues:\n"
                          "      mail: { handler: exce }\n"),
                     &set);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "qd.yaml:4: sites.s1.queues.mail.handler: unknown handler 'exce' "
            "(known: exec, log, noop; did you mean 'exec'?)");
}

TEST(HandlerRegistryTest, UnknownHandlerFarFromAnyNameListsKnownOnly) {
  HandlerRegistry r;
  RegisterThree(r);
  HandlerSet set;
  Status s = r.Build(
      Load("sites:\n  s1:\n    queues:\n      q: { handler: sip2 }\n"), &set);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "qd.yaml:4: sites.s1.queues.q.handler: unknown handler 'sip2' "
            "(known: exec, log, noop)");
}

TEST(HandlerRegistryTest, FactoryErrorIsPrefixedWithWhere) {
  HandlerRegistry r;
  RegisterThree(r);
  r.AddQueueHandler("picky", [](const HandlerConfig&, std::string* error) {
    *error = "unknown option 'comand' (did you mean 'command'?)";
    return std::unique_ptr<QueueHandler>();
  });
  HandlerSet set;
  Status s = r.Build(
      Load("sites:\n  s1:\n    queues:\n      q: { handler: picky }\n"), &set);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "qd.yaml:4: sites.s1.queues.q: handler 'picky': unknown option "
            "'comand' (did you mean 'command'?)");
}

TEST(HandlerRegistryTest, FactoryExceptionIsReportedLikeAnError) {
  HandlerRegistry r;
  r.AddQueueHandler(
      "boom",
      [](const HandlerConfig&, std::string*) -> std::unique_ptr<QueueHandler> {
        throw std::runtime_error("no such device");
      });
  HandlerSet set;
  Status s = r.Build(
      Load("sites:\n  s1:\n    queues:\n      q: { handler: boom }\n"), &set);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "qd.yaml:4: sites.s1.queues.q: handler 'boom': no such device");
}

TEST(HandlerRegistryTest, FactoryReturningNothingWithoutMessageIsAnError) {
  HandlerRegistry r;
  r.AddQueueHandler("empty", [](const HandlerConfig&, std::string*) {
    return std::unique_ptr<QueueHandler>();
  });
  HandlerSet set;
  Status s = r.Build(
      Load("sites:\n  s1:\n    queues:\n      q: { handler: empty }\n"), &set);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("handler 'empty': factory made no handler"),
            std::string::npos)
      << s.message();
}

TEST(HandlerRegistryTest, FailedBuildLeavesTheSetUntouched) {
  HandlerRegistry r;
  RegisterThree(r);
  HandlerSet set;
  ASSERT_TRUE(r.Build(Load(kTwoSites), &set).ok());
  QueueHandler* before = set.Find("a", "mail");
  Status s = r.Build(
      Load("sites:\n  a:\n    queues:\n      mail: { handler: nope }\n"), &set);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(set.Find("a", "mail"), before);
  EXPECT_EQ(set.size(), 3u);
}

TEST(HandlerRegistryTest, DefaultsWithoutFileSayBuiltInConfig) {
  HandlerRegistry r;
  HandlerSet set;
  Status s = r.Build(Config::Defaults(), &set);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("built-in config:", 0), 0u) << s.message();
  EXPECT_NE(s.message().find("(no handlers are registered)"),
            std::string::npos);
}

TEST(HandlerRegistryTest, DuplicateNameKeepsTheFirstAndRecordsAnError) {
  HandlerRegistry r;
  RegisterThree(r);
  EXPECT_TRUE(r.TakeError().ok());
  bool second_called = false;
  r.AddQueueHandler("log", [&](const HandlerConfig& c, std::string* e) {
    second_called = true;
    return MakeRecording(c, e);
  });
  r.AddQueueHandler("noop", &MakeRecording);
  Status s = r.TakeError();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "queue handler 'log' is registered twice");
  EXPECT_TRUE(r.TakeError().ok()) << "TakeError clears the error";
  HandlerSet set;
  ASSERT_TRUE(r.Build(Load(kTwoSites), &set).ok());
  EXPECT_FALSE(second_called);
}

TEST(HandlerRegistryTest, EmptyNameOrNullFactoryIsAnError) {
  HandlerRegistry r;
  r.AddQueueHandler("", &MakeRecording);
  EXPECT_FALSE(r.TakeError().ok());
  r.AddQueueHandler("x", nullptr);
  EXPECT_FALSE(r.TakeError().ok());
  EXPECT_TRUE(r.HandlerNames().empty());
}

TEST(HandlerRegistryTest, NamesAreSorted) {
  HandlerRegistry r;
  r.AddQueueHandler("noop", &MakeRecording);
  r.AddQueueHandler("exec", &MakeRecording);
  r.AddQueueHandler("log", &MakeRecording);
  EXPECT_EQ(r.HandlerNames(),
            (std::vector<std::string>{"exec", "log", "noop"}));
}

TEST(HandlerRegistryTest, MakeIoManagersCallsEveryFactoryInOrder) {
  HandlerRegistry r;
  int calls = 0;
  r.AddIoManager("stats", [&] {
    ++calls;
    return std::make_unique<NamedManager>("stats");
  });
  r.AddIoManager("xmpp", [&] {
    ++calls;
    return std::make_unique<NamedManager>("xmpp");
  });
  r.AddIoManager("none", [&] {
    ++calls;
    return std::unique_ptr<IoManager>();
  });
  r.AddIoManager("stats", [] { return std::make_unique<NamedManager>("2"); });
  EXPECT_EQ(r.TakeError().message(), "io manager 'stats' is registered twice");
  auto managers = r.MakeIoManagers();
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(managers.size(), 2u);
  EXPECT_EQ(managers[0]->name(), "stats");
  EXPECT_EQ(managers[1]->name(), "xmpp");
  EXPECT_EQ(r.MakeIoManagers().size(), 2u) << "each call makes new ones";
  EXPECT_EQ(r.IoManagerNames(),
            (std::vector<std::string>{"none", "stats", "xmpp"}));
}

TEST(HandlerSetTest, IsMovable) {
  HandlerRegistry r;
  RegisterThree(r);
  HandlerSet set;
  ASSERT_TRUE(r.Build(Load(kTwoSites), &set).ok());
  QueueHandler* h = set.Find("a", "mail");
  HandlerSet moved = std::move(set);
  EXPECT_EQ(moved.Find("a", "mail"), h);
  EXPECT_EQ(moved.size(), 3u);
}

}  // namespace
}  // namespace qd
