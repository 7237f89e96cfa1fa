// RedisServer and the Redis helpers of daemon_harness.h (RedisCommand,
// RedisPipeline, RedisInt, RedisStrings): a private redis-server on a free
// loopback port, and plain hiredis calls to it for the tests' checks.
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/wait.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace qd::test {

std::string RedisCommand(const std::string& host_or_socket, int port,
                         const std::string& command) {
  timeval tv = {1, 0};
  redisContext* c =
      port == 0 ? redisConnectUnixWithTimeout(host_or_socket.c_str(), tv)
                : redisConnectWithTimeout(host_or_socket.c_str(), port, tv);
  std::string out;
  if (c != nullptr && c->err == 0) {
    auto* r = static_cast<redisReply*>(redisCommand(c, command.c_str()));
    if (r != nullptr &&
        (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING)) {
      out.assign(r->str, r->len);
    } else if (r != nullptr && r->type == REDIS_REPLY_INTEGER) {
      out = std::to_string(r->integer);
    }
    if (r != nullptr) freeReplyObject(r);
  }
  if (c != nullptr) redisFree(c);
  return out;
}

RedisServer::RedisServer(bool aof) : aof_(aof) { Boot(); }

RedisServer::RedisServer(std::vector<std::string> args, std::string password)
    : aof_(false), args_(std::move(args)), password_(std::move(password)) {
  Boot();
}

void RedisServer::Boot() {
  for (int attempt = 0; attempt < 5 && pid_ == 0; ++attempt) {
    port_ = FreePort();
    Start();
  }
  if (pid_ == 0) throw std::runtime_error("redis-server did not start");
}

bool RedisServer::Start() {
  // A second server on the port would fail to bind while the first answers
  // PING: the first would then be leaked.
  if (pid_ != 0) return false;
  std::vector<std::string> args = {"redis-server",
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--dir",
                                   dir_.path()};
  if (aof_) {
    args.insert(args.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  } else {
    args.insert(args.end(), {"--appendonly", "no"});
  }
  args.insert(args.end(), args_.begin(), args_.end());
  pid_t pid = Spawn(args, {}, dir_.File("redis.log"));
  auto pong = [&] {
    return RedisStrings(port_, {"PING"}, password_) ==
           std::vector<std::string>{"PONG"};
  };
  if (WaitFor(pong, milliseconds(5000))) {
    pid_ = pid;
    return true;
  }
  StopPid(pid);
  pid_ = 0;
  return false;
}

void RedisServer::Kill() {
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

RedisServer::~RedisServer() { StopPid(pid_); }

namespace {

// AUTH `password` unless it is empty; false when refused.
bool LogIn(redisContext* c, const std::string& password) {
  if (password.empty()) return true;
  const char* argv[] = {"AUTH", password.c_str()};
  size_t lens[] = {4, password.size()};
  auto* r = static_cast<redisReply*>(redisCommandArgv(c, 2, argv, lens));
  bool ok = r != nullptr && r->type != REDIS_REPLY_ERROR;
  if (r != nullptr) freeReplyObject(r);
  return ok;
}

}  // namespace

size_t RedisPipeline(int port,
                     const std::vector<std::vector<std::string>>& cmds,
                     const std::string& password) {
  timeval tv = {5, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  size_t ok = 0;
  if (c == nullptr || c->err != 0 || !LogIn(c, password)) {
    if (c != nullptr) redisFree(c);
    return 0;
  }
  for (const auto& cmd : cmds) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(),
                           lens.data());
  }
  for (size_t i = 0; i < cmds.size(); ++i) {
    void* reply = nullptr;
    if (redisGetReply(c, &reply) != REDIS_OK) break;
    auto* r = static_cast<redisReply*>(reply);
    if (r->type != REDIS_REPLY_ERROR) ++ok;
    freeReplyObject(r);
  }
  redisFree(c);
  return ok;
}

namespace {

// Runs one command on 127.0.0.1:port and hands its reply (null on error)
// to `use`.
void WithReply(int port, const std::vector<std::string>& cmd,
               const std::string& password,
               const std::function<void(const redisReply*)>& use) {
  timeval tv = {2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  redisReply* r = nullptr;
  if (c != nullptr && c->err == 0 && LogIn(c, password)) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    r = static_cast<redisReply*>(redisCommandArgv(
        c, static_cast<int>(argv.size()), argv.data(), lens.data()));
  }
  use(r);
  if (r != nullptr) freeReplyObject(r);
  if (c != nullptr) redisFree(c);
}

void Flatten(const redisReply* r, std::vector<std::string>* out) {
  if (r->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i < r->elements; ++i) Flatten(r->element[i], out);
  } else if (r->type == REDIS_REPLY_INTEGER) {
    out->push_back(std::to_string(r->integer));
  } else if (r->str != nullptr) {
    out->emplace_back(r->str, r->len);
  }
}

}  // namespace

long long RedisInt(int port, const std::vector<std::string>& cmd,
                   const std::string& password) {
  long long out = -1;
  WithReply(port, cmd, password, [&](const redisReply* r) {
    if (r != nullptr && r->type == REDIS_REPLY_INTEGER) out = r->integer;
  });
  return out;
}

std::vector<std::string> RedisStrings(int port,
                                      const std::vector<std::string>& cmd,
                                      const std::string& password) {
  std::vector<std::string> out;
  WithReply(port, cmd, password, [&](const redisReply* r) {
    if (r != nullptr) Flatten(r, &out);
  });
  return out;
}

std::string RedisServer::url() const {
  return "redis://127.0.0.1:" + std::to_string(port_);
}

}  // namespace qd::test
