#include "xmpp_handler.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "queuedaemon/handler_options.h"
#include "queuedaemon/jid.h"
#include "queuedaemon/suggest.h"

namespace qd {
namespace {
constexpr std::chrono::milliseconds kNotHereDelay(1000);
}  // namespace

std::unique_ptr<QueueHandler> XmppHandler::Create(const HandlerConfig& config,
                                                  std::string* error) {
  HandlerOptions options("xmpp", config.options, {"account"});
  std::string account;
  Status s = options.CheckKeys();
  if (s.ok()) s = options.GetString("account", &account);
  if (s.ok() && account.empty()) {
    s = Status::Error(
        "option 'account' is missing (the xmpp account that "
        "sends this queue's messages)");
  }
  if (!s.ok()) {
    *error = s.message();
    return nullptr;
  }
  // A link that comes up opens this queue's gate: the sites fetch again.
  if (config.xmpp != nullptr && config.fetch_again) {
    config.xmpp->OnChange(
        [account, fetch_again = config.fetch_again](const std::string& a) {
          if (a == account) fetch_again();
        });
  }
  return std::make_unique<XmppHandler>(account, config.xmpp);
}

bool XmppHandler::ParsePayload(std::string_view payload, Message* out,
                               std::string* error) {
  auto json = nlohmann::json::parse(payload, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    *error =
        "payload is not a JSON object like "
        "{\"to\": \"user@example.org\", \"body\": \"text\"}";
    return false;
  }
  static const std::vector<std::string> kKeys = {"to", "body", "type"};
  for (const auto& [key, value] : json.items()) {
    if (std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end()) continue;
    *error = "payload: unknown key '" + key + "'";
    std::string close = Suggest(key, kKeys);
    if (!close.empty()) *error += " (did you mean '" + close + "'?)";
    return false;
  }
  auto text = [&](const char* key, std::string* to) {
    auto it = json.find(key);
    if (it == json.end()) return true;
    if (!it->is_string()) {
      *error = std::string("payload: '") + key + "' is not a string";
      return false;
    }
    *to = it->get<std::string>();
    return true;
  };
  out->type = "chat";
  if (!text("to", &out->to) || !text("body", &out->body) ||
      !text("type", &out->type)) {
    return false;
  }
  if (out->to.empty()) {
    *error = "payload: 'to' is missing (the recipient's JID)";
    return false;
  }
  Jid jid;
  Status s = ParseJid(out->to, &jid);
  if (!s.ok()) {
    *error = "payload: 'to': " + s.message();
    return false;
  }
  if (out->body.empty()) {
    *error = "payload: 'body' is missing or empty";
    return false;
  }
  if (out->type != "chat" && out->type != "normal") {
    *error = "payload: 'type' must be chat or normal, got '" + out->type + "'";
    return false;
  }
  return true;
}

bool XmppHandler::FetchOpen() const {
  return xmpp_ != nullptr && xmpp_->Ready(account_);
}

JobResult XmppHandler::handle(const Job& job, JobContext& ctx) {
  Message m;
  std::string error;
  if (!ParsePayload(job.payload(), &m, &error)) return JobResult::Fail(error);
  if (xmpp_ == nullptr || !xmpp_->Holds(account_)) {
    // Fetched here by a replay after the slot count changed: back to the
    // stream soon, where the holder's gate takes it.
    return JobResult::Retry(
        "xmpp account " + account_ + " is held by another worker",
        kNotHereDelay);
  }
  if (!xmpp_->Ready(account_)) {
    std::string why = "xmpp account " + account_ + " is not connected";
    std::string last = xmpp_->LastError(account_);
    if (!last.empty()) why += ": " + last;
    return JobResult::Retry(why);
  }
  // The outcome waits for the server's confirmation.
  JobCompletion complete = ctx.Defer();
  auto sent = xmpp_->Send(
      account_, m.to, m.body, m.type,
      [complete, account = account_](bool delivered) {
        complete(delivered
                     ? JobResult::Ok()
                     : JobResult::Retry("the link of xmpp account " + account +
                                        " failed before the server confirmed "
                                        "the message"));
      });
  // Not written although the link was ready a moment ago: `done` was
  // dropped, so the outcome is given here.
  if (sent != XmppSender::SendResult::kSent) {
    complete(
        JobResult::Retry("xmpp account " + account_ + " is not connected"));
  }
  return JobResult::Ok();  // ignored: deferred
}

}  // namespace qd
