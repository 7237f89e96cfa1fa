#include "core/redis/redis_client.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "core/redis/argv_of.h"
#include "core/redis/cluster_lookup.h"
#include "core/redis/resp_buffer.h"
#include "core/util/units.h"

namespace qd {
namespace {
using std::chrono::milliseconds;

// Which login reply OnLogin() has (its privdata).
char kAuthReply, kSelectReply, kRoleReply;
// Each Sentinel's (or Cluster node's) connect and reply.
constexpr timeval kSentinelTimeout = {0, 500000};
constexpr timeval kClusterTimeout = {0, 500000};

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

// privdata of a cluster url's command: `command` is its text (RESP), empty
// when the command may not follow ASK.
struct RedisClient::Pending {
  Callback cb;
  std::string command;
};

RedisClient::RedisClient(event_base* base, RedisUrl url, std::string name)
    : base_(base),
      url_(std::move(url)),
      at_(url_),
      name_(std::move(name)),
      asks_(base_, name_, kClusterTimeout),
      backoff_(
          milliseconds(100),
          milliseconds(url_.via_sentinel() || url_.via_cluster() ? 1000 : 5000),
          milliseconds(10000)) {
  retry_timer_ = evtimer_new(base_, &RedisClient::OnRetry, this);
  if (url_.via_sentinel()) {
    lookup_ = std::make_unique<SentinelLookup>(base_, kSentinelTimeout);
  } else if (url_.via_cluster()) {
    lookup_ = std::make_unique<ClusterLookup>(base_, kClusterTimeout);
  }
}

RedisClient::~RedisClient() {
  Stop();
  event_free(retry_timer_);
  if (watch_timer_ != nullptr) event_free(watch_timer_);
}

void RedisClient::set_reply_timeout(milliseconds timeout) {
  reply_timeout_ = timeout;
  asks_.set_reply_timeout(timeout);
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
               self->at_.Describe(), why);
  self->Drop(why);
}

// As a broken connection: every pending callback gets a null reply (at
// once, or after the callback we are in returns: hiredis defers the free).
void RedisClient::Drop(const std::string& why, bool refused) {
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;
  connected_ = false;
  outstanding_ = 0;
  if (ac != nullptr) {
    ac->data = nullptr;
    redisAsyncFree(ac);
  }
  Lost(why, refused);
}

void RedisClient::Start() {
  stopped_ = false;
  if (ac_ == nullptr && !(lookup_ && lookup_->running())) Connect();
}

void RedisClient::Stop() {
  stopped_ = true;
  outstanding_ = 0;
  evtimer_del(retry_timer_);
  if (lookup_) lookup_->Cancel();
  if (ac_ != nullptr) {
    redisAsyncContext* ac = ac_;
    ac_ = nullptr;
    connected_ = false;
    ac->data = nullptr;
    redisAsyncFree(ac);
  }
  asks_.CloseAll();
}

std::string RedisClient::AtServer(const std::string& why) const {
  return lookup_ != nullptr ? at_.Describe() + ": " + why : why;
}

void RedisClient::Connect() {
  if (lookup_ == nullptr) {
    ConnectTo(url_);
    return;
  }
  lookup_->Start(url_, [this](const Status& s, RedisUrl master) {
    if (!s.ok()) {
      Lost(s.message());
      return;
    }
    ConnectTo(std::move(master));
  });
}

void RedisClient::ConnectTo(RedisUrl at) {
  at_ = std::move(at);
  cluster_logged_ = false;
  asks_.NewConnection();
  tryagain_logged_ = false;
  ask_filter_.Reset();
  readonly_logged_ = false;
  ac_ = at_.is_unix ? redisAsyncConnectUnix(at_.host.c_str())
                    : redisAsyncConnect(at_.host.c_str(), at_.port);
  if (ac_ == nullptr || ac_->err != 0) {
    std::string why = ac_ != nullptr ? ac_->errstr : "out of memory";
    if (ac_ != nullptr) redisAsyncFree(ac_);
    ac_ = nullptr;
    Lost(AtServer(why));
    return;
  }
  ac_->data = this;
  arena_.Install(ac_->c.reader);
  redisLibeventAttach(ac_, base_);
  redisAsyncSetConnectCallback(ac_, &RedisClient::OnConnect);
  redisAsyncSetDisconnectCallback(ac_, &RedisClient::OnDisconnect);
  // AUTH goes first in the pipeline, on every (re)connect, then SELECT,
  // then (a master found by the Sentinels) ROLE: nothing else is sent
  // before their replies say the login worked (Ready()).
  login_replies_ = 0;
  if (at_.has_auth()) {
    ArgvOf auth(at_.AuthArgs());
    (void)redisAsyncCommandArgv(ac_, &RedisClient::OnLogin, &kAuthReply,
                                auth.argc(), auth.argv.data(),
                                auth.lens.data());
    Sent();
    ++login_replies_;
  }
  if (at_.db != 0) {
    std::string db = std::to_string(at_.db);
    const char* argv[] = {"SELECT", db.c_str()};
    size_t lens[] = {6, db.size()};
    redisAsyncCommandArgv(ac_, &RedisClient::OnLogin, &kSelectReply, 2, argv,
                          lens);
    Sent();
    ++login_replies_;
  }
  if (lookup_ != nullptr) {
    const char* argv[] = {"ROLE"};
    size_t lens[] = {4};
    redisAsyncCommandArgv(ac_, &RedisClient::OnLogin, &kRoleReply, 1, argv,
                          lens);
    Sent();
    ++login_replies_;
  }
}

void RedisClient::OnConnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisClient*>(ac->data);
  if (self == nullptr) return;
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback.
    self->ac_ = nullptr;
    self->Lost(self->AtServer(ac->errstr));
    return;
  }
  if (!self->at_.is_unix) redisEnableKeepAlive(&self->ac_->c);
  if (self->login_replies_ == 0) self->Ready();  // else in OnLogin
}

// A null reply: the connection went first (OnDisconnect or Stop() deal
// with that). An AUTH error (WRONGPASS, NOAUTH, ...): the login failed,
// which is a failed connect: dropped, logged once, tried again with backoff.
// A ROLE other than master: the Sentinels named a server that is no master
// (yet, or any more): the same, asking them again.
void RedisClient::OnLogin(redisAsyncContext* ac, void* reply, void* which) {
  auto* self = static_cast<RedisClient*>(ac->data);
  auto* r = static_cast<redisReply*>(reply);
  if (self == nullptr || r == nullptr) return;
  if (self->outstanding_ > 0) --self->outstanding_;
  if (which != &kRoleReply && r->type == REDIS_REPLY_ERROR) {
    // The replies behind it (all refused) go nowhere.
    std::string what = which == &kAuthReply ? self->at_.AuthName() : "SELECT";
    self->Drop(self->AtServer(what + " failed: " +
                              self->at_.Redact(std::string(ReplyString(r)))),
               /*refused=*/true);
    return;
  }
  // A user without the ROLE command (NOPERM: it is in @admin) is let in
  // unchecked; a stale Sentinel answer then shows as READONLY on the first
  // write, which drops the connection too.
  if (which == &kRoleReply && r->type == REDIS_REPLY_ERROR) {
    if (!self->role_refusal_logged_) {
      self->role_refusal_logged_ = true;
      spdlog::warn(
          "{}: redis {}: ROLE refused ({}): cannot check that the server the "
          "Sentinels named is the master; grant the user +role",
          self->name_, self->at_.Describe(), ReplyString(r));
    }
  } else if (which == &kRoleReply && !RoleIsMaster(r)) {
    std::string role = r->type == REDIS_REPLY_ARRAY && r->elements > 0
                           ? std::string(ReplyString(r->element[0]))
                           : std::string(ReplyString(r));
    self->Drop(self->AtServer(
        "ROLE says " + role + ", not master: asking the " +
        (self->url_.via_cluster() ? "cluster" : "Sentinels") + " again"));
    return;
  }
  if (--self->login_replies_ == 0) self->Ready();
}

void RedisClient::Ready() {
  connected_ = true;
  backoff_.Reset();
  refusal_logged_ = false;
  if (outage_logged_) {
    auto down = std::chrono::duration_cast<milliseconds>(
        std::chrono::steady_clock::now() - down_since_);
    spdlog::info("{}: reconnected to redis {} after {}", name_, at_.Describe(),
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
  self->Lost(
      self->AtServer(status == REDIS_OK ? "connection closed" : ac->errstr));
}

void RedisClient::Lost(const std::string& why, bool refused) {
  connected_ = false;
  outstanding_ = 0;
  last_error_ = why;
  asks_.CloseAll();
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
  if (!self->stopped_ && self->ac_ == nullptr &&
      !(self->lookup_ && self->lookup_->running())) {
    self->Connect();
  }
}

// Formatted here (RespBuffer) and handed over with
// redisAsyncFormattedCommand: hiredis' own formatting builds the command
// with sdscatfmt, which cost ~7% of a no-op drain (its acks).
bool RedisClient::Command(const std::vector<std::string_view>& args,
                          Callback cb) {
  if (!connected_ || ac_ == nullptr || args.empty()) return false;
  thread_local RespBuffer scratch;  // keeps its capacity
  scratch.Clear();
  scratch.Add(args);
  return Send(scratch.data(), args[0], std::move(cb));
}

bool RedisClient::Send(const std::string& resp, std::string_view name,
                       Callback cb) {
  if (url_.via_cluster()) {
    auto* p = new Pending{std::move(cb),
                          ask_filter_.Followable(name) ? resp : std::string()};
    if (redisAsyncFormattedCommand(ac_, &RedisClient::OnClusterReply, p,
                                   resp.data(), resp.size()) != REDIS_OK) {
      delete p;
      return false;
    }
    Sent();
    return true;
  }
  auto* heap = new Callback(std::move(cb));
  if (redisAsyncFormattedCommand(ac_, &RedisClient::OnReply, heap, resp.data(),
                                 resp.size()) != REDIS_OK) {
    delete heap;
    return false;
  }
  Sent();
  return true;
}

void RedisClient::Flush() {
  if (connected_ && ac_ != nullptr) redisAsyncHandleWrite(ac_);
}

bool RedisClient::CommandArgv(int argc, const char** argv, const size_t* lens,
                              Callback cb) {
  if (!connected_ || ac_ == nullptr || argc < 1) return false;
  if (url_.via_cluster()) {  // formatted here: the text is kept
    std::vector<std::string_view> args;
    for (int i = 0; i < argc; ++i) args.emplace_back(argv[i], lens[i]);
    return Command(args, std::move(cb));
  }
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
  auto* r = static_cast<redisReply*>(reply);
  auto* cb = static_cast<Callback*>(privdata);
  if (*cb) (*cb)(r);
  delete cb;
  // Read again: the callback may have stopped this client.
  self = static_cast<RedisClient*>(ac->data);
  if (self != nullptr && r != nullptr && r->type == REDIS_REPLY_ERROR) {
    self->Inspect(r);
  }
}

// As OnReply, but an ASK the command may follow sends it on to the
// importing node: its callback waits for that node's reply.
void RedisClient::OnClusterReply(redisAsyncContext* ac, void* reply,
                                 void* privdata) {
  auto* self = static_cast<RedisClient*>(ac->data);
  if (self != nullptr && reply != nullptr && self->outstanding_ > 0) {
    --self->outstanding_;
    self->progress_ = std::chrono::steady_clock::now();
  }
  auto* r = static_cast<redisReply*>(reply);
  std::unique_ptr<Pending> p(static_cast<Pending*>(privdata));
  if (self != nullptr && !self->stopped_ && r != nullptr &&
      !p->command.empty() && self->FollowAsk(r, p.get())) {
    return;
  }
  p->command.clear();
  if (p->cb) p->cb(r);
  // Read again: the callback may have stopped this client.
  self = static_cast<RedisClient*>(ac->data);
  if (self != nullptr && r != nullptr && r->type == REDIS_REPLY_ERROR) {
    self->Inspect(r);
  }
}

bool RedisClient::FollowAsk(const redisReply* ask, Pending* p) {
  // The reply from there is inspected as one from here (TRYAGAIN, MOVED).
  Callback cb = [this, cb = std::move(p->cb)](redisReply* r) {
    if (cb) cb(r);
    if (r != nullptr && r->type == REDIS_REPLY_ERROR && ac_ != nullptr) {
      Inspect(r);
    }
  };
  if (!asks_.Follow(ask, at_, std::move(p->command), std::move(cb))) {
    p->cb = std::move(cb);  // as not followed; Inspect() says it once
    return false;
  }
  return true;
}

void RedisClient::WarnOnce(bool* logged, std::string_view reply,
                           const char* what) {
  if (*logged) return;
  *logged = true;
  spdlog::warn("{}: redis {}: {}: {}", name_, at_.Describe(), reply, what);
}

// READONLY with Sentinels or a Cluster: the master was demoted; ask them
// again. Without them the url names a replica, which another connection
// would not change: said once per connection. MOVED from a Cluster: the
// slot has another master now (resharding, a failover); the reconnect asks
// the cluster again. An ASK here was not followed (a script, a command
// inside MULTI, a side connection backing off): the command failed and its
// owner retries it; once the migration ends the old node answers MOVED.
// TRYAGAIN: a multi-key command whose keys the migration has split; its
// owner retries it too.
void RedisClient::Inspect(const redisReply* r) {
  std::string_view text = ReplyString(r);
  if (StartsWith(text, "READONLY") && lookup_ != nullptr) {
    Drop(AtServer("READONLY: demoted to a replica"));
  } else if (StartsWith(text, "MOVED ") && url_.via_cluster()) {
    Drop(AtServer(std::string(text) + ": the slot moved"));
  } else if (StartsWith(text, "ASK ") && url_.via_cluster()) {
    WarnOnce(&cluster_logged_, text,
             "the slot is migrating; commands on keys already moved that "
             "cannot follow it (scripts, transactions, a node unreachable) "
             "fail until it ends (their owners retry)");
  } else if (StartsWith(text, "TRYAGAIN") && url_.via_cluster()) {
    WarnOnce(&tryagain_logged_, text,
             "the slot is migrating and a command's keys are split between "
             "two nodes; it fails until they are together (its owner "
             "retries)");
  } else if (StartsWith(text, "READONLY") && !readonly_logged_) {
    readonly_logged_ = true;
    spdlog::error(
        "{}: redis {} is a read-only replica ({}): give the master's url, or "
        "the Sentinels (docs/scaling-out.md, \"Redis Sentinel\")",
        name_, at_.Describe(), text);
  } else if (ReplyIsRedirect(r) && !cluster_logged_) {
    cluster_logged_ = true;
    spdlog::error(
        "{}: redis {} is a Redis Cluster node that does not hold the key's "
        "slot ({}); a url names one node: give the site's redis "
        "cluster: [host:port, ...] instead (docs/scaling-out.md, \"Redis "
        "Cluster\")",
        name_, at_.Describe(), text);
  }
}

}  // namespace qd
