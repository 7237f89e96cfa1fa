#include "core/xmpp_stream.h"

#include <expat.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <new>

#include "core/text_quote.h"

namespace qd {
namespace {

// Separates URI, local name and prefix in the names expat reports. It is not
// an XML 1.0 character (not even as &#1;), so no URI or name can hold it.
constexpr char kNsSeparator = '\x01';

// XML_Parse takes an int length; slices also keep the size check close.
constexpr size_t kSlice = 64 * 1024;

// How much of a peer's text an error quotes.
constexpr size_t kMaxQuoted = 64;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool IsXmlSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The length of the valid UTF-8 sequence at text[i] (RFC 3629: no overlong
// forms, no surrogates, at most U+10FFFF) and its code point; 0 if invalid.
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

// XML 1.0's Char production.
bool IsXmlChar(uint32_t cp) {
  return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
         (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

// Expat reports "URI\1local\1prefix", "URI\1local" or "local".
void SplitExpatName(std::string_view raw, std::string* name, std::string* ns) {
  size_t first = raw.find(kNsSeparator);
  if (first == std::string_view::npos) {
    name->assign(raw);
    ns->clear();
    return;
  }
  ns->assign(raw.substr(0, first));
  std::string_view rest = raw.substr(first + 1);
  size_t second = rest.find(kNsSeparator);
  if (second == std::string_view::npos) {
    name->assign(rest);
  } else {
    name->assign(rest.substr(second + 1));
    *name += ':';
    name->append(rest.substr(0, second));
  }
}

}  // namespace

// --- XmlElement ---

std::string_view XmlElement::LocalName() const {
  std::string_view full = name;
  size_t colon = full.find(':');
  return colon == std::string_view::npos ? full : full.substr(colon + 1);
}

bool XmlElement::Is(std::string_view local, std::string_view want_ns) const {
  return LocalName() == local && ns == want_ns;
}

std::string_view XmlElement::Attr(std::string_view attr) const {
  for (const auto& [key, value] : attrs) {
    if (key == attr) return value;
  }
  return {};
}

bool XmlElement::HasAttr(std::string_view attr) const {
  for (const auto& entry : attrs) {
    if (entry.first == attr) return true;
  }
  return false;
}

const XmlElement* XmlElement::Child(std::string_view local,
                                    std::string_view want_ns) const {
  for (const XmlElement& child : children) {
    if (child.LocalName() == local && (want_ns.empty() || child.ns == want_ns))
      return &child;
  }
  return nullptr;
}

// --- XmppStream ---

// Expat's C callbacks; `data` is the XmppStream.
struct XmppStream::Expat {
  static XmppStream* Self(void* data) { return static_cast<XmppStream*>(data); }
  static void Start(void* data, const XML_Char* name, const XML_Char** attrs) {
    Self(data)->OnStart(name, attrs);
  }
  static void End(void* data, const XML_Char*) { Self(data)->OnEnd(); }
  static void Text(void* data, const XML_Char* text, int len) {
    Self(data)->OnText(text, len);
  }
  static void Doctype(void* data, const XML_Char*, const XML_Char*,
                      const XML_Char*, int) {
    Self(data)->Fail("DOCTYPE refused (XMPP forbids DTDs and entities)");
  }
  static void Entity(void* data, const XML_Char*, int, const XML_Char*, int,
                     const XML_Char*, const XML_Char*, const XML_Char*,
                     const XML_Char*) {
    Self(data)->Fail("entity declaration refused (XMPP forbids them)");
  }
  static void Instruction(void* data, const XML_Char*, const XML_Char*) {
    Self(data)->Fail("processing instruction refused (XMPP forbids them)");
  }
  static void Comment(void* data, const XML_Char*) {
    Self(data)->Fail("XML comment refused (XMPP forbids them)");
  }
};

void XmppStream::FreeParser::operator()(XML_ParserStruct* parser) const {
  XML_ParserFree(parser);
}

XmppStream::XmppStream(Handlers handlers, size_t max_stanza)
    : handlers_(std::move(handlers)), max_stanza_(max_stanza) {
  assert(max_stanza > 0);
  NewParser();
}

XmppStream::~XmppStream() = default;

void XmppStream::NewParser() {
  // The encoding argument overrides any XML declaration: XMPP is UTF-8.
  XML_Parser parser = XML_ParserCreateNS("UTF-8", kNsSeparator);
  if (parser == nullptr) throw std::bad_alloc();
  XML_SetReturnNSTriplet(parser, 1);
  XML_SetUserData(parser, this);
  XML_SetElementHandler(parser, Expat::Start, Expat::End);
  XML_SetCharacterDataHandler(parser, Expat::Text);
  XML_SetStartDoctypeDeclHandler(parser, Expat::Doctype);
  XML_SetEntityDeclHandler(parser, Expat::Entity);
  XML_SetProcessingInstructionHandler(parser, Expat::Instruction);
  XML_SetCommentHandler(parser, Expat::Comment);
  parser_.reset(parser);
}

void XmppStream::Reset() {
  if (in_feed_) {
    // The parser is on the stack below us: stop it, Feed() finishes.
    if (!reset_pending_) XML_StopParser(parser_.get(), XML_FALSE);
    reset_pending_ = true;
    return;
  }
  error_ = Status::Ok();
  header_ = XmlElement();
  open_.clear();
  depth_ = 0;
  started_ = ended_ = false;
  fed_ = boundary_ = reset_at_ = 0;
  NewParser();
}

Status XmppStream::Feed(const char* data, size_t n) {
  assert(!in_feed_);
  if (!error_.ok()) return error_;
  const uint64_t chunk_start = fed_;
  in_feed_ = true;
  for (size_t done = 0; done < n && error_.ok() && !reset_pending_;) {
    size_t len = std::min(n - done, kSlice);
    fed_ += len;
    XML_Status parsed =
        XML_Parse(parser_.get(), data + done, static_cast<int>(len), XML_FALSE);
    done += len;
    if (!error_.ok() || reset_pending_) break;
    XML_Parser parser = parser_.get();
    if (parsed == XML_STATUS_ERROR) {
      error_ = Status::Error(
          "not well-formed XML at byte " +
          std::to_string(XML_GetCurrentByteIndex(parser)) + " (line " +
          std::to_string(XML_GetCurrentLineNumber(parser)) + ", column " +
          std::to_string(XML_GetCurrentColumnNumber(parser)) +
          "): " + XML_ErrorString(XML_GetErrorCode(parser)));
    } else if (fed_ - boundary_ > max_stanza_) {
      // Expat buffers an unfinished tag without telling us: count bytes.
      error_ = Status::Error("stanza larger than " +
                             std::to_string(max_stanza_) + " bytes refused");
    }
  }
  in_feed_ = false;
  if (reset_pending_) return FinishReset(data, n, chunk_start);
  return error_;
}

Status XmppStream::FinishReset(const char* data, size_t n,
                               uint64_t chunk_start) {
  size_t used = static_cast<size_t>(
      std::min<uint64_t>(n, std::max(reset_at_, chunk_start) - chunk_start));
  reset_pending_ = false;
  Reset();
  std::string_view rest(data + used, n - used);
  if (std::all_of(rest.begin(), rest.end(), IsXmlSpace)) return error_;
  error_ = Status::Error(std::to_string(rest.size()) +
                         " bytes after the end of a stream that was reset, "
                         "refused: '" +
                         Quote(rest, kMaxQuoted) + "'");
  return error_;
}

void XmppStream::Fail(std::string message) {
  if (!error_.ok() || reset_pending_) return;
  error_ =
      Status::Error(message + " at byte " +
                    std::to_string(XML_GetCurrentByteIndex(parser_.get())));
  XML_StopParser(parser_.get(), XML_FALSE);
}

uint64_t XmppStream::EventEnd() const {
  return static_cast<uint64_t>(XML_GetCurrentByteIndex(parser_.get())) +
         static_cast<uint64_t>(XML_GetCurrentByteCount(parser_.get()));
}

bool XmppStream::CheckSize(uint64_t upto) {
  if (upto - boundary_ <= max_stanza_) return true;
  Fail("stanza larger than " + std::to_string(max_stanza_) + " bytes refused");
  return false;
}

void XmppStream::OnStart(const char* name, const char** attrs) {
  if (!error_.ok() || reset_pending_) return;
  if (depth_ >= kMaxXmlDepth) {
    return Fail("elements nested deeper than " + std::to_string(kMaxXmlDepth) +
                " refused");
  }
  XmlElement element;
  SplitExpatName(name, &element.name, &element.ns);
  std::string attr_ns;
  for (size_t i = 0; attrs[i] != nullptr; i += 2) {
    element.attrs.emplace_back(std::string(), attrs[i + 1]);
    SplitExpatName(attrs[i], &element.attrs.back().first, &attr_ns);
  }
  ++depth_;
  if (depth_ > 1) {
    if (CheckSize(EventEnd())) open_.push_back(std::move(element));
    return;
  }
  if (!element.Is("stream", kNsStreams)) {
    return Fail("expected <stream:stream> in " + std::string(kNsStreams) +
                ", got <" + Quote(element.name, kMaxQuoted) + "> in '" +
                Quote(element.ns, kMaxQuoted) + "'");
  }
  header_ = std::move(element);
  started_ = true;
  boundary_ = reset_at_ = EventEnd();
  if (handlers_.on_stream_start) handlers_.on_stream_start(header_);
}

void XmppStream::OnEnd() {
  if (!error_.ok() || reset_pending_) return;
  --depth_;
  uint64_t end = EventEnd();
  if (depth_ == 0) {
    ended_ = true;
    boundary_ = reset_at_ = end;
    if (handlers_.on_stream_end) handlers_.on_stream_end();
    return;
  }
  if (!CheckSize(end)) return;
  XmlElement done = std::move(open_.back());
  open_.pop_back();
  if (!open_.empty()) {
    open_.back().children.push_back(std::move(done));
    return;
  }
  boundary_ = reset_at_ = end;
  if (handlers_.on_stanza) handlers_.on_stanza(done);
}

void XmppStream::OnText(const char* text, int len) {
  if (!error_.ok() || reset_pending_) return;
  std::string_view chars(text, static_cast<size_t>(len));
  if (depth_ >= 2) {
    if (CheckSize(EventEnd())) open_.back().text.append(chars);
    return;
  }
  // Between stanzas: only whitespace (keepalives) is allowed.
  if (!std::all_of(chars.begin(), chars.end(), IsXmlSpace)) {
    return Fail("text between stanzas refused: '" + Quote(chars, kMaxQuoted) +
                "'");
  }
  boundary_ = EventEnd();
}

// --- Writing ---

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

std::string XmppStreamHeader(std::string_view domain) {
  return "<?xml version='1.0'?><stream:stream to='" + XmlEscape(domain) +
         "' version='1.0' xml:lang='en' xmlns='" + std::string(kNsClient) +
         "' xmlns:stream='" + std::string(kNsStreams) + "'>";
}

// --- Jid ---

std::string Jid::Bare() const {
  return local.empty() ? domain : local + "@" + domain;
}

std::string Jid::Full() const {
  return resource.empty() ? Bare() : Bare() + "/" + resource;
}

namespace {

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
