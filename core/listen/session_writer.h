// SessionWriter: writes a listener's connection sessions to Redis behind
// the replies (docs/architecture.md, "Multiplex listeners").
//
// The master keeps each connection's session state (ClientConn) and hands
// it to the connection's worker with every request; a worker sends it back
// when the request changed it. The Redis copy, a SessionRecord under
// PREFIX:{qd}:session:CONN with session_ttl, is for whoever looks: it is
// written at most every kSaveDelay per connection, from what the connection
// holds at that moment, and deleted when the connection closes. No worker reads
// it, so a worker never waits for Redis and a new worker never sees an
// older state than the last reply's.
//
// Holds the changed connections (by serial, until saved or closed) and
// which have a record in Redis. Used from the master's loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_set>

#include "core/config/config.h"
#include "core/util/units.h"

struct event;
struct event_base;

namespace qd {

class ClientConn;

// Where the master writes sessions: asynchronous, in order (the forget of a
// key comes after its saves).
struct SessionStore {
  std::function<void(const std::string& key, const std::string& record,
                     Duration ttl)>
      save;
  std::function<void(const std::string& key)> forget;
};

class SessionWriter {
 public:
  static constexpr Duration kSaveDelay{100};

  // `config` is the listener's and outlives the writer.
  SessionWriter(event_base* base, const ListenerConfig& config,
                SessionStore store);
  ~SessionWriter();
  SessionWriter(const SessionWriter&) = delete;
  SessionWriter& operator=(const SessionWriter&) = delete;

  // `conn`'s session changed: it is saved within kSaveDelay. REQUIRES:
  // Closed(conn) before `conn` is freed.
  void Changed(ClientConn* conn);
  // `conn` is closing: nothing more is saved for it, and its record, if
  // one was written, is deleted.
  void Closed(const ClientConn& conn);

 private:
  static void OnTimer(int fd, short what, void* arg);
  void SaveAll();

  const ListenerConfig& config_;
  SessionStore store_;
  event* timer_ = nullptr;
  std::map<uint64_t, ClientConn*> changed_;  // to be saved, by serial
  std::unordered_set<uint64_t> saved_;       // a record of it is in Redis
};

}  // namespace qd
