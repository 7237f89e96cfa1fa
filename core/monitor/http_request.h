// HttpRequest: one HTTP/1.x request as HttpServer hands it to its handler,
// and the parser of its head (the request line and the header lines).
//
// The parser is strict where leniency would let a request mean two things
// (a bad Content-Length, a Transfer-Encoding, folded header lines are
// refused) and lenient where RFC 9112 allows it (bare LF line ends, empty
// lines before the request line, an absolute-form target). It works on
// whole lines that the connection has already cut and bounded, so it
// allocates at most what the head limit lets in. Pure functions, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qd {

struct HttpRequest {
  std::string method;     // as sent, case-sensitive: "GET", "HEAD", "POST"
  std::string target;     // as sent: "/status?verbose=1"
  std::string path;       // the target up to '?', not percent-decoded
  std::string query;      // after '?', empty when none
  int minor_version = 1;  // HTTP/1.0 or HTTP/1.1
  std::vector<std::pair<std::string, std::string>> headers;  // in order
  size_t content_length = 0;
  bool keep_alive = true;        // from the version and Connection
  bool expect_continue = false;  // "Expect: 100-continue"
  std::string body;              // content_length bytes, read by the connection

  // The value of the first header named `name` (case-insensitive), or
  // nullptr.
  const std::string* Header(std::string_view name) const;
};

// Parses the head from its lines, without their line ends and without the
// empty line that ends it. Returns 0 when `*out` holds the request (body
// still to read), else the status to refuse it with: 400 (malformed), 501
// (a Transfer-Encoding: only Content-Length bodies are read), 505 (not
// HTTP/1.x). REQUIRES: !lines.empty().
int ParseRequestHead(const std::vector<std::string>& lines, HttpRequest* out);

}  // namespace qd
