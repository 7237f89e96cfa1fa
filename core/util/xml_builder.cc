// XmlEscape, XmlBuilder and the UTF-8 / XML character checks under them.
#include "core/util/xml_builder.h"

namespace qd {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

size_t DecodeUtf8(std::string_view text, size_t i, uint32_t* cp) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  unsigned char c = byte(0);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t value, min;
  if ((c & 0xe0) == 0xc0) {
    len = 2, value = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3, value = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4, value = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (text.size() - i < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(k) & 0xc0) != 0x80) return 0;
    value = (value << 6) | (byte(k) & 0x3f);
  }
  if (value < min || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
    return 0;
  *cp = value;
  return len;
}

bool IsXmlChar(uint32_t cp) {
  return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
         (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(text, i, &cp);
    if (len == 0) {  // one bad byte; resynchronise at the next
      out += kReplacement;
      ++i;
      continue;
    }
    if (!IsXmlChar(cp)) {
      out += kReplacement;
    } else if (len > 1) {
      out.append(text.substr(i, len));
    } else {
      switch (text[i]) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&apos;";
          break;
        case '\t':
          out += "&#9;";
          break;
        case '\n':
          out += "&#10;";
          break;
        case '\r':
          out += "&#13;";
          break;
        default:
          out += text[i];
      }
    }
    i += len;
  }
  return out;
}

XmlBuilder::XmlBuilder(std::string_view name) : name_(name) {}

XmlBuilder& XmlBuilder::Attr(std::string_view name, std::string_view value) {
  attrs_ += ' ';
  attrs_.append(name);
  attrs_ += "='";
  attrs_ += XmlEscape(value);
  attrs_ += '\'';
  return *this;
}

XmlBuilder& XmlBuilder::Text(std::string_view text) {
  content_ += XmlEscape(text);
  return *this;
}

XmlBuilder& XmlBuilder::Child(std::string_view name, std::string_view text) {
  return Child(XmlBuilder(name).Text(text));
}

XmlBuilder& XmlBuilder::Child(const XmlBuilder& child) {
  content_ += child.Str();
  return *this;
}

std::string XmlBuilder::Str() const {
  std::string out = "<" + name_ + attrs_;
  if (content_.empty()) return out + "/>";
  return out + ">" + content_ + "</" + name_ + ">";
}

}  // namespace qd
