#include "core/redis_client.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "core/resp_buffer.h"
#include "core/units.h"

namespace qd {
namespace {
using std::chrono::milliseconds;
}  // namespace

RedisClient::RedisClient(event_base* base, RedisUrl url, std::string name)
    : base_(base),
      url_(std::move(url)),
      name_(std::move(name)),
      backoff_(milliseconds(100), milliseconds(5000), milliseconds(10000)) {
  retry_timer_ = evtimer_new(base_, &RedisClient::OnRetry, this);
}

RedisClient::~RedisClient() {
  Stop();
  event_free(retry_timer_);
  if (watch_timer_ != nullptr) event_free(watch_timer_);
}

void RedisClient::set_reply_timeout(milliseconds timeout) {
  reply_timeout_ = timeout;
  if (timeout.count() == 0) {
    if (watch_timer_ != nullptr) event_del(watch_timer_);
    return;
  }
  if (watch_timer_ == nullptr) {
    watch_timer_ =
        event_new(base_, -1, EV_PERSIST, &RedisClient::OnWatch, this);
  }
  watch_every_ = std::min(milliseconds(1000), timeout / 4);
  last_watch_ = std::chrono::steady_clock::now();
  timeval tv = ToTimeval(watch_every_);
  event_add(watch_timer_, &tv);
}

void RedisClient::Sent() {
  if (outstanding_++ == 0) progress_ = std::chrono::steady_clock::now();
}

void RedisClient::OnWatch(int, short, void* arg) {
  auto* self = static_cast<RedisClient*>(arg);
  auto now = std::chrono::steady_clock::now();
  // A late tick means the loop was blocked (a handler ran): replies may sit
  // unread in the socket, so the silence is counted again from here.
  bool late = now - self->last_watch_ > 2 * self->watch_every_;
  self->last_watch_ = now;
  if (late) self->progress_ = now;
  // While logging in (AUTH sent, not answered) connected_ is still false:
  // a server that hangs then is dropped too.
  if (self->ac_ == nullptr || self->outstanding_ == 0) return;
  auto silent = std::chrono::duration_cast<milliseconds>(now - self->progress_);
  if (silent < self->reply_timeout_) return;
  std::string why = "no reply for " + FormatDuration(silent) + " to " +
                    std::to_string(self->outstanding_) + " commands";
  spdlog::warn("{}: redis {}: {}: dropping the connection", self->name_,
               self->url_.Describe(), why);
  // As a broken connection: every pending callback gets a null reply.
  redisAsyncContext* ac = self->ac_;
  self->ac_ = nullptr;
  self->connected_ = false;
  self->outstanding_ = 0;
  ac->data = nullptr;
  redisAsyncFree(ac);
  self->Lost(why);
}

void RedisClient::Start() {
  stopped_ = false;
  if (ac_ == nullptr) Connect();
}

void RedisClient::Stop() {
  stopped_ = true;
  outstanding_ = 0;
  evtimer_del(retry_timer_);
  if (ac_ != nullptr) {
    redisAsyncContext* ac = ac_;
    ac_ = nullptr;
    connected_ = false;
    ac->data = nullptr;
    redisAsyncFree(ac);
  }
}

void RedisClient::Connect() {
  ac_ = url_.is_unix ? redisAsyncConnectUnix(url_.host.c_str())
                     : redisAsyncConnect(url_.host.c_str(), url_.port);
  if (ac_ == nullptr || ac_->err != 0) {
    std::string why = ac_ != nullptr ? ac_->errstr : "out of memory";
    if (ac_ != nullptr) redisAsyncFree(ac_);
    ac_ = nullptr;
    Lost(why);
    return;
  }
  ac_->data = this;
  arena_.Install(ac_->c.reader);
  redisLibeventAttach(ac_, base_);
  redisAsyncSetConnectCallback(ac_, &RedisClient::OnConnect);
  redisAsyncSetDisconnectCallback(ac_, &RedisClient::OnDisconnect);
  // AUTH goes first in the pipeline, on every (re)connect: nothing else
  // is sent before its reply says the login worked (Ready()).
  if (url_.has_auth()) {
    std::vector<std::string_view> args = url_.AuthArgs();
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (std::string_view a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    (void)redisAsyncCommandArgv(ac_, &RedisClient::OnAuth, nullptr,
                                static_cast<int>(argv.size()), argv.data(),
                                lens.data());
    Sent();
  }
  if (url_.db != 0) {
    std::string db = std::to_string(url_.db);
    const char* argv[] = {"SELECT", db.c_str()};
    size_t lens[] = {6, db.size()};
    redisAsyncCommandArgv(ac_, nullptr, nullptr, 2, argv, lens);
  }
}

void RedisClient::OnConnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisClient*>(ac->data);
  if (self == nullptr) return;
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback.
    self->ac_ = nullptr;
    self->Lost(ac->errstr);
    return;
  }
  if (!self->url_.is_unix) redisEnableKeepAlive(&self->ac_->c);
  if (!self->url_.has_auth()) self->Ready();  // else once AUTH is answered
}

// A null reply: the connection went first (OnDisconnect or Stop() deal
// with that). An error reply (WRONGPASS, NOAUTH, ...): the login failed,
// which is a failed connect: dropped, logged once, tried again with backoff.
void RedisClient::OnAuth(redisAsyncContext* ac, void* reply, void*) {
  auto* self = static_cast<RedisClient*>(ac->data);
  auto* r = static_cast<redisReply*>(reply);
  if (self == nullptr || r == nullptr) return;
  if (self->outstanding_ > 0) --self->outstanding_;
  if (r->type != REDIS_REPLY_ERROR) {
    self->Ready();
    return;
  }
  std::string why = self->url_.AuthName() + " failed: " +
                    self->url_.Redact(std::string(ReplyString(r)));
  // Freed after this callback returns; the replies behind AUTH (all
  // refused) go nowhere.
  self->ac_ = nullptr;
  self->outstanding_ = 0;
  ac->data = nullptr;
  redisAsyncFree(ac);
  self->Lost(why, /*refused=*/true);
}

void RedisClient::Ready() {
  connected_ = true;
  backoff_.Reset();
  refusal_logged_ = false;
  if (outage_logged_) {
    auto down = std::chrono::duration_cast<milliseconds>(
        std::chrono::steady_clock::now() - down_since_);
    spdlog::info("{}: reconnected to redis {} after {}", name_, url_.Describe(),
                 FormatDuration(down));
    outage_logged_ = false;
  }
  for (const auto& [channel, cb] : subscriptions_) SendSubscribe(channel);
  if (on_connect_) on_connect_();
}

void RedisClient::Subscribe(const std::string& channel,
                            MessageCallback on_message) {
  auto& slot = subscriptions_[channel];
  if (slot) {  // hiredis holds the old one: replace its target in place
    *slot = std::move(on_message);
    return;
  }
  slot = std::make_unique<MessageCallback>(std::move(on_message));
  if (connected_) SendSubscribe(channel);
}

void RedisClient::SendSubscribe(const std::string& channel) {
  const char* argv[] = {"SUBSCRIBE", channel.data()};
  size_t lens[] = {9, channel.size()};
  (void)redisAsyncCommandArgv(ac_, &RedisClient::OnMessage,
                              subscriptions_[channel].get(), 2, argv, lens);
}

// Called for the subscription's confirmation and for every message (and
// with null when the connection goes); the callback stays ours.
void RedisClient::OnMessage(redisAsyncContext*, void* reply, void* privdata) {
  auto* r = static_cast<redisReply*>(reply);
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
      ReplyString(r->element[0]) != "message") {
    return;
  }
  (*static_cast<MessageCallback*>(privdata))(ReplyString(r->element[2]));
}

void RedisClient::OnDisconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisClient*>(ac->data);
  if (self == nullptr) return;
  self->ac_ = nullptr;
  self->connected_ = false;
  self->Lost(status == REDIS_OK ? "connection closed" : ac->errstr);
}

void RedisClient::Lost(const std::string& why, bool refused) {
  connected_ = false;
  outstanding_ = 0;
  last_error_ = why;
  if (stopped_) return;
  // Logged when the outage begins, and again when a server that was only
  // unreachable starts refusing the login (a changed password).
  if (!outage_logged_ || (refused && !refusal_logged_)) {
    if (!outage_logged_) down_since_ = std::chrono::steady_clock::now();
    outage_logged_ = true;
    refusal_logged_ = refused;
    spdlog::warn("{}: redis {} unavailable ({}); retrying with backoff", name_,
                 url_.Describe(), why);
  }
  auto delay = backoff_.OnCrash(milliseconds(0));
  timeval tv = ToTimeval(delay);
  evtimer_add(retry_timer_, &tv);
}

void RedisClient::OnRetry(int, short, void* arg) {
  auto* self = static_cast<RedisClient*>(arg);
  if (!self->stopped_ && self->ac_ == nullptr) self->Connect();
}

// Formatted here (RespBuffer) and handed over with
// redisAsyncFormattedCommand: hiredis' own formatting builds the command
// with sdscatfmt, which cost ~7% of a no-op drain (its acks).
bool RedisClient::Command(const std::vector<std::string_view>& args,
                          Callback cb) {
  if (!connected_ || ac_ == nullptr) return false;
  thread_local RespBuffer scratch;  // keeps its capacity
  scratch.Clear();
  scratch.Add(args);
  auto* heap = new Callback(std::move(cb));
  if (redisAsyncFormattedCommand(ac_, &RedisClient::OnReply, heap,
                                 scratch.data().data(),
                                 scratch.data().size()) != REDIS_OK) {
    delete heap;
    return false;
  }
  Sent();
  return true;
}

bool RedisClient::CommandArgv(int argc, const char** argv, const size_t* lens,
                              Callback cb) {
  if (!connected_ || ac_ == nullptr) return false;
  auto* heap = new Callback(std::move(cb));
  if (redisAsyncCommandArgv(ac_, &RedisClient::OnReply, heap, argc, argv,
                            lens) != REDIS_OK) {
    delete heap;
    return false;
  }
  Sent();
  return true;
}

void RedisClient::OnReply(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* self = static_cast<RedisClient*>(ac->data);
  if (self != nullptr && reply != nullptr && self->outstanding_ > 0) {
    --self->outstanding_;
    self->progress_ = std::chrono::steady_clock::now();
  }
  auto* cb = static_cast<Callback*>(privdata);
  if (*cb) (*cb)(static_cast<redisReply*>(reply));
  delete cb;
}

}  // namespace qd
