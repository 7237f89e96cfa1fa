#include "core/redis/server_lookup.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>

#include <utility>

namespace qd {
namespace {

// "NOUN 10.0.0.1:7000: <why>", joined by "; ".
void Note(std::string* errors, const char* noun, const RedisUrl::Server& s,
          const std::string& why) {
  if (!errors->empty()) *errors += "; ";
  *errors += std::string(noun) + " " + DescribeServer(s) + ": " + why;
}

}  // namespace

std::string_view ReplyText(const redisReply* r) {
  return r != nullptr && r->str != nullptr ? std::string_view(r->str, r->len)
                                           : std::string_view();
}

std::string DescribeServer(const RedisUrl::Server& s) {
  bool v6 = s.host.find(':') != std::string::npos;
  return (v6 ? "[" + s.host + "]" : s.host) + ":" + std::to_string(s.port);
}

Status AskEachServerBlocking(
    const std::vector<RedisUrl::Server>& servers, timeval timeout,
    const char* noun,
    const std::function<Status(redisContext* c, const RedisUrl::Server& s)>&
        ask,
    std::string* errors) {
  for (const RedisUrl::Server& s : servers) {
    redisContext* c = redisConnectWithTimeout(s.host.c_str(), s.port, timeout);
    if (c == nullptr || c->err != 0) {
      Note(errors, noun, s, c != nullptr ? c->errstr : "out of memory");
      if (c != nullptr) redisFree(c);
      continue;
    }
    redisSetTimeout(c, timeout);
    Status st = ask(c, s);
    redisFree(c);
    if (st.ok()) return st;
    Note(errors, noun, s, st.message());
  }
  return Status::Error("none answered");
}

AskEachServer::AskEachServer(event_base* base, timeval timeout,
                             const char* noun)
    : base_(base), timeout_(timeout), noun_(noun) {
  timer_ = evtimer_new(base_, &AskEachServer::OnTimeout, this);
}

AskEachServer::~AskEachServer() {
  Cancel();
  event_free(timer_);
}

void AskEachServer::Start(const RedisUrl& url, Done done) {
  Cancel();
  url_ = url;
  done_ = std::move(done);
  ask_ = ServersToAsk(url_);
  next_ = 0;
  errors_.clear();
  AskNext();
}

void AskEachServer::Cancel() {
  done_ = nullptr;
  Close();
}

void AskEachServer::Close() {
  evtimer_del(timer_);
  if (ac_ == nullptr) return;
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;
  ac->data = nullptr;  // its callbacks (null replies) find no owner
  redisAsyncFree(ac);
}

// The commands are queued at once; hiredis sends them when the connect is
// done. A refused connect ends in OnAnswer with a null reply (hiredis frees
// the context and fails what was queued; OnDisconnect is only for
// connections that were made).
void AskEachServer::AskNext() {
  if (next_ >= ask_.size()) {
    Finish(NoneAnswered(errors_), RedisUrl());
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
  redisAsyncSetDisconnectCallback(ac_, &AskEachServer::OnDisconnect);
  Queue(ac_);
  evtimer_add(timer_, &timeout_);
}

void AskEachServer::Failed(const std::string& why) {
  Close();
  Note(&errors_, noun_, ask_[next_], why);
  ++next_;
  AskNext();
}

void AskEachServer::OnAnswer(redisAsyncContext* ac, void* reply, void*) {
  auto* self = static_cast<AskEachServer*>(ac->data);
  auto* r = static_cast<redisReply*>(reply);
  if (self == nullptr) return;  // closed by us
  if (r == nullptr) {  // refused or lost: hiredis is freeing the context
    self->ac_ = nullptr;
    ac->data = nullptr;
    self->Failed(ac->errstr[0] != '\0' ? ac->errstr : "connection lost");
    return;
  }
  RedisUrl server;
  Status s = self->Answer(r, self->ask_[self->next_], &server);
  if (!s.ok()) {
    self->Failed(s.message());
    return;
  }
  self->Close();  // freed by hiredis once this callback returns
  self->Finish(Status::Ok(), std::move(server));
}

void AskEachServer::OnDisconnect(const redisAsyncContext* ac, int) {
  auto* self = static_cast<AskEachServer*>(ac->data);
  if (self == nullptr) return;
  self->ac_ = nullptr;  // hiredis frees it
  self->Failed(ac->errstr[0] != '\0' ? ac->errstr : "connection closed");
}

void AskEachServer::OnTimeout(int, short, void* arg) {
  auto* self = static_cast<AskEachServer*>(arg);
  self->Failed("no answer within " +
               std::to_string(self->timeout_.tv_sec * 1000 +
                              self->timeout_.tv_usec / 1000) +
               " ms");
}

// Last: the callback may start another lookup or destroy this object.
void AskEachServer::Finish(const Status& status, RedisUrl server) {
  Done done = std::move(done_);
  done_ = nullptr;
  if (done) done(status, std::move(server));
}

}  // namespace qd
