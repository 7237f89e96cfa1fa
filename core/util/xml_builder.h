// XmlBuilder and XmlEscape: outgoing XML for the XMPP client
// (docs/architecture.md, "XMPP"), escaped so that no input can make the server
// close the stream as not well-formed. Also the UTF-8 and XML character checks
// that escaping rests on, which ParseJid (jid.h) shares.
//
// Plain values and functions without shared state: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace qd {

// Escapes text for XML character data or an attribute value (either
// quote): & < > " ' become entities; tab, newline and carriage return
// become character references (so attribute values keep them). Everything
// XML 1.0 cannot carry (other control characters, U+FFFE, U+FFFF) and
// invalid UTF-8 become U+FFFD, so no input can make the server close the
// stream as not well-formed.
std::string XmlEscape(std::string_view text);

// Builds one element as a string, escaping every value and text:
//   XmlBuilder("message").Attr("to", jid).Attr("type", "chat")
//       .Child("body", text).Str()
//   -> <message to='...' type='chat'><body>...</body></message>
// Children and text appear in the order they were added.
// REQUIRES: element and attribute names are valid XML names (constants in
// the code; they are not escaped).
class XmlBuilder {
 public:
  explicit XmlBuilder(std::string_view name);

  XmlBuilder& Attr(std::string_view name, std::string_view value);
  // Appends escaped character data.
  XmlBuilder& Text(std::string_view text);
  // Appends <name>text</name> (or <name/> when text is empty).
  XmlBuilder& Child(std::string_view name, std::string_view text = {});
  // Appends a complete child element.
  XmlBuilder& Child(const XmlBuilder& child);

  std::string Str() const;

 private:
  std::string name_;
  std::string attrs_;    // " a='v' b='w'"
  std::string content_;  // escaped text and children
};

// The length of the valid UTF-8 sequence at text[i] (RFC 3629: no overlong
// forms, no surrogates, at most U+10FFFF), with its code point in *cp; 0 if
// the bytes there are not one. REQUIRES: i < text.size().
size_t DecodeUtf8(std::string_view text, size_t i, uint32_t* cp);

// XML 1.0's Char production: the code points an XML document can carry.
bool IsXmlChar(uint32_t cp);

}  // namespace qd
