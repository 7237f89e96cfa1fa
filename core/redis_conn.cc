#include "core/redis_conn.h"

#include <sys/time.h>

namespace qd {
namespace {

constexpr timeval kConnectTimeout = {2, 0};
constexpr timeval kReplyTimeout = {30, 0};

}  // namespace

RedisConn::~RedisConn() { redisFree(c_); }

Status RedisConn::Open(const RedisUrl& url, std::unique_ptr<RedisConn>* out) {
  std::string name = "redis " + url.Describe();
  redisContext* c =
      url.is_unix
          ? redisConnectUnixWithTimeout(url.host.c_str(), kConnectTimeout)
          : redisConnectWithTimeout(url.host.c_str(), url.port,
                                    kConnectTimeout);
  if (c == nullptr) return Status::Error(name + ": out of memory");
  std::unique_ptr<RedisConn> conn(new RedisConn(c, std::move(name)));
  if (c->err != 0) return conn->Error(c->errstr);
  redisSetTimeout(c, kReplyTimeout);
  if (url.db != 0) {
    Status s = conn->Call({"SELECT", std::to_string(url.db)});
    if (!s.ok()) return s;
  }
  *out = std::move(conn);
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
