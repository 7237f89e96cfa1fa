// RequestRunner: runs one request of a connection in a request worker.
//
// Around every call of the listener's RequestHandler it builds the
// RequestContext from the connection's SessionRecord (site, account, session
// state), calls Login() or Handle(), turns an exception into ErrorReply(),
// and says whether the state changed. Where the record lives is the caller's
// business:
//   - a multiplex worker gets the state from the master with each request
//     and hands a changed state back with the reply; the master keeps it
//     and saves it to Redis behind the replies (Listener);
//   - a fork-personality worker keeps the record for its connection's life
//     and saves it itself (request_worker.cc).
#pragma once

#include <string>
#include <string_view>

#include "core/config/config.h"
#include "core/listen/session_record.h"
#include "queuedaemon/request_handler.h"

namespace qd {

class RequestRunner {
 public:
  struct Outcome {
    std::string reply;
    LoginResult login;     // for a login request
    bool changed = false;  // a login, or a request that changed the state
  };

  RequestRunner(const ListenerConfig& config, RequestHandler& handler,
                std::string conn);

  // Runs `request` as a login (`login` true) or an ordinary request of the
  // connection `record` describes. The handler changes record->state; a
  // login fills in ok, site and account.
  Outcome Run(bool login, std::string_view request, SessionRecord* record);

  std::string ErrorReply() const { return handler_.ErrorReply(); }

 private:
  class Context;

  const ListenerConfig& config_;
  RequestHandler& handler_;
  std::string conn_;
};

}  // namespace qd
