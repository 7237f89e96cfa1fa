// WireHeader: the JSON text of RequestWire's two headers, written straight
// into a string.
//
// Why by hand and not with nlohmann::json, which reads them: building a
// json object allocates a tree node and a string per field, and both
// headers are built once per request on the multiplex path (the master's
// request, the worker's reply), where that was a tenth of each process's
// CPU. The text is the same JSON (field order aside): strings escaped as
// nlohmann's dump() escapes them, invalid UTF-8 replaced by U+FFFD as
// dump() with error_handler_t::replace does, so that any client-chosen
// bytes (a site, an account, a session value) still make a header the
// other side parses.
#pragma once

#include <string>
#include <string_view>

#include "core/listen/request_wire.h"
#include "queuedaemon/request_handler.h"

namespace qd {

class WireHeader {
 public:
  // `"conn":ID,"site":S,"account":A`: the part of a request header that
  // stays the same from one request of a connection to the next (until its
  // login changes it).
  static std::string Identity(std::string_view conn, std::string_view site,
                              std::string_view account);
  // A request header: {"t":"request","kind":"login"|"request",IDENTITY
  // and "state" when `state` is not empty}.
  static std::string Request(bool login, std::string_view identity,
                             const SessionState& state);
  // A reply header: {"t":"reply"}, with `state_json` (JSON text of an
  // object, from AppendState) when not empty and "login" when `login` is
  // not null.
  static std::string Reply(std::string_view state_json, const WireLogin* login);

  // Appends `text` as a JSON string, quoted and escaped.
  static void AppendString(std::string* out, std::string_view text);
  // Appends `state` as a JSON object of strings.
  static void AppendState(std::string* out, const SessionState& state);
};

}  // namespace qd
