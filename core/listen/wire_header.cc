#include "core/listen/wire_header.h"

#include <cstddef>

namespace qd {
namespace {

// The length of the well-formed UTF-8 sequence starting at text[i] (RFC
// 3629, as nlohmann's decoder accepts), or 0 when it is not one.
size_t Utf8Length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) -> unsigned {
    return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
  };
  auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    unsigned b = byte(k);
    return b >= lo && b <= hi;
  };
  unsigned b0 = byte(0);
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
  if (b0 == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) {
    return cont(1) && cont(2) ? 3 : 0;
  }
  if (b0 == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (b0 == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xF1 && b0 <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

void AppendEscape(std::string* out, unsigned char c) {
  switch (c) {
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    case '\b':
      out->append("\\b");
      return;
    case '\f':
      out->append("\\f");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    default: {
      static const char kHex[] = "0123456789abcdef";
      char u[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out->append(u, sizeof u);
    }
  }
}

}  // namespace

void WireHeader::AppendString(std::string* out, std::string_view text) {
  out->push_back('"');
  size_t plain = 0;  // start of the run of bytes copied as they are
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    size_t len = c < 0x80 ? 0 : Utf8Length(text, i);
    if (len > 0) {
      i += len;
      continue;
    }
    out->append(text.data() + plain, i - plain);
    if (c < 0x80) {
      AppendEscape(out, c);
    } else {
      out->append("\xEF\xBF\xBD");  // U+FFFD for a byte that is not UTF-8
    }
    plain = ++i;
  }
  out->append(text.data() + plain, text.size() - plain);
  out->push_back('"');
}

void WireHeader::AppendState(std::string* out, const SessionState& state) {
  out->push_back('{');
  bool first = true;
  for (const auto& [key, value] : state) {
    if (!first) out->push_back(',');
    first = false;
    AppendString(out, key);
    out->push_back(':');
    AppendString(out, value);
  }
  out->push_back('}');
}

std::string WireHeader::Identity(std::string_view conn, std::string_view site,
                                 std::string_view account) {
  std::string out = "\"conn\":";
  AppendString(&out, conn);
  out.append(",\"site\":");
  AppendString(&out, site);
  out.append(",\"account\":");
  AppendString(&out, account);
  return out;
}

std::string WireHeader::Request(bool login, std::string_view identity,
                                const SessionState& state) {
  std::string out;
  out.reserve(64 + identity.size() + (state.empty() ? 0 : 64));
  out.append(login ? "{\"t\":\"request\",\"kind\":\"login\","
                   : "{\"t\":\"request\",\"kind\":\"request\",");
  out.append(identity);
  if (!state.empty()) {
    out.append(",\"state\":");
    AppendState(&out, state);
  }
  out.push_back('}');
  return out;
}

std::string WireHeader::Reply(std::string_view state_json,
                              const WireLogin* login) {
  std::string out = "{\"t\":\"reply\"";
  if (!state_json.empty()) {
    out.append(",\"state\":");
    out.append(state_json);
  }
  if (login != nullptr) {
    out.append(login->ok ? ",\"login\":{\"ok\":true,\"site\":"
                         : ",\"login\":{\"ok\":false,\"site\":");
    AppendString(&out, login->site);
    out.append(",\"account\":");
    AppendString(&out, login->account);
    out.push_back('}');
  }
  out.push_back('}');
  return out;
}

}  // namespace qd
