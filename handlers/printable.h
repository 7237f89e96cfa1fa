// Printable: makes untrusted bytes (payloads, a command's output) safe for a
// one-line log record. A pure function: safe anywhere.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace qd {

// `text` with backslash escapes for everything outside printable ASCII
// ("\n", "\t", "\\", "\x1b"), cut after `max_bytes` input bytes with
// "...(+N bytes)" appended, so the result is one line of bounded length.
std::string Printable(std::string_view text, size_t max_bytes);

}  // namespace qd
