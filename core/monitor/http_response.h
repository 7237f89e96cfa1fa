// HttpResponse: the reply a handler fills in for HttpServer, and the text
// of its status line and headers.
//
// The handler sets the status, the type, any extra headers and the whole
// body; the server adds Content-Length and Connection and leaves the body
// out for HEAD. Pure data, no I/O.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace qd {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  // Sent in order after Content-Type ("Allow", "Cache-Control"); never
  // Content-Length or Connection, which the server writes.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// "OK", "Not Found" ...; "Unknown" for a status it does not know.
const char* ReasonPhrase(int status);

// The status line and headers of `response` up to and including the empty
// line, HTTP/1.1, with Content-Length of its body and "Connection: close"
// unless `keep_alive` ("Connection: keep-alive" as well when
// `announce_keep_alive`, for HTTP/1.0 clients).
std::string ResponseHead(const HttpResponse& response, bool keep_alive,
                         bool announce_keep_alive);

// A plain-text reply: `status` with its reason phrase in lower case and a
// newline as the body ("not found\n"), and Cache-Control: no-store.
HttpResponse TextResponse(int status);

}  // namespace qd
