#include "core/listen/request_runner.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

namespace qd {

class RequestRunner::Context : public RequestContext {
 public:
  Context(const RequestRunner& runner, SessionRecord& record)
      : runner_(runner), record_(record) {}
  spdlog::logger& log() override { return *spdlog::default_logger(); }
  const std::string& listener() const override { return runner_.config_.name; }
  const std::string& connection() const override { return runner_.conn_; }
  const std::string& site() const override { return record_.site; }
  const std::string& account() const override { return record_.account; }
  SessionState& session() override { return record_.state; }

 private:
  const RequestRunner& runner_;
  SessionRecord& record_;
};

RequestRunner::RequestRunner(const ListenerConfig& config,
                             RequestHandler& handler, std::string conn)
    : config_(config), handler_(handler), conn_(std::move(conn)) {}

RequestRunner::Outcome RequestRunner::Run(bool login, std::string_view request,
                                          SessionRecord* record) {
  Outcome out;
  Context ctx(*this, *record);
  SessionState before = record->state;
  try {
    if (login) {
      out.login = handler_.Login(request, ctx);
      out.reply = out.login.reply;
      if (out.login.site.empty()) out.login.site = config_.site;
      record->ok = out.login.ok;
      record->site = out.login.site;
      record->account = out.login.account;
    } else {
      out.reply = handler_.Handle(request, ctx);
    }
  } catch (const std::exception& e) {
    spdlog::error("{} failed: {}", login ? "login" : "request", e.what());
    out.reply = handler_.ErrorReply();
    out.login = LoginResult::Deny(out.reply);
  } catch (...) {
    spdlog::error("{} failed: a non-standard exception",
                  login ? "login" : "request");
    out.reply = handler_.ErrorReply();
    out.login = LoginResult::Deny(out.reply);
  }
  out.changed = login || record->state != before;
  return out;
}

}  // namespace qd
