// EnqueueLibraryLoader: makes sure a Redis server has the function library
// "qd" (core/queue/enqueue_library.h) at this build's version or a newer
// one.
//
// It asks FCALL qd_version 0. No library: FUNCTION LOAD (without REPLACE,
// so that when another client loaded it in the meantime the load fails
// with "already exists" and the version is asked again). An older version:
// FUNCTION LOAD REPLACE. The same or a newer one: nothing, so two daemons
// of different versions sharing a server never replace each other's
// library in turn. At most kRounds questions per call. Two daemons that
// both find an old version at the same moment may both replace it, and
// the older of them last; the newer one puts its own back at its next
// connect (documented in docs/unique-jobs.md).
//
// A server without functions (Redis before 7.0) or a login without the
// right to them ends in kUnsupported or kFailed; the caller logs it and
// goes on: only FCALL qd_enqueue needs the library, the daemon's own
// scripts are EVAL scripts. Blocking (RedisConn: the daemon's start,
// queuectl) and asynchronous (RedisClient: a worker, after every connect)
// forms; the asynchronous one runs on the client's loop.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <functional>
#include <string>

#include "core/redis/redis_client.h"
#include "core/redis/redis_conn.h"

namespace qd {

class EnqueueLibraryLoader {
 public:
  static constexpr int kRounds = 3;

  enum class Result {
    kPresent,      // the same or a newer version was there
    kLoaded,       // loaded (old_version -1) or replaced an older one
    kUnsupported,  // the server has no functions (Redis before 7.0)
    kFailed,       // refused (NOPERM, another library called "qd" ...)
  };
  struct Outcome {
    Result result = Result::kFailed;
    int64_t version = -1;      // on the server now, when known
    int64_t old_version = -1;  // kLoaded: the one replaced; -1: none
    std::string why;           // kFailed, kUnsupported: the server's words
  };

  // One line for the log: "loaded function library qd version 1", ...
  static std::string Describe(const Outcome& outcome);

  // Blocking. Connection errors end in kFailed with the message.
  static Outcome Ensure(RedisConn* conn);
  // On the client's loop; `done` gets the outcome once a reply decided it.
  // Nothing is called when the connection is lost first (the owner runs
  // it again after the reconnect) or `client` is not connected.
  static void Ensure(RedisClient* client,
                     std::function<void(const Outcome&)> done);

  // What the reply to FCALL qd_version says to do.
  enum class Step { kNone, kLoad, kReplace, kUnsupported, kFailed };
  // Fills *version when the reply is one, *why for kUnsupported/kFailed.
  static Step Decide(const redisReply* reply, int64_t* version,
                     std::string* why);
  // What the reply to FUNCTION LOAD means: true = loaded; false and
  // *retry = another client loaded it first (ask again); else *why.
  static bool Loaded(const redisReply* reply, bool* retry, std::string* why);
};

}  // namespace qd
