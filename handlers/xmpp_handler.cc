#include "handlers/xmpp_handler.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/util/jid.h"
#include "core/queue/job_context_impl.h"
#include "core/xmpp/xmpp_manager.h"
#include "handlers/handler_options.h"
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
  return std::make_unique<XmppHandler>(account);
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
  XmppManager* m = XmppManager::Current();
  return m != nullptr && m->Ready(account_);
}

JobResult XmppHandler::handle(const Job& job, JobContext& ctx) {
  Message m;
  std::string error;
  if (!ParsePayload(job.payload(), &m, &error)) return JobResult::Fail(error);
  XmppManager* manager = XmppManager::Current();
  if (manager == nullptr || !manager->Holds(account_)) {
    // Fetched here by a replay after the slot count changed: back to the
    // stream soon, where the holder's gate takes it.
    return JobResult::Retry(
        "xmpp account " + account_ + " is held by another worker",
        kNotHereDelay);
  }
  if (!manager->Ready(account_)) {
    std::string why = "xmpp account " + account_ + " is not connected";
    const std::string& last = manager->link(account_)->last_error();
    if (!last.empty()) why += ": " + last;
    return JobResult::Retry(why);
  }
  // The outcome waits for the server's confirmation (a plain JobContext,
  // in tests, acks once the message is written).
  JobContextImpl::Completer complete;
  if (auto* impl = dynamic_cast<JobContextImpl*>(&ctx))
    complete = impl->Defer();
  manager->Send(
      account_, m.to, m.body, m.type,
      [complete, account = account_](bool delivered) {
        if (!complete) return;
        complete(delivered
                     ? JobResult::Ok()
                     : JobResult::Retry("the link of xmpp account " + account +
                                        " failed before the server confirmed "
                                        "the message"));
      });
  return JobResult::Ok();
}

}  // namespace qd
