#include "handlers/xmpp_handler.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

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
  EXPECT_FALSE(handler->FetchOpen());
  Job bad("a", "xmpp", "2-0", {{"payload", "nope"}});
  EXPECT_EQ(handler->handle(bad, ctx).kind(), JobResult::Kind::kFail);
}

// An XmppSender that holds the accounts a test gives it and keeps what is
// sent, `done` included, for the test to confirm or fail.
class FakeSender : public XmppSender {
 public:
  bool Holds(const std::string& account) const override {
    return held.count(account) != 0;
  }
  bool Ready(const std::string& account) const override {
    return Holds(account) && held.at(account);
  }
  std::string LastError(const std::string&) const override {
    return last_error;
  }
  SendResult Send(const std::string& account, std::string_view to,
                  std::string_view body, std::string_view type,
                  Done done) override {
    if (!Holds(account)) return SendResult::kNotHere;
    if (!Ready(account)) return SendResult::kDown;
    sent.push_back({std::string(to), std::string(body), std::string(type)});
    dones.push_back(std::move(done));
    return SendResult::kSent;
  }
  void OnChange(ChangeCallback callback) override {
    on_change.push_back(std::move(callback));
  }
  void Change(const std::string& account) {
    for (auto& callback : on_change) callback(account);
  }

  std::map<std::string, bool> held;  // account -> ready
  std::string last_error;
  std::vector<XmppHandler::Message> sent;
  std::vector<Done> dones;
  std::vector<ChangeCallback> on_change;
};

TEST(XmppHandlerTest, DefersTheOutcomeUntilTheServerConfirms) {
  FakeSender sender;
  sender.held["alerts"] = true;
  HandlerConfig config = Options("{ account: alerts }");
  config.xmpp = &sender;
  std::string error;
  auto handler = XmppHandler::Create(config, &error);
  ASSERT_NE(handler, nullptr) << error;
  EXPECT_TRUE(handler->FetchOpen());
  FakeJobContext ctx;
  Job job("a", "xmpp", "1-0",
          {{"payload", R"({"to": "b@d", "body": "x", "type": "normal"})"}});
  handler->handle(job, ctx);
  EXPECT_TRUE(ctx.deferred);
  ASSERT_EQ(sender.sent.size(), 1u);
  EXPECT_EQ(sender.sent[0].to, "b@d");
  EXPECT_EQ(sender.sent[0].type, "normal");
  EXPECT_FALSE(ctx.completed);
  sender.dones[0](true);
  ASSERT_TRUE(ctx.completed);
  EXPECT_EQ(ctx.completed->kind(), JobResult::Kind::kOk);

  FakeJobContext lost;
  handler->handle(job, lost);
  sender.dones[1](false);
  ASSERT_TRUE(lost.completed);
  EXPECT_EQ(lost.completed->kind(), JobResult::Kind::kRetry);
  EXPECT_NE(lost.completed->reason().find("failed before the server"),
            std::string::npos);
}

TEST(XmppHandlerTest, ALinkDownClosesTheGateAndRetries) {
  FakeSender sender;
  sender.held["alerts"] = false;
  sender.last_error = "connection refused";
  HandlerConfig config = Options("{ account: alerts }");
  config.xmpp = &sender;
  int fetches = 0;
  config.fetch_again = [&fetches] { ++fetches; };
  std::string error;
  auto handler = XmppHandler::Create(config, &error);
  ASSERT_NE(handler, nullptr) << error;
  EXPECT_FALSE(handler->FetchOpen());
  FakeJobContext ctx;
  Job job("a", "xmpp", "1-0", {{"payload", R"({"to": "b@d", "body": "x"})"}});
  JobResult r = handler->handle(job, ctx);
  EXPECT_EQ(r.kind(), JobResult::Kind::kRetry);
  EXPECT_EQ(r.reason(),
            "xmpp account alerts is not connected: "
            "connection refused");
  EXPECT_FALSE(ctx.deferred);
  // Only a change of its own account makes the sites fetch again.
  sender.held["alerts"] = true;
  sender.Change("other");
  EXPECT_EQ(fetches, 0);
  sender.Change("alerts");
  EXPECT_EQ(fetches, 1);
  EXPECT_TRUE(handler->FetchOpen());
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
