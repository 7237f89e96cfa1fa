// XmppStream on expat, the XmlElement accessors, and the stream header the
// client sends.
#include "core/xmpp/xmpp_stream.h"

#include <expat.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <new>

#include "core/util/text_quote.h"
#include "core/util/xml_builder.h"

namespace qd {
namespace {

// Separates URI, local name and prefix in the names expat reports. It is not
// an XML 1.0 character (not even as &#1;), so no URI or name can hold it.
constexpr char kNsSeparator = '\x01';

// XML_Parse takes an int length; slices also keep the size check close.
constexpr size_t kSlice = 64 * 1024;

// How much of a peer's text an error quotes.
constexpr size_t kMaxQuoted = 64;

bool IsXmlSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
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

std::string XmppStreamHeader(std::string_view domain) {
  return "<?xml version='1.0'?><stream:stream to='" + XmlEscape(domain) +
         "' version='1.0' xml:lang='en' xmlns='" + std::string(kNsClient) +
         "' xmlns:stream='" + std::string(kNsStreams) + "'>";
}

}  // namespace qd
