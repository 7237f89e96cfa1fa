#include "core/redis_conn.h"

#include <sys/time.h>

#include <vector>

namespace qd {
namespace {

constexpr timeval kConnectTimeout = {2, 0};

}  // namespace

RedisConn::~RedisConn() { redisFree(c_); }

Status RedisConn::Open(const RedisUrl& url, std::unique_ptr<RedisConn>* out,
                       timeval reply_timeout) {
  std::string name = "redis " + url.Describe();
  redisContext* c =
      url.is_unix
          ? redisConnectUnixWithTimeout(url.host.c_str(), kConnectTimeout)
          : redisConnectWithTimeout(url.host.c_str(), url.port,
                                    kConnectTimeout);
  if (c == nullptr) return Status::Error(name + ": out of memory");
  std::unique_ptr<RedisConn> conn(new RedisConn(c, std::move(name)));
  if (c->err != 0) return conn->Error(c->errstr);
  redisSetTimeout(c, reply_timeout);
  Status s = LogIn(c, url);
  if (!s.ok()) return conn->Error(s.message());
  *out = std::move(conn);
  return Status::Ok();
}

Status RedisConn::CheckLogin(const RedisUrl& url, timeval timeout) {
  RedisUrl server;  // where, without logging in
  server.is_unix = url.is_unix;
  server.host = url.host;
  server.port = url.port;
  std::unique_ptr<RedisConn> conn;
  if (!Open(server, &conn, timeout).ok()) return Status::Ok();
  Status s = LogIn(conn->c_, url);
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

Status RedisConn::LogIn(redisContext* c, const RedisUrl& url) {
  std::string db = std::to_string(url.db);
  std::vector<std::vector<std::string_view>> commands;
  if (url.has_auth()) commands.push_back(url.AuthArgs());
  if (url.db != 0) commands.push_back({"SELECT", db});
  for (const auto& args : commands) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (std::string_view a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    void* reply = redisCommandArgv(c, static_cast<int>(argv.size()),
                                   argv.data(), lens.data());
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
  AppendRaw(buf);
}

void RedisConn::AppendRaw(const RespBuffer& commands) {
  // Only fails on out-of-memory; the next Read() then reports c_->err.
  (void)redisAppendFormattedCommand(c_, commands.data().data(),
                                    commands.data().size());
}

Status RedisConn::Read(ReplyPtr* reply) {
  void* r = nullptr;
  if (redisGetReply(c_, &r) != REDIS_OK || r == nullptr) {
    return Error(c_->err != 0 ? c_->errstr : "connection lost");
  }
  reply->reset(static_cast<redisReply*>(r));
  return Status::Ok();
}

Status RedisConn::Error(const std::string& what) const {
  return Status::Error(name_ + ": " + what);
}

}  // namespace qd
