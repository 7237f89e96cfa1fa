#include "core/redis/ask_link.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "core/redis/argv_of.h"
#include "core/util/units.h"

namespace qd {
namespace {
using std::chrono::milliseconds;

milliseconds ToMs(timeval tv) {
  return milliseconds(tv.tv_sec * 1000 + tv.tv_usec / 1000);
}

}  // namespace

AskLink::AskLink(event_base* base, RedisUrl node, std::string name,
                 Limits limits)
    : base_(base),
      node_(std::move(node)),
      name_(std::move(name)),
      limits_(limits),
      backoff_(milliseconds(100), milliseconds(5000), milliseconds(10000)) {
  timer_ = evtimer_new(base_, &AskLink::OnTimer, this);
}

AskLink::~AskLink() {
  Close();
  event_free(timer_);
}

bool AskLink::Send(std::string&& command, Callback&& cb,
                   std::string ask_error) {
  if (state_ == State::kBackingOff) return false;
  if (state_ == State::kClosed && !Connect()) return false;
  pending_.push_back({std::move(cb), std::move(ask_error)});
  Write(command);
  command.clear();
  command.shrink_to_fit();
  if (pending_.size() == 1) Arm();  // from idle: the reply deadline starts
  return true;
}

// ASKING counts for the next command only, so each command gets its own;
// its "+OK" is read and dropped (OnReply without privdata).
void AskLink::Write(const std::string& command) {
  static constexpr char kAsking[] = "*1\r\n$6\r\nASKING\r\n";
  (void)redisAsyncFormattedCommand(ac_, &AskLink::OnReply, nullptr, kAsking,
                                   sizeof(kAsking) - 1);
  (void)redisAsyncFormattedCommand(ac_, &AskLink::OnReply, &pending_,
                                   command.data(), command.size());
}

bool AskLink::Connect() {
  ac_ = redisAsyncConnect(node_.host.c_str(), node_.port);
  if (ac_ == nullptr || ac_->err != 0) {
    std::string why = ac_ != nullptr ? ac_->errstr : "out of memory";
    if (ac_ != nullptr) redisAsyncFree(ac_);
    ac_ = nullptr;
    Fail(why);  // nothing queued yet: only logs and backs off
    return false;
  }
  ac_->data = this;
  redisLibeventAttach(ac_, base_);
  redisAsyncSetConnectCallback(ac_, &AskLink::OnConnect);
  redisAsyncSetDisconnectCallback(ac_, &AskLink::OnDisconnect);
  state_ = State::kConnecting;
  if (node_.has_auth()) {
    ArgvOf auth(node_.AuthArgs());
    (void)redisAsyncCommandArgv(ac_, &AskLink::OnAuth, nullptr, auth.argc(),
                                auth.argv.data(), auth.lens.data());
  }
  Arm();
  return true;
}

void AskLink::OnConnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<AskLink*>(ac->data);
  if (self == nullptr) return;
  if (status != REDIS_OK) {
    self->ac_ = nullptr;  // hiredis frees it after this callback
    self->Fail(ac->errstr);
    return;
  }
  redisEnableKeepAlive(&self->ac_->c);
  if (!self->node_.has_auth()) {
    self->state_ = State::kReady;
    self->backoff_.Reset();
    self->failure_logged_ = false;
    self->Arm();
  }
}

void AskLink::OnAuth(redisAsyncContext* ac, void* reply, void*) {
  auto* self = static_cast<AskLink*>(ac->data);
  auto* r = static_cast<redisReply*>(reply);
  if (self == nullptr || r == nullptr) return;
  if (r->type == REDIS_REPLY_ERROR) {
    self->Fail(self->node_.AuthName() +
               " failed: " + self->node_.Redact(std::string(r->str, r->len)));
    return;
  }
  self->state_ = State::kReady;
  self->backoff_.Reset();
  self->failure_logged_ = false;
  self->Arm();
}

// Null `privdata`: the reply to ASKING. Else the command's: to the oldest
// queued callback, which may destroy this link (ac->data is read again).
void AskLink::OnReply(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* self = static_cast<AskLink*>(ac->data);
  auto* r = static_cast<redisReply*>(reply);
  if (self == nullptr || r == nullptr || privdata == nullptr ||
      self->pending_.empty()) {
    return;
  }
  Pending p = std::move(self->pending_.front());
  self->pending_.pop_front();
  self->Arm();
  if (p.cb) p.cb(r);
}

void AskLink::OnDisconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<AskLink*>(ac->data);
  if (self == nullptr) return;
  self->ac_ = nullptr;  // hiredis frees it
  self->Fail(status == REDIS_OK ? "connection closed" : ac->errstr);
}

// kConnecting: the connect deadline. kReady: a reply due within
// reply_timeout of the last one (or of the first send), or, nothing
// outstanding, the idle close. kBackingOff: the end of the pause.
void AskLink::Arm() {
  milliseconds wait;
  switch (state_) {
    case State::kClosed:
      evtimer_del(timer_);
      return;
    case State::kConnecting:
      if (evtimer_pending(timer_, nullptr)) return;  // since the connect
      wait = ToMs(limits_.connect_timeout);
      break;
    case State::kReady:
      wait = pending_.empty() ? limits_.idle : limits_.reply_timeout;
      break;
    case State::kBackingOff:
      wait = retry_in_;
      break;
  }
  timeval tv = ToTimeval(wait);
  evtimer_add(timer_, &tv);
}

void AskLink::OnTimer(int, short, void* arg) {
  auto* self = static_cast<AskLink*>(arg);
  switch (self->state_) {
    case State::kClosed:
      return;
    case State::kConnecting:
      self->Fail("no connect and login within " +
                 FormatDuration(ToMs(self->limits_.connect_timeout)));
      return;
    case State::kReady:
      if (self->pending_.empty()) {
        self->Detach();  // idle
        self->state_ = State::kClosed;
      } else {
        self->Fail("no reply for " +
                   FormatDuration(self->limits_.reply_timeout) + " to " +
                   std::to_string(self->pending_.size()) + " commands");
      }
      return;
    case State::kBackingOff:
      self->state_ = State::kClosed;
      return;
  }
}

void AskLink::Detach() {
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;
  if (ac != nullptr) {
    ac->data = nullptr;  // the null replies hiredis gives now go nowhere
    redisAsyncFree(ac);  // deferred by hiredis when inside its callback
  }
}

void AskLink::Close() {
  Detach();
  state_ = State::kClosed;
  evtimer_del(timer_);
  std::deque<Pending> lost = std::move(pending_);
  pending_.clear();
  for (Pending& p : lost) {
    if (p.cb) p.cb(nullptr);
  }
}

void AskLink::Fail(const std::string& why) {
  Detach();
  state_ = State::kBackingOff;
  retry_in_ = backoff_.OnCrash(milliseconds(0));
  Arm();
  if (!failure_logged_) {
    failure_logged_ = true;
    spdlog::warn(
        "{}: redis {}: {}: commands answered ASK for it fail (their owners "
        "retry); next try in {}",
        name_, node_.Describe(), why, FormatDuration(retry_in_));
  }
  // Last: a callback may destroy this link.
  std::deque<Pending> failed = std::move(pending_);
  pending_.clear();
  for (Pending& p : failed) {
    redisReply error{};
    error.type = REDIS_REPLY_ERROR;
    error.str = p.ask_error.data();
    error.len = p.ask_error.size();
    if (p.cb) p.cb(&error);
  }
}

}  // namespace qd
