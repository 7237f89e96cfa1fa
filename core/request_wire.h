// RequestWire: the messages between the master and a request worker.
//
// A request worker (forked for a listener's connection) and the master talk
// over a SOCK_STREAM socketpair. Each message is
//   u32 header length, u32 body length (both big-endian), header, body
// where the header is a JSON object (type field "t") and the body raw bytes
// (a request or a reply, any bytes). Messages are at most kMaxHeader +
// kMaxBody bytes; anything larger, or a header that is not a JSON object, is
// a protocol error (the peer is then treated as dead).
//   master -> worker: {"t":"request","kind":"login"|"request","conn":ID,
//                      "site":S,"account":A,"saved":bool,"last":bool}
//                     + the frame ("saved": the connection has a session in
//                     Redis; "last": the worker's channel closes after it)
//   worker -> master: {"t":"reply","saved":bool,"saving":bool,
//                      "login":{"ok":bool,"site":S,"account":A}} + the reply
//                     ("login" only for a login request; "saving": the
//                     worker saves the session after this reply)
// EOF from the master tells a worker to exit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "queuedaemon/status.h"

struct evbuffer;

namespace qd {

struct WireMessage {
  nlohmann::json header;
  std::string body;

  // The header's boolean `key`; false when absent or not a boolean.
  bool Flag(const char* key) const {
    auto it = header.find(key);
    return it != header.end() && it->is_boolean() && it->get<bool>();
  }
};

class RequestWire {
 public:
  static constexpr size_t kMaxHeader = 64 << 10;
  static constexpr size_t kMaxBody = 64 << 20;

  enum class Result { kMessage, kNeedMore, kError };

  // Appends one encoded message to `out`.
  static void Encode(const nlohmann::json& header, std::string_view body,
                     evbuffer* out);
  // Takes one message out of `in`. kNeedMore leaves `in` untouched; kError
  // sets *error to one line ("header of 9000000 bytes exceeds 65536").
  static Result Decode(evbuffer* in, WireMessage* out, std::string* error);

  // Blocking helpers for the worker side (fd in blocking mode). Write
  // returns false when the peer is gone; Read returns kError with *error
  // empty on a clean EOF between messages.
  static bool Write(int fd, const nlohmann::json& header,
                    std::string_view body);
  static Result Read(int fd, evbuffer* buffer, WireMessage* out,
                     std::string* error);
};

}  // namespace qd
