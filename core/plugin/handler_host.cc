#include "core/plugin/handler_host.h"

#include <utility>

namespace qd {

bool HandlerHost::Holds(const std::string& account) const {
  return xmpp_ != nullptr && xmpp_->Holds(account);
}

bool HandlerHost::Ready(const std::string& account) const {
  return xmpp_ != nullptr && xmpp_->Ready(account);
}

std::string HandlerHost::LastError(const std::string& account) const {
  return xmpp_ != nullptr ? xmpp_->LastError(account) : std::string();
}

HandlerHost::SendResult HandlerHost::Send(const std::string& account,
                                          std::string_view to,
                                          std::string_view body,
                                          std::string_view type, Done done) {
  if (xmpp_ == nullptr) return SendResult::kNotHere;
  return xmpp_->Send(account, to, body, type, std::move(done));
}

void HandlerHost::OnChange(ChangeCallback callback) {
  on_change_.push_back(std::move(callback));
}

// The sender keeps this forwarder for its lifetime; once detached (or
// replaced) it no longer reaches the handlers.
void HandlerHost::AttachXmpp(XmppSender* sender) {
  xmpp_ = sender;
  sender->OnChange([this, sender](const std::string& account) {
    if (xmpp_ != sender) return;
    for (const auto& callback : on_change_) callback(account);
  });
}

void HandlerHost::AttachQueues(std::function<void()> fetch_again) {
  fetch_again_ = std::move(fetch_again);
}

void HandlerHost::Detach() {
  xmpp_ = nullptr;
  fetch_again_ = nullptr;
}

void HandlerHost::FetchAgain() const {
  if (fetch_again_) fetch_again_();
}

}  // namespace qd
