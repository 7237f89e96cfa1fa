#include "core/redis/redis_sentinel.h"

#include <hiredis/async.h>

#include <charconv>
#include <string_view>
#include <utility>

namespace qd {
namespace {

constexpr const char kGetMaster[] = "get-master-addr-by-name";

Status NoMaster(const RedisUrl& url, const std::string& errors) {
  return Status::Error("redis " + url.Describe() +
                       ": no Sentinel gave the master (" + errors + ")");
}

RedisUrl At(const RedisUrl& url, std::string host, int port) {
  RedisUrl master = url;
  master.sentinels.clear();
  master.is_unix = false;
  master.host = std::move(host);
  master.port = port;
  return master;
}

}  // namespace

Status ParseMasterAddr(const redisReply* r, std::string* host, int* port) {
  if (r == nullptr) return Status::Error("connection lost");
  if (r->type == REDIS_REPLY_ERROR)
    return Status::Error(std::string(ReplyText(r)));
  if (r->type == REDIS_REPLY_NIL) {
    return Status::Error("does not monitor that master");
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
      r->element[0]->type != REDIS_REPLY_STRING ||
      r->element[1]->type != REDIS_REPLY_STRING) {
    return Status::Error("unexpected reply to SENTINEL " +
                         std::string(kGetMaster));
  }
  std::string_view p = ReplyText(r->element[1]);
  int value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || value < 1 ||
      value > 65535 || r->element[0]->len == 0) {
    return Status::Error("unexpected master address '" +
                         std::string(ReplyText(r->element[0])) + ":" +
                         std::string(p) + "'");
  }
  *host = std::string(ReplyText(r->element[0]));
  *port = value;
  return Status::Ok();
}

bool RoleIsMaster(const redisReply* r) {
  return r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
         ReplyText(r->element[0]) == "master";
}

Status LookupMaster(const RedisUrl& url, timeval timeout, RedisUrl* master) {
  std::string errors;
  Status st = AskEachServerBlocking(
      url.sentinels, timeout, "sentinel",
      [&](redisContext* c, const RedisUrl::Server&) {
        const char* argv[] = {"SENTINEL", kGetMaster, url.master_name.c_str()};
        size_t lens[] = {8, sizeof(kGetMaster) - 1, url.master_name.size()};
        auto* r = static_cast<redisReply*>(redisCommandArgv(c, 3, argv, lens));
        std::string host;
        int port = 0;
        Status s = r != nullptr ? ParseMasterAddr(r, &host, &port)
                                : Status::Error(c->errstr);
        if (r != nullptr) freeReplyObject(r);
        if (s.ok()) *master = At(url, std::move(host), port);
        return s;
      },
      &errors);
  return st.ok() ? st : NoMaster(url, errors);
}

SentinelLookup::SentinelLookup(event_base* base, timeval timeout)
    : AskEachServer(base, timeout, "sentinel") {}

std::vector<RedisUrl::Server> SentinelLookup::ServersToAsk(
    const RedisUrl& url) {
  return url.sentinels;
}

void SentinelLookup::Queue(redisAsyncContext* ac) {
  const char* argv[] = {"SENTINEL", kGetMaster, url().master_name.c_str()};
  size_t lens[] = {8, sizeof(kGetMaster) - 1, url().master_name.size()};
  redisAsyncCommandArgv(ac, &AskEachServer::OnAnswer, nullptr, 3, argv, lens);
}

Status SentinelLookup::Answer(const redisReply* reply, const RedisUrl::Server&,
                              RedisUrl* master) {
  std::string host;
  int port = 0;
  Status s = ParseMasterAddr(reply, &host, &port);
  if (s.ok()) *master = At(url(), std::move(host), port);
  return s;
}

Status SentinelLookup::NoneAnswered(const std::string& errors) {
  return NoMaster(url(), errors);
}

}  // namespace qd
