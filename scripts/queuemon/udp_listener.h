// UdpListener: queuemon's bound UDP socket and its libevent read event.
//
// Open() parses the --listen address (HOST:PORT or [IPV6]:PORT; a host name
// is resolved once, at start-up), binds a non-blocking socket and starts
// reading. Each wakeup reads every datagram waiting, up to kMaxPerWakeup
// (the event is level-triggered, so the rest come on the next turn and a
// flood cannot starve the interval timer), and hands each one to the
// callback; the bytes are valid only during the call. A receive error other
// than "nothing left" is reported once on stderr and reading goes on.
// Owns the socket and the event: destroy it before the event_base.
// Single-threaded.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "queuedaemon/status.h"

struct event;
struct event_base;

namespace qd::mon {

class UdpListener {
 public:
  using OnDatagram = std::function<void(std::string_view)>;
  static constexpr int kMaxPerWakeup = 1024;

  // Errors name the address and what is wrong with it (a usage error).
  static Status Open(event_base* base, std::string_view address,
                     OnDatagram on_datagram, std::unique_ptr<UdpListener>* out);
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  // The bound address, "127.0.0.1:8125" or "[::1]:8125": the real port
  // when port 0 was asked for.
  const std::string& address() const { return address_; }

 private:
  UdpListener() = default;
  static void OnReadable(int fd, short what, void* arg);
  void ReadAll();

  int fd_ = -1;
  event* read_ = nullptr;
  OnDatagram on_datagram_;
  std::string address_;
  std::vector<char> buffer_;
  bool error_reported_ = false;
};

}  // namespace qd::mon
