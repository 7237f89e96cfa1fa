#include "core/request_runner.h"

#include <spdlog/spdlog.h>

#include <exception>

#include "core/redis_client.h"
#include "core/redis_url.h"
#include "core/units.h"

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
                             RequestHandler& handler, std::string conn,
                             std::string redis_url)
    : config_(config),
      handler_(handler),
      conn_(std::move(conn)),
      key_(SessionRecord::Key(config.prefix, conn_)),
      redis_url_(std::move(redis_url)) {
  record_.listener = config.name;
  record_.site = config.site;
}

RequestRunner::~RequestRunner() = default;

RequestRunner::Outcome RequestRunner::Run(bool login, std::string_view request,
                                          const std::string& site,
                                          const std::string& account,
                                          bool saved) {
  saved_ = saved_ || saved;
  if (!login) {
    if (!site.empty()) record_.site = site;
    record_.account = account;
    record_.ok = !account.empty();
    if (saved_ && !loaded_) Load();
  }
  Outcome out;
  Context ctx(*this, record_);
  SessionState before = record_.state;
  try {
    if (login) {
      out.login = handler_.Login(request, ctx);
      out.reply = out.login.reply;
      if (out.login.site.empty()) out.login.site = config_.site;
      record_.ok = out.login.ok;
      record_.site = out.login.site;
      record_.account = out.login.account;
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
  loaded_ = true;  // what the handler saw is the state from now on
  dirty_ = dirty_ || login || record_.state != before;
  out.saved = saved_ || dirty_;
  out.saving = dirty_;
  return out;
}

void RequestRunner::Flush() {
  if (!dirty_) return;
  dirty_ = false;
  saved_ = Save() || saved_;
}

void RequestRunner::Load() {
  RedisConn* redis = Redis();
  if (redis == nullptr) return;
  ReplyPtr reply;
  Status s = redis->Call({"GET", key_}, &reply);
  if (!s.ok()) {
    spdlog::error("cannot load session {}: {}", key_, s.message());
    redis_.reset();
    return;
  }
  loaded_ = true;
  if (reply->type == REDIS_REPLY_NIL) {
    spdlog::warn("session {} is gone (expired?): starting empty", key_);
    return;
  }
  SessionRecord stored;
  s = SessionRecord::Decode(ReplyString(reply.get()), &stored);
  if (!s.ok()) {
    spdlog::error("session {} ignored: {}", key_, s.message());
    return;
  }
  record_.state = std::move(stored.state);
}

bool RequestRunner::Save() {
  RedisConn* redis = Redis();
  if (redis == nullptr) return false;
  record_.updated_ms = EpochMs();
  std::string ttl = std::to_string(config_.session_ttl.count());
  Status s = redis->Call({"SET", key_, record_.Encode(), "PX", ttl});
  if (!s.ok()) {
    spdlog::error("cannot save session {}: {}", key_, s.message());
    redis_.reset();
    return false;
  }
  return true;
}

void RequestRunner::Forget() {
  if (!saved_) return;
  if (RedisConn* redis = Redis()) {
    Status s = redis->Call({"DEL", key_});
    if (!s.ok())
      spdlog::warn("cannot delete session {}: {}", key_, s.message());
  }
}

RedisConn* RequestRunner::Redis() {
  if (redis_) return redis_.get();
  RedisUrl url;
  Status s = RedisUrl::Parse(redis_url_, &url);
  if (s.ok()) s = RedisConn::Open(url, &redis_);
  if (!s.ok()) {
    spdlog::error("session store: {}", s.message());
    return nullptr;
  }
  return redis_.get();
}

}  // namespace qd
