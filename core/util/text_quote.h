// Quote: enough of a peer's text to recognise it in an error message, at
// most `max` bytes (then "..."), control bytes shown as \xNN (and, with
// `ascii_only`, every byte above 0x7e too). For the parsers of untrusted
// input (statsd lines, XMPP streams, SASL messages).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace qd {

std::string Quote(std::string_view text, size_t max, bool ascii_only = false);

}  // namespace qd
