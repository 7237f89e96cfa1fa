// RequestRunner: runs one connection's requests in a request worker.
//
// A request worker serves exactly one connection for its whole life (the
// master never hands a worker to another connection), so the runner keeps
// that connection's session in memory once loaded. Around every call of the
// listener's RequestHandler it
//   - loads the session from Redis (PREFIX:session:CONN) the first time, if
//     the master says one was saved;
//   - calls Login() or Handle(), turning an exception into ErrorReply();
//   - marks the record for saving after a login (the outcome, for whoever
//     looks) and after a request that changed the state; Flush() saves it.
// The workers reply first and Flush() after (write-behind): the client does
// not wait for Redis. A worker that dies between the two leaves the session
// as it was before that request. The master orders the rest (Listener: a
// connection gets no new worker while the old one may still be saving).
// Redis trouble is logged and costs the session's persistence only: the
// reply still goes out, and the master keeps the login outcome. Blocking;
// used only in a request worker.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/redis_conn.h"
#include "core/session_record.h"
#include "queuedaemon/request_handler.h"

namespace qd {

class RequestRunner {
 public:
  struct Outcome {
    std::string reply;
    bool saved = false;   // the session is in Redis (or will be at Flush)
    bool saving = false;  // Flush() has a save to do
    LoginResult login;    // for a login request
  };

  RequestRunner(const ListenerConfig& config, RequestHandler& handler,
                std::string conn, std::string redis_url);
  ~RequestRunner();

  // Runs `request` as a login (`login` true) or an ordinary request of a
  // connection logged in as `account` for `site`; `saved` says the master
  // knows of a saved session.
  Outcome Run(bool login, std::string_view request, const std::string& site,
              const std::string& account, bool saved);

  // Saves the record if Run() left it changed; blocking.
  void Flush();

  std::string ErrorReply() const { return handler_.ErrorReply(); }

  // Deletes the saved session (a fork-personality worker, at the end).
  void Forget();

 private:
  class Context;
  void Load();
  bool Save();
  RedisConn* Redis();

  const ListenerConfig& config_;
  RequestHandler& handler_;
  std::string conn_;
  std::string key_;
  std::string redis_url_;
  std::unique_ptr<RedisConn> redis_;
  SessionRecord record_;
  bool loaded_ = false;
  bool saved_ = false;
  bool dirty_ = false;  // changed since the last save
};

}  // namespace qd
