#include "core/monitor/http_response.h"

#include <cctype>

namespace qd {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string ResponseHead(const HttpResponse& response, bool keep_alive,
                         bool announce_keep_alive) {
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " +
                     ReasonPhrase(response.status) + "\r\n";
  head += "Content-Type: " + response.content_type + "\r\n";
  for (const auto& [name, value] : response.headers) {
    head += name + ": " + value + "\r\n";
  }
  head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  if (!keep_alive) {
    head += "Connection: close\r\n";
  } else if (announce_keep_alive) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  return head;
}

HttpResponse TextResponse(int status) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Cache-Control", "no-store");
  for (const char* c = ReasonPhrase(status); *c != '\0'; ++c) {
    response.body +=
        static_cast<char>(std::tolower(static_cast<unsigned char>(*c)));
  }
  response.body += "\n";
  return response;
}

}  // namespace qd
