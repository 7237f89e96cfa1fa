#include "core/redis/redis_conn.h"

#include <sys/time.h>

#include <vector>

#include "core/redis/argv_of.h"
#include "core/redis/cluster_lookup.h"
#include "core/redis/cluster_slots.h"
#include "core/redis/redis_client.h"
#include "core/redis/redis_sentinel.h"

namespace qd {
namespace {

constexpr timeval kConnectTimeout = {2, 0};

// The server to connect to: `url` itself, or the master its Sentinels or
// its Cluster's nodes name (each asked within `each`).
Status LookUp(const RedisUrl& url, timeval each, RedisUrl* at) {
  if (url.via_sentinel()) return LookupMaster(url, each, at);
  if (url.via_cluster()) return LookupClusterNode(url, each, at);
  *at = url;
  return Status::Ok();
}

bool LooksUp(const RedisUrl& url) {
  return url.via_sentinel() || url.via_cluster();
}

}  // namespace

RedisConn::~RedisConn() { redisFree(c_); }

namespace {

// Connected, logged in and (`role`) checked to be a master, or null and
// *why (not naming the server).
redisContext* ConnectTo(const RedisUrl& at, timeval connect_timeout,
                        timeval reply_timeout, bool role, std::string* why) {
  redisContext* c =
      at.is_unix
          ? redisConnectUnixWithTimeout(at.host.c_str(), connect_timeout)
          : redisConnectWithTimeout(at.host.c_str(), at.port, connect_timeout);
  if (c == nullptr || c->err != 0) {
    *why = c != nullptr ? c->errstr : "out of memory";
    if (c != nullptr) redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, reply_timeout);
  Status s = RedisConn::LogIn(c, at);
  if (s.ok() && role) {
    ReplyPtr r(static_cast<redisReply*>(redisCommand(c, "ROLE")));
    // An error reply (a user not allowed ROLE) is let in unchecked.
    if (r == nullptr) {
      s = Status::Error(c->errstr);
    } else if (r->type != REDIS_REPLY_ERROR && !RoleIsMaster(r.get())) {
      s = Status::Error(std::string(at.cluster_key.empty() ? "the Sentinels"
                                                           : "the cluster") +
                        " named a server that is not the master (ROLE); a "
                        "failover may be under way");
    }
  }
  if (!s.ok()) {
    *why = s.message();
    redisFree(c);
    return nullptr;
  }
  return c;
}

}  // namespace

redisContext* RedisConn::Connect(const RedisUrl& url, timeval timeout,
                                 std::string* why) {
  RedisUrl at;
  // Each Sentinel (or node) briefly: the caller (the lease keeper) may hold
  // up a worker meanwhile.
  timeval each = {0, 300000};
  if (timercmp(&timeout, &each, <)) each = timeout;
  Status s = LookUp(url, each, &at);
  if (!s.ok()) {
    *why = s.message();
    return nullptr;
  }
  redisContext* c = ConnectTo(at, timeout, timeout, LooksUp(url), why);
  if (c == nullptr) *why = "redis " + at.Describe() + ": " + *why;
  return c;
}

Status RedisConn::Open(const RedisUrl& url, std::unique_ptr<RedisConn>* out,
                       timeval reply_timeout) {
  RedisUrl at;
  Status s = LookUp(url, kConnectTimeout, &at);
  if (!s.ok()) return s;
  std::string name = "redis " + at.Describe();
  std::string why;
  redisContext* c =
      ConnectTo(at, kConnectTimeout, reply_timeout, LooksUp(url), &why);
  if (c == nullptr) return Status::Error(name + ": " + why);
  out->reset(new RedisConn(c, std::move(name)));
  if (url.via_cluster()) {
    (*out)->cluster_ = true;
    (*out)->at_ = at;
    (*out)->reply_timeout_ = reply_timeout;
  }
  return Status::Ok();
}

Status RedisConn::CheckLogin(const RedisUrl& url, timeval timeout) {
  RedisUrl at;
  if (!LookUp(url, timeout, &at).ok()) {
    return Status::Ok();  // the clients ask again, and log why
  }
  RedisUrl server;  // where, without logging in
  server.is_unix = at.is_unix;
  server.host = at.host;
  server.port = at.port;
  std::unique_ptr<RedisConn> conn;
  if (!Open(server, &conn, timeout).ok()) return Status::Ok();
  Status s = LogIn(conn->c_, at);
  s = s.ok() ? conn->Call({"PING"}) : conn->Error(s.message());
  if (s.ok()) return s;
  // Only a refusal is final; a server loading its data (LOADING), busy
  // with a script (BUSY) or slow to answer is the clients' to retry.
  for (const char* refusal : {"NOAUTH", "WRONGPASS", "invalid password",
                              "invalid username", "DB index"}) {
    if (s.message().find(refusal) != std::string::npos) return s;
  }
  return Status::Ok();
}

Status RedisConn::CheckSlot(const RedisUrl& url, timeval timeout,
                            const std::vector<std::string>& keys) {
  // Looked up in the cluster: a MOVED now is a slot moving, which the
  // clients follow.
  if (url.via_cluster()) return Status::Ok();
  std::unique_ptr<RedisConn> conn;
  if (!Open(url, &conn, timeout).ok()) return Status::Ok();
  for (const std::string& key : keys) conn->Append({"EXISTS", key});
  for (const std::string& key : keys) {
    ReplyPtr r;
    if (!conn->Read(&r).ok()) return Status::Ok();
    if (!ReplyIsRedirect(r.get())) continue;
    return conn->Error(
        "a Redis Cluster node that does not hold " + key + " (" +
        std::string(ReplyString(r.get())) +
        "); a url names one node, which does not follow Cluster "
        "redirections: give the site redis: { cluster: [host:port, ...] } "
        "(docs/scaling-out.md, \"Redis Cluster\")");
  }
  return Status::Ok();
}

Status RedisConn::LogIn(redisContext* c, const RedisUrl& url) {
  std::string db = std::to_string(url.db);
  std::vector<std::vector<std::string_view>> commands;
  if (url.has_auth()) commands.push_back(url.AuthArgs());
  if (url.db != 0) commands.push_back({"SELECT", db});
  for (const auto& args : commands) {
    ArgvOf command(args);
    void* reply = redisCommandArgv(c, command.argc(), command.argv.data(),
                                   command.lens.data());
    if (reply == nullptr) {
      return Status::Error(c->err != 0 ? c->errstr : "connection lost");
    }
    ReplyPtr r(static_cast<redisReply*>(reply));
    if (r->type == REDIS_REPLY_ERROR) {
      std::string what = args[0] == "AUTH" ? url.AuthName() : "SELECT";
      return Status::Error(
          what + " failed: " + url.Redact(std::string(r->str, r->len)));
    }
  }
  return Status::Ok();
}

Status RedisConn::Call(const std::vector<std::string_view>& args,
                       ReplyPtr* reply) {
  Append(args);
  ReplyPtr r;
  Status s = Read(&r);
  if (!s.ok()) return s;
  if (r->type == REDIS_REPLY_ERROR) {
    return Error(std::string(args[0]) + ": " + std::string(r->str, r->len));
  }
  if (reply != nullptr) *reply = std::move(r);
  return Status::Ok();
}

void RedisConn::Append(const std::vector<std::string_view>& args) {
  RespBuffer buf;
  buf.Add(args);
  // Only fails on out-of-memory; the next Read() then reports c_->err.
  (void)redisAppendFormattedCommand(c_, buf.data().data(), buf.data().size());
  if (cluster_ && !args.empty()) {
    queued_.push_back(ask_filter_.Followable(args[0]) ? buf.data()
                                                      : std::string());
  }
}

void RedisConn::AppendRaw(const RespBuffer& commands) {
  (void)redisAppendFormattedCommand(c_, commands.data().data(),
                                    commands.data().size());
  if (cluster_) queued_.insert(queued_.end(), commands.commands(), "");
}

Status RedisConn::Read(ReplyPtr* reply) {
  void* r = nullptr;
  if (redisGetReply(c_, &r) != REDIS_OK || r == nullptr) {
    return Error(c_->err != 0 ? c_->errstr : "connection lost");
  }
  reply->reset(static_cast<redisReply*>(r));
  if (!cluster_ || queued_.empty()) return Status::Ok();
  std::string command = std::move(queued_.front());
  queued_.pop_front();
  std::string_view text = ReplyString(reply->get());
  if (command.empty() || (*reply)->type != REDIS_REPLY_ERROR ||
      text.substr(0, 4) != "ASK ") {
    return Status::Ok();
  }
  ReplyPtr ask = std::move(*reply);
  return FollowAsk(ask.get(), command, reply);
}

Status RedisConn::FollowAsk(const redisReply* ask, const std::string& command,
                            ReplyPtr* reply) {
  std::string text(ReplyString(ask));
  ClusterRedirect to;
  if (!ParseRedirect(text, at_.host, &to)) return Error(text);
  RedisUrl node = at_;
  node.host = to.node.host;
  node.port = to.node.port;
  std::string where = "redis " + node.Describe() + " (" + text + "): ";
  std::string why;
  redisContext* c =
      ConnectTo(node, kConnectTimeout, reply_timeout_, false, &why);
  if (c == nullptr) return Status::Error(where + why);
  static constexpr char kAsking[] = "*1\r\n$6\r\nASKING\r\n";
  (void)redisAppendFormattedCommand(c, kAsking, sizeof(kAsking) - 1);
  (void)redisAppendFormattedCommand(c, command.data(), command.size());
  void* asking = nullptr;
  void* r = nullptr;
  bool ok = redisGetReply(c, &asking) == REDIS_OK &&
            redisGetReply(c, &r) == REDIS_OK && r != nullptr;
  if (asking != nullptr) freeReplyObject(asking);
  if (!ok) why = c->err != 0 ? c->errstr : "connection lost";
  redisFree(c);
  if (!ok) return Status::Error(where + why);
  reply->reset(static_cast<redisReply*>(r));
  return Status::Ok();
}

Status RedisConn::Error(const std::string& what) const {
  return Status::Error(name_ + ": " + what);
}

}  // namespace qd
