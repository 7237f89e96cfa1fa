#include "sentinel_set.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace qd::test {
namespace {

constexpr milliseconds kStartDeadline(5000);
constexpr milliseconds kLinkDeadline(10000);
constexpr milliseconds kReadyDeadline(20000);
// Conditions that cost a connection per sentinel are checked this often,
// not at WaitFor's 5 ms: a 10 s wait would leave thousands of sockets in
// TIME_WAIT.
constexpr milliseconds kPollPeriod(50);
constexpr int kStartAttempts = 5;

std::string Address(int port) { return "127.0.0.1:" + std::to_string(port); }

// The reply as one line for an error message: its strings joined by spaces.
std::string Joined(const std::vector<std::string>& reply) {
  std::string out;
  for (const auto& s : reply) out += (out.empty() ? "" : " ") + s;
  return out;
}

// Whether the flattened SENTINEL replicas reply lists `address` with the
// flags "slave" alone (not s_down, disconnected ...). Each replica is a
// list of key, value pairs that starts with "name", so the flattened reply
// keeps keys at even indexes.
bool ListsHealthyReplica(const std::vector<std::string>& reply,
                         const std::string& address) {
  bool ours = false;
  for (size_t i = 0; i + 1 < reply.size(); i += 2) {
    if (reply[i] == "name") ours = reply[i + 1] == address;
    if (ours && reply[i] == "flags") return reply[i + 1] == "slave";
  }
  return false;
}

// `cond` at most once per kPollPeriod, false in between.
std::function<bool()> Throttled(std::function<bool()> cond) {
  auto next = std::chrono::steady_clock::now();
  return [cond = std::move(cond), next]() mutable {
    auto now = std::chrono::steady_clock::now();
    if (now < next) return false;
    next = now + kPollPeriod;
    return cond();
  };
}

std::string SentinelConfig(int port, const std::string& dir,
                           const std::string& name, int master_port) {
  std::ostringstream c;
  c << "port " << port << "\n"
    << "bind 127.0.0.1\n"
    << "dir " << dir << "\n"
    << "sentinel monitor " << name << " 127.0.0.1 " << master_port << " 2\n"
    << "sentinel down-after-milliseconds " << name << " 1000\n"
    << "sentinel failover-timeout " << name << " 5000\n"
    << "sentinel parallel-syncs " << name << " 1\n";
  return c.str();
}

// The sentinel program: redis-sentinel where the package installs it,
// otherwise redis-server in sentinel mode (the same binary).
std::vector<std::string> SentinelArgs(const std::string& config) {
  if (access("/usr/bin/redis-sentinel", X_OK) == 0) {
    return {"redis-sentinel", config};
  }
  return {"redis-server", config, "--sentinel"};
}

}  // namespace

SentinelSet::SentinelSet(std::string name)
    : name_(std::move(name)),
      // Redis 7 syncs replicas diskless by default and waits 5 s for more
      // replicas to join before the first sync; with the delay at 0 the
      // replica is linked within ~50 ms.
      master_({"--repl-diskless-sync-delay", "0"}, ""),
      replica_({"--replicaof", "127.0.0.1", std::to_string(master_.port())},
               "") {
  // Sentinels that start before the replica is linked see it only at the
  // master's next INFO, up to 10 s later.
  WaitReplicaLinked();
  for (auto& s : sentinels_) Start(&s);
  WaitSentinelsReady();
}

SentinelSet::~SentinelSet() = default;

std::vector<int> SentinelSet::sentinel_ports() const {
  std::vector<int> out;
  for (const auto& s : sentinels_) out.push_back(s.port);
  return out;
}

std::string SentinelSet::SentinelList() const {
  std::string out;
  for (const auto& s : sentinels_) {
    out += (out.empty() ? "[" : ", ") + Address(s.port);
  }
  return out + "]";
}

int SentinelSet::MasterPortBySentinels() const {
  for (const auto& s : sentinels_) {
    auto addr =
        RedisStrings(s.port, {"SENTINEL", "get-master-addr-by-name", name_});
    if (addr.size() == 2) return std::atoi(addr[1].c_str());
  }
  return 0;
}

void SentinelSet::KillMaster() {
  // RedisServer::Kill() signals pid 0, this process group, when the server
  // is not running.
  if (master_.pid() != 0) master_.Kill();
}

bool SentinelSet::WaitForFailover(milliseconds deadline) {
  const std::string port = std::to_string(replica_.port());
  auto promoted = [&] {
    for (const auto& s : sentinels_) {
      auto addr =
          RedisStrings(s.port, {"SENTINEL", "get-master-addr-by-name", name_});
      if (addr.size() != 2 || addr[1] != port) return false;
    }
    auto role = RedisStrings(replica_.port(), {"ROLE"});
    return !role.empty() && role[0] == "master";
  };
  return WaitFor(Throttled(promoted), deadline);
}

void SentinelSet::Start(Sentinel* s) {
  std::string config = s->dir.File("sentinel.conf");
  for (int attempt = 0; attempt < kStartAttempts && s->pid == 0; ++attempt) {
    s->port = FreePort();
    s->dir.Write("sentinel.conf",
                 SentinelConfig(s->port, s->dir.path(), name_, master_.port()));
    pid_t pid = Spawn(SentinelArgs(config), {}, s->dir.File("sentinel.log"));
    // A sentinel that lost the port race exits; one that answers PING while
    // alive holds the port.
    bool exited = false;
    auto up = [&] {
      exited = waitpid(pid, nullptr, WNOHANG) == pid;
      return exited || RedisStrings(s->port, {"PING"}) ==
                           std::vector<std::string>{"PONG"};
    };
    if (WaitFor(up, kStartDeadline) && !exited) {
      s->pid = pid;
    } else if (!exited) {
      StopPid(pid);
    }
  }
  // The temp dir goes when the constructor throws: the log goes in the
  // message.
  if (s->pid == 0) {
    throw std::runtime_error(
        "SentinelSet: redis-sentinel did not start; its log:\n" +
        ReadFileText(s->dir.File("sentinel.log")));
  }
}

void SentinelSet::WaitReplicaLinked() const {
  std::string info;
  auto linked = [&] {
    info = RedisCommand("127.0.0.1", replica_.port(), "INFO replication");
    return info.find("master_link_status:up") != std::string::npos;
  };
  if (!WaitFor(Throttled(linked), kLinkDeadline)) {
    throw std::runtime_error(
        "SentinelSet: replica " + Address(replica_.port()) +
        " not linked to master " + Address(master_.port()) + " within " +
        std::to_string(kLinkDeadline.count()) +
        " ms; last INFO replication: " + info);
  }
}

bool SentinelSet::Ready(const Sentinel& s, std::string* why) const {
  const std::string quorum_ok = "OK " + std::to_string(kSentinels) + " usable";
  auto quorum = RedisStrings(s.port, {"SENTINEL", "ckquorum", name_});
  if (quorum.empty() || quorum[0].rfind(quorum_ok, 0) != 0) {
    *why = "SENTINEL ckquorum " + name_ + " to say '" + quorum_ok +
           "...'; last reply: '" + Joined(quorum) + "'";
    return false;
  }
  std::string replica = Address(replica_.port());
  auto replicas = RedisStrings(s.port, {"SENTINEL", "replicas", name_});
  if (!ListsHealthyReplica(replicas, replica)) {
    *why = "SENTINEL replicas " + name_ + " to list " + replica +
           " with flags 'slave'; last reply: '" + Joined(replicas) + "'";
    return false;
  }
  return true;
}

void SentinelSet::WaitSentinelsReady() const {
  std::string port, why;
  auto ready = [&] {
    for (const auto& s : sentinels_) {
      port = Address(s.port);
      if (!Ready(s, &why)) return false;
    }
    return true;
  };
  if (!WaitFor(Throttled(ready), kReadyDeadline)) {
    throw std::runtime_error(
        "SentinelSet: sentinel " + port + " not ready within " +
        std::to_string(kReadyDeadline.count()) + " ms: expected " + why);
  }
}

}  // namespace qd::test
