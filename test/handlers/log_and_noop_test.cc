#include <gtest/gtest.h>

#include <string>

#include "handlers/log_handler.h"
#include "handlers/noop_handler.h"
#include "test/core/plugin/fake_job_context.h"

namespace qd {
namespace {

HandlerConfig Options(const std::string& handler, const std::string& yaml) {
  HandlerConfig config;
  config.site = "s1";
  config.queue = "q1";
  config.handler = handler;
  config.options = YAML::Load(yaml);
  return config;
}

Job MakeJob(std::string_view payload) {
  return Job("s1", "q1", "1700000000000-0",
             {{"payload", payload}, {"jid", "j-7"}, {"attempt", "2"}});
}

TEST(NoopHandlerTest, ReturnsOk) {
  std::string error;
  auto handler = NoopHandler::Create(Options("noop", "{}"), &error);
  ASSERT_NE(handler, nullptr) << error;
  FakeJobContext ctx;
  EXPECT_EQ(handler->handle(MakeJob("x"), ctx).kind(), JobResult::Kind::kOk);
  EXPECT_EQ(ctx.logged(), "");
}

TEST(NoopHandlerTest, RefusesAnyOption) {
  std::string error;
  EXPECT_EQ(NoopHandler::Create(Options("noop", "{ level: info }"), &error),
            nullptr);
  EXPECT_EQ(error, "unknown option 'level' (noop takes no options)");
}

TEST(LogHandlerTest, LogsSiteQueueJidAttemptAndPayloadAtInfo) {
  std::string error;
  auto handler = LogHandler::Create(Options("log", "{}"), &error);
  ASSERT_NE(handler, nullptr) << error;
  FakeJobContext ctx;
  EXPECT_EQ(handler->handle(MakeJob("{\"to\":\"a@b\"}"), ctx).kind(),
            JobResult::Kind::kOk);
  EXPECT_EQ(ctx.logged(),
            "info job site=s1 queue=q1 jid=j-7 attempt=2 "
            "payload=\"{\"to\":\"a@b\"}\" (12 bytes)\n");
}

TEST(LogHandlerTest, EscapesAndTruncatesThePayload) {
  std::string error;
  auto handler = LogHandler::Create(Options("log", "{}"), &error);
  ASSERT_NE(handler, nullptr) << error;
  FakeJobContext ctx;
  std::string payload = "a\nb\x01\xff";
  payload += std::string(300, 'z');
  ASSERT_EQ(handler->handle(MakeJob(payload), ctx).kind(),
            JobResult::Kind::kOk);
  std::string logged = ctx.logged();
  EXPECT_NE(logged.find("payload=\"a\\nb\\x01\\xff" + std::string(195, 'z') +
                        "...(+105 bytes)\" (305 bytes)\n"),
            std::string::npos)
      << logged;
  EXPECT_EQ(logged.find('\n'), logged.size() - 1) << "one line";
}

TEST(LogHandlerTest, LevelOptionPicksTheLevel) {
  std::string error;
  auto handler = LogHandler::Create(Options("log", "{ level: warn }"), &error);
  ASSERT_NE(handler, nullptr) << error;
  FakeJobContext ctx;
  ASSERT_EQ(handler->handle(MakeJob("x"), ctx).kind(), JobResult::Kind::kOk);
  EXPECT_EQ(ctx.logged().rfind("warning job site=s1", 0), 0u) << ctx.logged();
}

TEST(LogHandlerTest, RefusesUnknownLevel) {
  std::string error;
  EXPECT_EQ(LogHandler::Create(Options("log", "{ level: loud }"), &error),
            nullptr);
  EXPECT_EQ(error,
            "option 'level': expected one of trace, debug, info, warn, error, "
            "got 'loud'");
  EXPECT_EQ(LogHandler::Create(Options("log", "{ level: [info] }"), &error),
            nullptr);
  EXPECT_EQ(error, "option 'level': expected a string");
}

TEST(LogHandlerTest, UnknownOptionSuggestsTheKnownOne) {
  std::string error;
  EXPECT_EQ(LogHandler::Create(Options("log", "{ levl: info }"), &error),
            nullptr);
  EXPECT_EQ(error, "unknown option 'levl' (did you mean 'level'?)");
}

}  // namespace
}  // namespace qd
