#include "core/monitor/http_request.h"

#include <strings.h>

#include <cctype>
#include <cstring>

namespace qd {
namespace {

// RFC 9110 tchar: the characters of a method or a header name.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) == 0 && std::strchr("!#$%&'*+-.^_`|~", c) == nullptr) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Whether the comma-separated `list` holds `token` (case-insensitive).
bool HasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (EqualsNoCase(Trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// "GET /path?q HTTP/1.1" into method, target, path, query and version.
int ParseRequestLine(std::string_view line, HttpRequest* out) {
  size_t sp1 = line.find(' ');
  size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return 400;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method) || target.empty() ||
      target.find_first_of(" \t") != std::string_view::npos) {
    return 400;
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" ||
      std::isdigit(static_cast<unsigned char>(version[5])) == 0 ||
      version[6] != '.' ||
      std::isdigit(static_cast<unsigned char>(version[7])) == 0) {
    return 400;
  }
  if (version[5] != '1') return 505;
  out->method = std::string(method);
  out->target = std::string(target);
  out->minor_version = version[7] == '0' ? 0 : 1;
  // Absolute form ("http://host:port/path"), as a proxy would send it.
  std::string_view local = target;
  size_t scheme = local.find("://");
  if (local.front() != '/' && scheme != std::string_view::npos) {
    size_t slash = local.find('/', scheme + 3);
    local = slash == std::string_view::npos ? "/" : local.substr(slash);
  }
  size_t q = local.find('?');
  out->path = std::string(local.substr(0, q));
  out->query =
      q == std::string_view::npos ? "" : std::string(local.substr(q + 1));
  return 0;
}

// "Name: value", the value without its surrounding blanks.
int ParseHeaderLine(std::string_view line, HttpRequest* out) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return 400;
  // A blank before the colon or at the start (obsolete line folding) is
  // refused: RFC 9112 section 5.1 and 5.2.
  std::string_view name = line.substr(0, colon);
  if (!IsToken(name)) return 400;
  out->headers.emplace_back(std::string(name),
                            std::string(Trim(line.substr(colon + 1))));
  return 0;
}

// Content-Length: digits only; several must agree.
int ParseContentLength(HttpRequest* out) {
  bool seen = false;
  for (const auto& [name, value] : out->headers) {
    if (!EqualsNoCase(name, "Content-Length")) continue;
    if (value.empty() || value.size() > 15 ||
        value.find_first_not_of("0123456789") != std::string::npos) {
      return 400;
    }
    size_t length = std::stoull(value);
    if (seen && length != out->content_length) return 400;
    out->content_length = length;
    seen = true;
  }
  return 0;
}

}  // namespace

const std::string* HttpRequest::Header(std::string_view name) const {
  for (const auto& header : headers) {
    if (EqualsNoCase(header.first, name)) return &header.second;
  }
  return nullptr;
}

int ParseRequestHead(const std::vector<std::string>& lines, HttpRequest* out) {
  int status = ParseRequestLine(lines.front(), out);
  for (size_t i = 1; status == 0 && i < lines.size(); ++i) {
    status = ParseHeaderLine(lines[i], out);
  }
  if (status == 0) status = ParseContentLength(out);
  if (status != 0) return status;
  if (out->Header("Transfer-Encoding") != nullptr) return 501;
  const std::string* connection = out->Header("Connection");
  if (out->minor_version == 0) {
    out->keep_alive =
        connection != nullptr && HasToken(*connection, "keep-alive");
  } else {
    out->keep_alive = connection == nullptr || !HasToken(*connection, "close");
  }
  const std::string* expect = out->Header("Expect");
  out->expect_continue =
      expect != nullptr && EqualsNoCase(*expect, "100-continue");
  return 0;
}

}  // namespace qd
