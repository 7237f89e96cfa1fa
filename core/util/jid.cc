// Jid and ParseJid: the checks an XMPP address has to pass.
#include "queuedaemon/jid.h"

#include <algorithm>
#include <cstdint>

#include "core/util/text_quote.h"
#include "core/util/xml_builder.h"

namespace qd {
namespace {

// How much of the text an error quotes.
constexpr size_t kMaxQuoted = 64;
constexpr size_t kMaxJidPart = 1023;

// Why `part` cannot be a JID part, or empty if it can. Spaces are allowed
// only where RFC 7622 allows them: inside a resource.
std::string CheckJidPart(std::string_view what, std::string_view part,
                         bool spaces_ok) {
  if (part.empty()) return "empty " + std::string(what);
  if (part.size() > kMaxJidPart) {
    return std::string(what) + " longer than " + std::to_string(kMaxJidPart) +
           " bytes";
  }
  for (size_t i = 0; i < part.size();) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(part, i, &cp);
    if (len == 0) return std::string(what) + " is not valid UTF-8";
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
        (cp == ' ' && !spaces_ok) || !IsXmlChar(cp)) {
      return std::string(what) + " contains a space or control character";
    }
    i += len;
  }
  return {};
}

// A host name (labels of letters, digits, '-', or UTF-8), an IPv4 address,
// or an [IPv6] literal.
std::string CheckDomain(std::string_view domain) {
  if (domain.front() == '[') {
    bool ok = domain.size() > 2 && domain.back() == ']' &&
              std::all_of(domain.begin() + 1, domain.end() - 1, [](char c) {
                return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                       (c >= 'A' && c <= 'F') || c == ':' || c == '.';
              });
    return ok ? "" : "bad IPv6 literal in domain";
  }
  size_t label = 0;
  for (char ch : domain) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '.') {
      if (label == 0) return "empty label in domain";
      label = 0;
      continue;
    }
    bool ascii_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '-';
    if (!ascii_ok && c < 0x80) {
      return "character '" + Quote(std::string_view(&ch, 1), kMaxQuoted) +
             "' not allowed in domain";
    }
    ++label;
  }
  return label == 0 ? "empty label in domain" : "";
}

}  // namespace

std::string Jid::Bare() const {
  return local.empty() ? domain : local + "@" + domain;
}

std::string Jid::Full() const {
  return resource.empty() ? Bare() : Bare() + "/" + resource;
}

Status ParseJid(std::string_view text, Jid* out) {
  std::string_view rest = text;
  std::string_view local, resource;
  bool has_local = false, has_resource = false;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    resource = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    has_resource = true;
  }
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    local = rest.substr(0, at);
    rest = rest.substr(at + 1);
    has_local = true;
  }
  std::string_view domain = rest;
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);

  std::string why = CheckJidPart("domain", domain, false);
  if (why.empty()) why = CheckDomain(domain);
  if (why.empty() && has_local) {
    why = CheckJidPart("local part", local, false);
    if (why.empty() && local.find_first_of("\"&'/:<>@") != local.npos) {
      why = "local part contains one of \" & ' / : < > @";
    }
  }
  if (why.empty() && has_resource) {
    why = CheckJidPart("resource", resource, true);
  }
  if (!why.empty()) {
    return Status::Error("bad JID '" + Quote(text, kMaxQuoted) + "': " + why);
  }
  out->local.assign(local);
  out->domain.assign(domain);
  for (char& c : out->domain) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  out->resource.assign(resource);
  return Status::Ok();
}

}  // namespace qd
