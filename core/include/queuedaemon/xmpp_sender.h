// XmppSender: the worker's XMPP links, for handlers that send messages.
//
// The daemon keeps one link per configured account (`xmpp:` in the
// config), not one per worker: each account lives in one worker slot, and
// only the worker in that slot holds its link. A handler gets the sender in
// HandlerConfig::xmpp when it is made (in the master, before the fork) and
// keeps the pointer; in a worker it then reaches that worker's links. In the
// master, and in a worker whose links are not up yet, it holds no account.
//
// Delivery: Send() writes the message on the account's link and calls
// `done` later, once. After the loop turn that wrote it, one delivery
// barrier (an XMPP ping) follows every message written since the last one;
// its answer calls each `done(true)`. A link that fails first calls them with
// false: retry those jobs (at least once delivery: a message the server got
// just before the failure may be sent twice).
//
// Not thread-safe: call it from the worker's loop (a handler's handle(), an
// IoManager's callback, a `done`), never from another thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace qd {

class XmppSender {
 public:
  // `delivered`: the server confirmed the message (true) or the link failed
  // before it did (false).
  using Done = std::function<void(bool delivered)>;
  // Called with an account's name whenever its link becomes ready or goes
  // down.
  using ChangeCallback = std::function<void(const std::string& account)>;
  enum class SendResult {
    kSent,     // written; `done` follows
    kDown,     // this worker holds the account, its link is not ready
    kNotHere,  // another worker holds the account (or nobody does)
  };

  virtual ~XmppSender() = default;

  // True when this worker holds `account`'s link (ready or not).
  virtual bool Holds(const std::string& account) const = 0;
  // True when this worker holds `account` and its link is ready to send.
  virtual bool Ready(const std::string& account) const = 0;
  // Why `account`'s link last failed ("" when it has not, or is not held
  // here): for the reason of a retry.
  virtual std::string LastError(const std::string& account) const = 0;

  // Writes a message ({to, body, type} of an XMPP <message>: `to` a JID,
  // `type` "chat" or "normal") on `account`'s link; `done` follows, as said
  // above. kDown and kNotHere write nothing and drop `done` without calling
  // it.
  virtual SendResult Send(const std::string& account, std::string_view to,
                          std::string_view body, std::string_view type,
                          Done done) = 0;

  // Registers `callback`, called from the worker's loop whenever a link of
  // this worker becomes ready or goes down: e.g. to call
  // HandlerConfig::fetch_again when a handler's FetchOpen() follows Ready().
  // Register in the factory; callbacks stay for the sender's lifetime.
  virtual void OnChange(ChangeCallback callback) = 0;
};

}  // namespace qd
