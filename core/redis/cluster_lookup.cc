#include "core/redis/cluster_lookup.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>

#include <string_view>
#include <utility>

namespace qd {
namespace {

std::string_view Text(const redisReply* r) {
  return r != nullptr && r->str != nullptr ? std::string_view(r->str, r->len)
                                           : std::string_view();
}

std::string Where(const RedisUrl::Server& s) {
  return ClusterNode{s.host, s.port}.Describe();
}

// "node 10.0.0.1:7000: <why>", joined by "; ".
void Note(std::string* errors, const RedisUrl::Server& s,
          const std::string& why) {
  if (!errors->empty()) *errors += "; ";
  *errors += "node " + Where(s) + ": " + why;
}

Status NoNode(const RedisUrl& url, const std::string& errors) {
  return Status::Error("redis " + url.Describe() +
                       ": no Cluster node gave the slot's master (" + errors +
                       ")");
}

// The seeds, then the known nodes that are not seeds.
std::vector<RedisUrl::Server> ToAsk(
    const RedisUrl& url, const std::vector<RedisUrl::Server>& known) {
  std::vector<RedisUrl::Server> ask = url.cluster;
  for (const RedisUrl::Server& k : known) {
    bool seed = false;
    for (const RedisUrl::Server& s : url.cluster) {
      seed = seed || (s.host == k.host && s.port == k.port);
    }
    if (!seed) ask.push_back(k);
  }
  return ask;
}

// AUTH's arguments as argv.
struct Argv {
  explicit Argv(const std::vector<std::string_view>& args) {
    for (std::string_view a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
  }
  int argc() const { return static_cast<int>(argv.size()); }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
};

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
  for (const RedisUrl::Server& s : url.cluster) {
    redisContext* c = redisConnectWithTimeout(s.host.c_str(), s.port, timeout);
    if (c == nullptr || c->err != 0) {
      Note(&errors, s, c != nullptr ? c->errstr : "out of memory");
      if (c != nullptr) redisFree(c);
      continue;
    }
    redisSetTimeout(c, timeout);
    Status st = Status::Ok();
    if (url.has_auth()) {
      Argv auth(url.AuthArgs());
      auto* r = static_cast<redisReply*>(
          redisCommandArgv(c, auth.argc(), auth.argv.data(), auth.lens.data()));
      if (r == nullptr || r->type == REDIS_REPLY_ERROR) {
        st = Status::Error(url.AuthName() + " failed: " +
                           url.Redact(r != nullptr ? std::string(Text(r))
                                                   : std::string(c->errstr)));
      }
      if (r != nullptr) freeReplyObject(r);
    }
    if (st.ok()) {
      auto* r = static_cast<redisReply*>(
          redisCommandArgv(c, 2, kSlotsArgv, kSlotsLens));
      ClusterSlots map;
      st = r != nullptr ? NodeFromSlots(url, r, s.host, &map, node)
                        : Status::Error(c->errstr);
      if (r != nullptr) freeReplyObject(r);
    }
    redisFree(c);
    if (st.ok()) return st;
    Note(&errors, s, st.message());
  }
  return NoNode(url, errors);
}

ClusterLookup::ClusterLookup(event_base* base, timeval timeout)
    : base_(base), timeout_(timeout) {
  timer_ = evtimer_new(base_, &ClusterLookup::OnTimeout, this);
}

ClusterLookup::~ClusterLookup() {
  Cancel();
  event_free(timer_);
}

void ClusterLookup::Start(const RedisUrl& url, Done done) {
  Cancel();
  url_ = url;
  done_ = std::move(done);
  ask_ = ToAsk(url_, known_);
  next_ = 0;
  errors_.clear();
  AskNext();
}

void ClusterLookup::Cancel() {
  done_ = nullptr;
  Close();
}

void ClusterLookup::Close() {
  evtimer_del(timer_);
  if (ac_ == nullptr) return;
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;
  ac->data = nullptr;  // its callbacks (null replies) find no owner
  redisAsyncFree(ac);
}

// AUTH (with credentials) and CLUSTER SLOTS are queued at once; hiredis
// sends them when the connect is done. A refused connect ends in a null
// reply (as in SentinelLookup).
void ClusterLookup::AskNext() {
  if (next_ >= ask_.size()) {
    Finish(NoNode(url_, errors_), RedisUrl());
    return;
  }
  const RedisUrl::Server& s = ask_[next_];
  ac_ = redisAsyncConnect(s.host.c_str(), s.port);
  if (ac_ == nullptr || ac_->err != 0) {
    std::string why = ac_ != nullptr ? ac_->errstr : "out of memory";
    if (ac_ != nullptr) redisAsyncFree(ac_);
    ac_ = nullptr;
    Failed(why);
    return;
  }
  ac_->data = this;
  redisLibeventAttach(ac_, base_);
  redisAsyncSetDisconnectCallback(ac_, &ClusterLookup::OnDisconnect);
  if (url_.has_auth()) {
    Argv auth(url_.AuthArgs());
    redisAsyncCommandArgv(ac_, &ClusterLookup::OnAuth, nullptr, auth.argc(),
                          auth.argv.data(), auth.lens.data());
  }
  redisAsyncCommandArgv(ac_, &ClusterLookup::OnSlots, nullptr, 2, kSlotsArgv,
                        kSlotsLens);
  evtimer_add(timer_, &timeout_);
}

void ClusterLookup::Failed(const std::string& why) {
  Close();
  Note(&errors_, ask_[next_], why);
  ++next_;
  AskNext();
}

void ClusterLookup::OnAuth(redisAsyncContext* ac, void* reply, void*) {
  auto* self = static_cast<ClusterLookup*>(ac->data);
  auto* r = static_cast<redisReply*>(reply);
  if (self == nullptr || r == nullptr) return;  // OnSlots hears of a loss
  if (r->type == REDIS_REPLY_ERROR) {
    self->Failed(self->url_.AuthName() +
                 " failed: " + self->url_.Redact(std::string(Text(r))));
  }
}

void ClusterLookup::OnSlots(redisAsyncContext* ac, void* reply, void*) {
  auto* self = static_cast<ClusterLookup*>(ac->data);
  auto* r = static_cast<redisReply*>(reply);
  if (self == nullptr) return;  // closed by us
  if (r == nullptr) {  // refused or lost: hiredis is freeing the context
    self->ac_ = nullptr;
    ac->data = nullptr;
    self->Failed(ac->errstr[0] != '\0' ? ac->errstr : "connection lost");
    return;
  }
  ClusterSlots map;
  RedisUrl node;
  Status s =
      NodeFromSlots(self->url_, r, self->ask_[self->next_].host, &map, &node);
  if (!s.ok()) {
    self->Failed(s.message());
    return;
  }
  self->known_.clear();
  for (const ClusterNode& n : map.Nodes()) {
    if (self->known_.size() == kMaxKnown) break;
    self->known_.push_back({n.host, n.port});
  }
  self->Close();  // freed by hiredis once this callback returns
  self->Finish(Status::Ok(), std::move(node));
}

void ClusterLookup::OnDisconnect(const redisAsyncContext* ac, int) {
  auto* self = static_cast<ClusterLookup*>(ac->data);
  if (self == nullptr) return;
  self->ac_ = nullptr;  // hiredis frees it
  self->Failed(ac->errstr[0] != '\0' ? ac->errstr : "connection closed");
}

void ClusterLookup::OnTimeout(int, short, void* arg) {
  auto* self = static_cast<ClusterLookup*>(arg);
  self->Failed("no answer within " +
               std::to_string(self->timeout_.tv_sec * 1000 +
                              self->timeout_.tv_usec / 1000) +
               " ms");
}

// Last: the callback may start another lookup or destroy this object.
void ClusterLookup::Finish(const Status& status, RedisUrl node) {
  Done done = std::move(done_);
  done_ = nullptr;
  if (done) done(status, std::move(node));
}

}  // namespace qd
