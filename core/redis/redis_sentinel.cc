#include "core/redis/redis_sentinel.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>

#include <charconv>
#include <string_view>
#include <utility>

namespace qd {
namespace {

constexpr const char kGetMaster[] = "get-master-addr-by-name";

std::string_view Text(const redisReply* r) {
  return r != nullptr && r->str != nullptr ? std::string_view(r->str, r->len)
                                           : std::string_view();
}

std::string Where(const RedisUrl::Server& s) {
  return s.host + ":" + std::to_string(s.port);
}

// "sentinel 10.0.0.1:26379: <why>", joined by "; ".
void Note(std::string* errors, const RedisUrl::Server& s,
          const std::string& why) {
  if (!errors->empty()) *errors += "; ";
  *errors += "sentinel " + Where(s) + ": " + why;
}

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
  if (r->type == REDIS_REPLY_ERROR) return Status::Error(std::string(Text(r)));
  if (r->type == REDIS_REPLY_NIL) {
    return Status::Error("does not monitor that master");
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
      r->element[0]->type != REDIS_REPLY_STRING ||
      r->element[1]->type != REDIS_REPLY_STRING) {
    return Status::Error("unexpected reply to SENTINEL " +
                         std::string(kGetMaster));
  }
  std::string_view p = Text(r->element[1]);
  int value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || value < 1 ||
      value > 65535 || r->element[0]->len == 0) {
    return Status::Error("unexpected master address '" +
                         std::string(Text(r->element[0])) + ":" +
                         std::string(p) + "'");
  }
  *host = std::string(Text(r->element[0]));
  *port = value;
  return Status::Ok();
}

bool RoleIsMaster(const redisReply* r) {
  return r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
         Text(r->element[0]) == "master";
}

Status LookupMaster(const RedisUrl& url, timeval timeout, RedisUrl* master) {
  std::string errors;
  for (const RedisUrl::Server& s : url.sentinels) {
    redisContext* c = redisConnectWithTimeout(s.host.c_str(), s.port, timeout);
    if (c == nullptr || c->err != 0) {
      Note(&errors, s, c != nullptr ? c->errstr : "out of memory");
      if (c != nullptr) redisFree(c);
      continue;
    }
    redisSetTimeout(c, timeout);
    const char* argv[] = {"SENTINEL", kGetMaster, url.master_name.c_str()};
    size_t lens[] = {8, sizeof(kGetMaster) - 1, url.master_name.size()};
    auto* r = static_cast<redisReply*>(redisCommandArgv(c, 3, argv, lens));
    std::string host;
    int port = 0;
    Status st = r != nullptr ? ParseMasterAddr(r, &host, &port)
                             : Status::Error(c->errstr);
    if (r != nullptr) freeReplyObject(r);
    redisFree(c);
    if (st.ok()) {
      *master = At(url, std::move(host), port);
      return st;
    }
    Note(&errors, s, st.message());
  }
  return NoMaster(url, errors);
}

SentinelLookup::SentinelLookup(event_base* base, timeval timeout)
    : base_(base), timeout_(timeout) {
  timer_ = evtimer_new(base_, &SentinelLookup::OnTimeout, this);
}

SentinelLookup::~SentinelLookup() {
  Cancel();
  event_free(timer_);
}

void SentinelLookup::Start(const RedisUrl& url, Done done) {
  Cancel();
  url_ = url;
  done_ = std::move(done);
  next_ = 0;
  errors_.clear();
  AskNext();
}

void SentinelLookup::Cancel() {
  done_ = nullptr;
  Close();
}

void SentinelLookup::Close() {
  evtimer_del(timer_);
  if (ac_ == nullptr) return;
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;
  ac->data = nullptr;  // its callbacks (null replies) find no owner
  redisAsyncFree(ac);
}

// The command is queued at once; hiredis sends it when the connect is done.
// A refused connect ends in OnReply with a null reply (hiredis frees the
// context and fails what was queued; OnDisconnect is only for connections
// that were made).
void SentinelLookup::AskNext() {
  if (next_ >= url_.sentinels.size()) {
    Finish(NoMaster(url_, errors_), RedisUrl());
    return;
  }
  const RedisUrl::Server& s = url_.sentinels[next_];
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
  redisAsyncSetDisconnectCallback(ac_, &SentinelLookup::OnDisconnect);
  const char* argv[] = {"SENTINEL", kGetMaster, url_.master_name.c_str()};
  size_t lens[] = {8, sizeof(kGetMaster) - 1, url_.master_name.size()};
  redisAsyncCommandArgv(ac_, &SentinelLookup::OnReply, nullptr, 3, argv, lens);
  evtimer_add(timer_, &timeout_);
}

void SentinelLookup::Failed(const std::string& why) {
  Close();
  Note(&errors_, url_.sentinels[next_], why);
  ++next_;
  AskNext();
}

void SentinelLookup::OnReply(redisAsyncContext* ac, void* reply, void*) {
  auto* self = static_cast<SentinelLookup*>(ac->data);
  auto* r = static_cast<redisReply*>(reply);
  if (self == nullptr) return;  // closed by us
  if (r == nullptr) {  // refused or lost: hiredis is freeing the context
    self->ac_ = nullptr;
    ac->data = nullptr;
    self->Failed(ac->errstr[0] != '\0' ? ac->errstr : "connection lost");
    return;
  }
  std::string host;
  int port = 0;
  Status s = ParseMasterAddr(r, &host, &port);
  if (!s.ok()) {
    self->Failed(s.message());
    return;
  }
  self->Close();  // freed by hiredis once this callback returns
  self->Finish(Status::Ok(), At(self->url_, std::move(host), port));
}

void SentinelLookup::OnDisconnect(const redisAsyncContext* ac, int) {
  auto* self = static_cast<SentinelLookup*>(ac->data);
  if (self == nullptr) return;
  self->ac_ = nullptr;  // hiredis frees it
  self->Failed(ac->errstr[0] != '\0' ? ac->errstr : "connection closed");
}

void SentinelLookup::OnTimeout(int, short, void* arg) {
  auto* self = static_cast<SentinelLookup*>(arg);
  self->Failed("no answer within " +
               std::to_string(self->timeout_.tv_sec * 1000 +
                              self->timeout_.tv_usec / 1000) +
               " ms");
}

// Last: the callback may start another lookup or destroy this object.
void SentinelLookup::Finish(const Status& status, RedisUrl master) {
  Done done = std::move(done_);
  done_ = nullptr;
  if (done) done(status, std::move(master));
}

}  // namespace qd
