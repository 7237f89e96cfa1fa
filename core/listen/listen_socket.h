// ListenSocket: a listener's bound socket and the libevent listener that
// accepts on it.
//
// Binding is apart from serving (Bind() is static) so that the master binds
// every `listen:` address at start-up, while it may still be root, and
// serves after it has dropped its privileges. An accepted descriptor goes
// to the owner's callback, which owns it from then on. Used from the
// master's loop only.
//
// Out of descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM),
// the socket stops accepting for kPause at a time (AcceptPause, which the
// HTTP monitor uses too): waiting clients stay in the backlog meanwhile.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/config/config.h"
#include "core/os/accept_pause.h"
#include "queuedaemon/status.h"

struct event;
struct event_base;
struct evconnlistener;
struct sockaddr;

namespace qd {

class ListenSocket {
 public:
  // Called with each accepted, non-blocking descriptor (now the callee's)
  // and the peer's address.
  using AcceptFn =
      std::function<void(int fd, const ::sockaddr* peer, int peer_len)>;

  ListenSocket(event_base* base, AcceptFn on_accept);
  // Stops accepting and closes the socket; a unix socket's path stays (a
  // restart replaces it), unlike after Close().
  ~ListenSocket();
  ListenSocket(const ListenSocket&) = delete;
  ListenSocket& operator=(const ListenSocket&) = delete;

  // Binds and listens on `config.listen` ("host:port" or "unix:/path"):
  // a non-blocking descriptor for Open(). An error names the listener and
  // the address.
  [[nodiscard]] static Status Bind(const ListenerConfig& config, int* fd);
  // Accepts on `fd` from Bind() (taken over, closed on error), or binds
  // now when -1. REQUIRES: not open.
  Status Open(const ListenerConfig& config, int fd);
  // Stops accepting, closes the socket and removes a unix socket's path.
  void Close();
  bool open() const { return listener_ != nullptr; }

  static constexpr std::chrono::milliseconds kPause{100};
  // Accepts that failed for want of descriptors or memory, since start.
  uint64_t shortages() const { return shortages_; }

 private:
  static void OnAccept(evconnlistener* l, int fd, ::sockaddr* addr, int len,
                       void* arg);
  static void OnAcceptError(evconnlistener* l, void* arg);

  event_base* base_;
  AcceptFn on_accept_;
  std::string name_;    // the listener's, for the log
  std::string listen_;  // the address it was opened on
  evconnlistener* listener_ = nullptr;
  std::unique_ptr<AcceptPause> pause_;  // while open
  uint64_t shortages_ = 0;
};

}  // namespace qd
