#include "core/plugin/handler_host.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qd {
namespace {

// A sender holding one ready account, "alerts", that keeps its change
// callbacks for the test to fire.
class OneAccount : public XmppSender {
 public:
  bool Holds(const std::string& a) const override { return a == "alerts"; }
  bool Ready(const std::string& a) const override { return Holds(a); }
  std::string LastError(const std::string&) const override { return "e"; }
  SendResult Send(const std::string& account, std::string_view,
                  std::string_view, std::string_view, Done done) override {
    if (!Holds(account)) return SendResult::kNotHere;
    done(true);
    return SendResult::kSent;
  }
  void OnChange(ChangeCallback callback) override {
    callbacks.push_back(std::move(callback));
  }
  void Change(const std::string& account) {
    for (auto& callback : callbacks) callback(account);
  }
  std::vector<ChangeCallback> callbacks;
};

TEST(HandlerHostTest, HoldsNothingUntilASenderIsAttached) {
  HandlerHost host;
  EXPECT_FALSE(host.Holds("alerts"));
  EXPECT_FALSE(host.Ready("alerts"));
  EXPECT_EQ(host.LastError("alerts"), "");
  bool called = false;
  EXPECT_EQ(host.Send("alerts", "b@d", "x", "chat",
                      [&called](bool) { called = true; }),
            XmppSender::SendResult::kNotHere);
  EXPECT_FALSE(called);
  host.FetchAgain();  // nothing attached: nothing happens
}

TEST(HandlerHostTest, ForwardsToTheAttachedSenderUntilDetached) {
  HandlerHost host;
  std::vector<std::string> changes;
  host.OnChange([&changes](const std::string& a) { changes.push_back(a); });
  int fetches = 0;
  OneAccount sender;
  host.AttachXmpp(&sender);
  host.AttachQueues([&fetches] { ++fetches; });
  EXPECT_TRUE(host.Holds("alerts"));
  EXPECT_TRUE(host.Ready("alerts"));
  EXPECT_FALSE(host.Holds("other"));
  EXPECT_EQ(host.LastError("alerts"), "e");
  bool delivered = false;
  EXPECT_EQ(host.Send("alerts", "b@d", "x", "chat",
                      [&delivered](bool d) { delivered = d; }),
            XmppSender::SendResult::kSent);
  EXPECT_TRUE(delivered);
  sender.Change("alerts");
  EXPECT_EQ(changes, std::vector<std::string>{"alerts"});
  host.FetchAgain();
  EXPECT_EQ(fetches, 1);

  host.Detach();
  EXPECT_FALSE(host.Holds("alerts"));
  sender.Change("alerts");  // no longer reaches the handlers
  EXPECT_EQ(changes.size(), 1u);
  host.FetchAgain();
  EXPECT_EQ(fetches, 1);
}

}  // namespace
}  // namespace qd
