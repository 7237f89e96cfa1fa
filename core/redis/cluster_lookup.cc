#include "core/redis/cluster_lookup.h"

#include <hiredis/async.h>

#include <string_view>
#include <utility>

#include "core/redis/argv_of.h"

namespace qd {
namespace {

Status NoNode(const RedisUrl& url, const std::string& errors) {
  return Status::Error("redis " + url.Describe() +
                       ": no Cluster node gave the slot's master (" + errors +
                       ")");
}

// AUTH's reply (null: the connection's error `lost`).
Status AuthStatus(const RedisUrl& url, const redisReply* r,
                  const std::string& lost) {
  if (r != nullptr && r->type != REDIS_REPLY_ERROR) return Status::Ok();
  return Status::Error(
      url.AuthName() + " failed: " +
      url.Redact(r != nullptr ? std::string(ReplyText(r)) : lost));
}

const char* kSlotsArgv[] = {"CLUSTER", "SLOTS"};
const size_t kSlotsLens[] = {7, 5};

}  // namespace

Status NodeFromSlots(const RedisUrl& url, const redisReply* reply,
                     const std::string& asked_host, ClusterSlots* map,
                     RedisUrl* node) {
  Status s = map->Parse(reply, asked_host);
  if (!s.ok()) return Status::Error(url.Redact(s.message()));
  int slot = KeySlot(url.cluster_key);
  const ClusterNode* master = map->MasterOf(slot);
  if (master == nullptr) {
    return Status::Error("slot " + std::to_string(slot) + " of " +
                         url.cluster_key + " is served by no node");
  }
  *node = url;
  node->cluster.clear();
  node->is_unix = false;
  node->host = master->host;
  node->port = master->port;
  node->db = 0;
  return Status::Ok();
}

Status LookupClusterNode(const RedisUrl& url, timeval timeout, RedisUrl* node) {
  std::string errors;
  Status st = AskEachServerBlocking(
      url.cluster, timeout, "node",
      [&](redisContext* c, const RedisUrl::Server& at) {
        if (url.has_auth()) {
          ArgvOf auth(url.AuthArgs());
          auto* r = static_cast<redisReply*>(redisCommandArgv(
              c, auth.argc(), auth.argv.data(), auth.lens.data()));
          Status a = AuthStatus(url, r, c->errstr);
          if (r != nullptr) freeReplyObject(r);
          if (!a.ok()) return a;
        }
        auto* r = static_cast<redisReply*>(
            redisCommandArgv(c, 2, kSlotsArgv, kSlotsLens));
        ClusterSlots map;
        Status s = r != nullptr ? NodeFromSlots(url, r, at.host, &map, node)
                                : Status::Error(c->errstr);
        if (r != nullptr) freeReplyObject(r);
        return s;
      },
      &errors);
  return st.ok() ? st : NoNode(url, errors);
}

ClusterLookup::ClusterLookup(event_base* base, timeval timeout)
    : AskEachServer(base, timeout, "node") {}

// The seeds, then the known nodes that are not seeds.
std::vector<RedisUrl::Server> ClusterLookup::ServersToAsk(const RedisUrl& url) {
  std::vector<RedisUrl::Server> ask = url.cluster;
  for (const RedisUrl::Server& k : known_) {
    bool seed = false;
    for (const RedisUrl::Server& s : url.cluster) {
      seed = seed || (s.host == k.host && s.port == k.port);
    }
    if (!seed) ask.push_back(k);
  }
  return ask;
}

// AUTH (with credentials) and CLUSTER SLOTS.
void ClusterLookup::Queue(redisAsyncContext* ac) {
  if (url().has_auth()) {
    ArgvOf auth(url().AuthArgs());
    redisAsyncCommandArgv(ac, &ClusterLookup::OnAuth, nullptr, auth.argc(),
                          auth.argv.data(), auth.lens.data());
  }
  redisAsyncCommandArgv(ac, &AskEachServer::OnAnswer, nullptr, 2, kSlotsArgv,
                        kSlotsLens);
}

void ClusterLookup::OnAuth(redisAsyncContext* ac, void* reply, void*) {
  auto* self = static_cast<ClusterLookup*>(ac->data);
  auto* r = static_cast<redisReply*>(reply);
  if (self == nullptr || r == nullptr) return;  // OnAnswer hears of a loss
  Status a = AuthStatus(self->url(), r, "");
  if (!a.ok()) self->Failed(a.message());
}

Status ClusterLookup::Answer(const redisReply* reply,
                             const RedisUrl::Server& asked, RedisUrl* node) {
  ClusterSlots map;
  Status s = NodeFromSlots(url(), reply, asked.host, &map, node);
  if (!s.ok()) return s;
  known_.clear();
  for (const ClusterNode& n : map.Nodes()) {
    if (known_.size() == kMaxKnown) break;
    known_.push_back({n.host, n.port});
  }
  return s;
}

Status ClusterLookup::NoneAnswered(const std::string& errors) {
  return NoNode(url(), errors);
}

}  // namespace qd
