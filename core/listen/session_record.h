// SessionRecord: a connection's login outcome and session state, as stored
// in Redis under PREFIX:{qd}:session:CONN (docs/architecture.md, "Multiplex
// listeners").
//
// Plain JSON data, never code:
//   {"v":1,"listener":"sip","ok":true,"site":"a","account":"alice",
//    "state":{"k":"v",...},"updated_ms":1700000000000}
// Decoding checks every field's type and refuses anything else with one line
// saying what is wrong; the input comes from Redis, so it is untrusted.
// State keys and values must be valid UTF-8 (JSON strings); Encode replaces
// invalid bytes rather than fail.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "queuedaemon/request_handler.h"
#include "queuedaemon/status.h"

namespace qd {

struct SessionRecord {
  std::string listener;
  bool ok = false;
  std::string site;
  std::string account;
  SessionState state;
  int64_t updated_ms = 0;

  std::string Encode() const;
  // On error *out is untouched.
  static Status Decode(std::string_view text, SessionRecord* out);
  // "PREFIX:{qd}:session:CONN" (OwnKeys::Session).
  static std::string Key(std::string_view prefix, std::string_view conn);
};

}  // namespace qd
