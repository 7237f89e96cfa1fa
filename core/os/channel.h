// Channel: one end of the master/worker socketpair.
//
// A SOCK_SEQPACKET pair, so each message is one packet and framing is free.
// Messages are small JSON objects with a type field "t":
//   worker -> master: {"t":"ready"}, {"t":"status","rss":..,"state":..},
//                     later issues add job reports;
//   master -> worker: {"t":"drain"}, {"t":"reopen"} (log files).
// EOF on the worker's end means the master died. Both ends are non-blocking;
// a full buffer drops a status report (the next one supersedes it) but never
// blocks a loop. Owns its descriptor.
#pragma once

#include <nlohmann/json.hpp>

#include "queuedaemon/status.h"

namespace qd {

class Channel {
 public:
  enum class ReadResult { kMessage, kAgain, kEof };

  // Creates a connected pair; *master_end and *worker_end own one fd each.
  static Status Pair(Channel* master_end, Channel* worker_end);

  Channel() = default;
  explicit Channel(int fd) : fd_(fd) {}
  ~Channel();
  Channel(Channel&& other) noexcept;
  Channel& operator=(Channel&& other) noexcept;

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Close();
  // Gives up ownership without closing (e.g. after fork, in the other side).
  int Release();

  // Returns false if the message could not be sent now (peer gone or full).
  bool Send(const nlohmann::json& message);
  // Reads one message. A malformed packet is skipped (kAgain).
  ReadResult Read(nlohmann::json* message);

 private:
  int fd_ = -1;
};

}  // namespace qd
