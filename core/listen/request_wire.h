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
//                      "site":S,"account":A,"state":{...}} + the frame
//                     ("state": the connection's session state, if any)
//   worker -> master: {"t":"reply","state":{...},
//                      "login":{"ok":bool,"site":S,"account":A}} + the reply
//                     ("state" only when the request changed it, at most
//                     kMaxState bytes of JSON; "login" only for a login)
// EOF from the master tells a worker to exit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "queuedaemon/request_handler.h"
#include "queuedaemon/status.h"

struct evbuffer;

namespace qd {

// A worker's answer to a login request: the header's "login".
struct WireLogin {
  bool ok = false;
  std::string site;
  std::string account;
};

struct WireMessage {
  nlohmann::json header;
  std::string body;

  // The header's "state" (string values only; others are skipped) into
  // *out; false when it has none.
  bool State(SessionState* out) const;
  // The header's "login" into *out (a field missing or of another type
  // reads as false or ""); false when it has none or it is not an object.
  bool Login(WireLogin* out) const;
};

class RequestWire {
 public:
  static constexpr size_t kMaxHeader = 64 << 10;
  static constexpr size_t kMaxBody = 64 << 20;
  // A session state larger than this (as JSON) is not handed on.
  static constexpr size_t kMaxState = 48 << 10;

  enum class Result { kMessage, kNeedMore, kError };

  // Appends one encoded message to `out`.
  static void Encode(const nlohmann::json& header, std::string_view body,
                     evbuffer* out);
  // The same with the header's JSON text (WireHeader) given.
  static void EncodeText(std::string_view header, std::string_view body,
                         evbuffer* out);
  // Takes one message out of `in`. kNeedMore leaves `in` untouched; kError
  // sets *error to one line ("header of 9000000 bytes exceeds 65536").
  static Result Decode(evbuffer* in, WireMessage* out, std::string* error);

  // Blocking helpers for the worker side (fd in blocking mode). Write
  // returns false when the peer is gone; Read returns kError with *error
  // empty on a clean EOF between messages.
  static bool Write(int fd, const nlohmann::json& header,
                    std::string_view body);
  static bool WriteText(int fd, std::string_view header, std::string_view body);
  static Result Read(int fd, evbuffer* buffer, WireMessage* out,
                     std::string* error);
};

}  // namespace qd
