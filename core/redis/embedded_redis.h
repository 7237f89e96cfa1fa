// EmbeddedRedis: a private redis-server that the master starts and watches
// when the config says `redis: embedded`.
//
// It listens only on a unix socket in RUN_DIR/redis/ (no TCP port), keeps
// its data there with AOF on (appendfsync everysec), and dies with the
// master (PR_SET_PDEATHSIG), so a killed master never leaves it behind.
// Start() blocks until the server answers PING (start-up only, before the
// loop runs); a crash later is restarted with backoff from the master's
// loop; Stop() asks it to shut down (TERM: it writes its AOF) and waits.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "core/util/respawn_backoff.h"
#include "queuedaemon/status.h"

struct event;
struct event_base;

namespace qd {

class EmbeddedRedis {
 public:
  // `dir` must be absolute (redis-server changes its working directory).
  EmbeddedRedis(event_base* base, std::string binary, std::string dir);
  ~EmbeddedRedis();

  Status Start();
  // "unix:///abs/run/redis/redis.sock"
  std::string url() const { return "unix://" + socket_path(); }
  std::string socket_path() const { return dir_ + "/redis.sock"; }
  pid_t pid() const { return pid_; }

  // The master reaped `pid`; returns false if it was not this server.
  bool OnExit(pid_t pid, int wait_status);
  // TERM, then KILL if it has not exited within `grace_ms`.
  void Stop(int grace_ms = 10000);

 private:
  Status Spawn();
  bool Ping() const;
  void ScheduleRestart(std::chrono::milliseconds delay);
  static void OnRestart(int fd, short what, void* arg);

  event_base* base_;
  std::string binary_;
  std::string dir_;
  pid_t pid_ = 0;
  bool stopping_ = false;
  RespawnBackoff backoff_;
  event* restart_timer_ = nullptr;
};

}  // namespace qd
