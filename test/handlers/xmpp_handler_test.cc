#include "handlers/xmpp_handler.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/xmpp/xmpp_manager.h"
#include "test/core/plugin/fake_job_context.h"

namespace qd {
namespace {

HandlerConfig Options(const std::string& yaml) {
  HandlerConfig config;
  config.site = "a";
  config.queue = "xmpp";
  config.handler = "xmpp";
  config.options = YAML::Load(yaml);
  return config;
}

std::string ParseError(std::string_view payload) {
  XmppHandler::Message m;
  std::string error;
  EXPECT_FALSE(XmppHandler::ParsePayload(payload, &m, &error)) << payload;
  return error;
}

TEST(XmppHandlerTest, NeedsAnAccountAndNothingElse) {
  std::string error;
  EXPECT_NE(XmppHandler::Create(Options("{ account: alerts }"), &error),
            nullptr)
      << error;
  EXPECT_EQ(XmppHandler::Create(Options("{}"), &error), nullptr);
  EXPECT_NE(error.find("option 'account' is missing"), std::string::npos)
      << error;
  EXPECT_EQ(XmppHandler::Create(Options("{ account: a, acount: b }"), &error),
            nullptr);
  EXPECT_NE(error.find("did you mean 'account'"), std::string::npos) << error;
}

TEST(XmppHandlerTest, ParsesPayloads) {
  XmppHandler::Message m;
  std::string error;
  ASSERT_TRUE(XmppHandler::ParsePayload(
      R"({"to": "bob@example.org/phone", "body": "a <b> & c"})", &m, &error))
      << error;
  EXPECT_EQ(m.to, "bob@example.org/phone");
  EXPECT_EQ(m.body, "a <b> & c");
  EXPECT_EQ(m.type, "chat");
  ASSERT_TRUE(XmppHandler::ParsePayload(
      R"({"to": "b@d", "body": "x", "type": "normal"})", &m, &error));
  EXPECT_EQ(m.type, "normal");
}

TEST(XmppHandlerTest, BadPayloadsSayWhy) {
  EXPECT_NE(ParseError("").find("not a JSON object"), std::string::npos);
  EXPECT_NE(ParseError("[1]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(ParseError(R"({"body": "x"})").find("'to' is missing"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"to": "b@@d", "body": "x"})").find("'to':"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"to": 7, "body": "x"})").find("not a string"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"to": "b@d"})").find("'body' is missing"),
            std::string::npos);
  EXPECT_NE(ParseError(R"({"to": "b@d", "body": "x", "type": "headline"})")
                .find("chat or normal"),
            std::string::npos);
  EXPECT_EQ(ParseError(R"({"to": "b@d", "bdy": "x"})"),
            "payload: unknown key 'bdy' (did you mean 'body'?)");
}

TEST(XmppHandlerTest, WithoutTheLinkInThisWorkerTheJobGoesBack) {
  std::string error;
  auto handler = XmppHandler::Create(Options("{ account: alerts }"), &error);
  ASSERT_NE(handler, nullptr) << error;
  FakeJobContext ctx;
  Job job("a", "xmpp", "1-0", {{"payload", R"({"to": "b@d", "body": "x"})"}});
  JobResult r = handler->handle(job, ctx);
  EXPECT_EQ(r.kind(), JobResult::Kind::kRetry);
  EXPECT_NE(r.reason().find("held by another worker"), std::string::npos);
  EXPECT_FALSE(dynamic_cast<FetchGate&>(*handler).FetchOpen());
  Job bad("a", "xmpp", "2-0", {{"payload", "nope"}});
  EXPECT_EQ(handler->handle(bad, ctx).kind(), JobResult::Kind::kFail);
}

TEST(XmppManagerTest, SlotOfIsStableAndSpreadsAccounts) {
  EXPECT_EQ(XmppManager::SlotOf("alerts", 1), 0);
  EXPECT_EQ(XmppManager::SlotOf("alerts", 4), XmppManager::SlotOf("alerts", 4));
  // FNV-1a 32 of "alerts" is fixed: the slot never changes between builds.
  EXPECT_EQ(XmppManager::SlotOf("a", 1000), 0xe40c292cu % 1000);
  std::set<int> used;
  for (int i = 0; i < 64; ++i) {
    used.insert(XmppManager::SlotOf("account" + std::to_string(i), 4));
  }
  EXPECT_EQ(used.size(), 4u);
}

}  // namespace
}  // namespace qd
