// XmppStream: the incremental parser of one XMPP XML stream (RFC 6120), the
// XmlElement trees it produces and the namespaces the client matches on
// (docs/architecture.md, "XMPP").
//
// XmppStream owns an expat parser. The client feeds it the bytes it reads,
// in chunks of any size (a byte at a time works); XmppStream turns them into
// three events:
//   on_stream_start(header)  <stream:stream ...> opened (its attributes:
//                            id, from, version, xml:lang)
//   on_stanza(element)       a complete depth-1 child of the stream, as a
//                            tree: stream:features, iq, message, presence,
//                            proceed, success, failure, challenge,
//                            stream:error, ...
//   on_stream_end()          </stream:stream>
// Whitespace between stanzas (keepalives) is skipped; other text there is an
// error.
//
// Names. Namespace processing is on, so an element carries both its name as
// written ("stream:features", "iq") and its resolved namespace URI; the
// client should match on local name and namespace, which does not depend on
// the prefix the server chose:
//   stanza.Is("features", kNsStreams), stanza.Child("bind", kNsBind).
// Attributes keep their names as written ("type", "xml:lang"); namespace
// declarations (xmlns, xmlns:stream) are consumed, not listed.
//
// Refused, each with a Status saying what and where (the stream is then
// dead: every later Feed returns the same error until Reset()):
//   - malformed XML and invalid UTF-8 (the stream is always UTF-8, whatever
//     an XML declaration says);
//   - what RFC 6120 section 11.1 forbids: DOCTYPE (hence every entity
//     declaration, so no "billion laughs"), processing instructions,
//     comments, entity references other than the five predefined ones;
//   - a root element other than <stream:stream> in kNsStreams;
//   - a stanza of more than max_stanza bytes as received (default 1 MiB;
//     the stream header counts as one), so a peer cannot make us buffer
//     more than about that;
//   - elements nested more than kMaxXmlDepth deep (the root counts as 1).
//
// XmppStreamHeader opens the outgoing stream; XmlBuilder (xml_builder.h)
// builds what goes into it, and ParseJid (jid.h) checks addresses.
//
// Not thread-safe; one XmppStream per connection, used from its loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "queuedaemon/status.h"

struct XML_ParserStruct;  // expat's parser, behind XML_Parser

namespace qd {

// Namespaces the client matches on.
inline constexpr std::string_view kNsStreams =
    "http://etherx.jabber.org/streams";
inline constexpr std::string_view kNsClient = "jabber:client";
inline constexpr std::string_view kNsTls = "urn:ietf:params:xml:ns:xmpp-tls";
inline constexpr std::string_view kNsSasl = "urn:ietf:params:xml:ns:xmpp-sasl";
inline constexpr std::string_view kNsBind = "urn:ietf:params:xml:ns:xmpp-bind";
inline constexpr std::string_view kNsSession =
    "urn:ietf:params:xml:ns:xmpp-session";
inline constexpr std::string_view kNsStreamErrors =
    "urn:ietf:params:xml:ns:xmpp-streams";
inline constexpr std::string_view kNsStanzaErrors =
    "urn:ietf:params:xml:ns:xmpp-stanzas";
inline constexpr std::string_view kNsPing = "urn:xmpp:ping";

inline constexpr size_t kDefaultMaxStanza = 1024 * 1024;
inline constexpr int kMaxXmlDepth = 32;

// One received element and everything inside it.
struct XmlElement {
  std::string name;  // as written: "stream:features", "iq"
  std::string ns;    // resolved namespace URI; empty when none
  std::vector<std::pair<std::string, std::string>> attrs;  // as written
  std::vector<XmlElement> children;
  // The character data directly inside this element (not its children's),
  // concatenated, entities decoded.
  std::string text;

  // The name without its prefix: "features" for "stream:features".
  std::string_view LocalName() const;
  // True if LocalName() == local and ns == this namespace.
  bool Is(std::string_view local, std::string_view ns) const;
  // The attribute's value; empty when absent (HasAttr tells the difference).
  std::string_view Attr(std::string_view name) const;
  bool HasAttr(std::string_view name) const;
  // The first child with this local name (and this namespace, when `ns` is
  // not empty); nullptr when there is none. Owned by this element.
  const XmlElement* Child(std::string_view local,
                          std::string_view ns = {}) const;
};

class XmppStream {
 public:
  struct Handlers {
    std::function<void(const XmlElement& header)> on_stream_start;
    std::function<void(const XmlElement& stanza)> on_stanza;
    std::function<void()> on_stream_end;
  };

  // Handlers may be empty (the event is then dropped). A handler may call
  // Reset(); it must not call Feed(), destroy this XmppStream or throw.
  // REQUIRES: max_stanza > 0.
  explicit XmppStream(Handlers handlers, size_t max_stanza = kDefaultMaxStanza);
  ~XmppStream();
  XmppStream(const XmppStream&) = delete;
  XmppStream& operator=(const XmppStream&) = delete;

  // Parses the next `n` bytes of the stream, calling the handlers for what
  // they complete. An error is final for this stream (see the top).
  //
  // A handler that calls Reset() ends the old stream at the end of the
  // element it was told about: the rest of this chunk must then be empty
  // or whitespace, otherwise Feed returns an error. No honest server sends
  // anything after <proceed/> or <success/> before we open the new stream,
  // and plaintext after <proceed/> must never reach the TLS stream
  // (STARTTLS command injection).
  Status Feed(const char* data, size_t n);
  Status Feed(std::string_view data) { return Feed(data.data(), data.size()); }

  // Forgets the current stream and any error: the next Feed() starts a new
  // stream with its own header (after STARTTLS and after SASL success, as
  // RFC 6120 requires, and for a new connection). Safe from a handler.
  void Reset();

  // Since the last Reset(): the stream header was seen / </stream:stream>
  // was seen. header() is the root element (no children); valid once
  // started().
  bool started() const { return started_; }
  bool ended() const { return ended_; }
  const XmlElement& header() const { return header_; }
  size_t max_stanza() const { return max_stanza_; }

 private:
  struct Expat;  // the expat callbacks, with access to this class
  struct FreeParser {
    void operator()(XML_ParserStruct* parser) const;
  };

  void NewParser();
  void Fail(std::string message);
  // Byte offset in the stream just past the event expat is reporting.
  uint64_t EventEnd() const;
  // Fails if the stanza being received has grown past max_stanza_.
  bool CheckSize(uint64_t upto);
  void OnStart(const char* name, const char** attrs);
  void OnEnd();
  void OnText(const char* text, int len);
  Status FinishReset(const char* data, size_t n, uint64_t chunk_start);

  Handlers handlers_;
  size_t max_stanza_;
  std::unique_ptr<XML_ParserStruct, FreeParser> parser_;
  Status error_;
  XmlElement header_;
  std::vector<XmlElement> open_;  // the stanza being built, outermost first
  int depth_ = 0;                 // open elements, the root included
  bool started_ = false;
  bool ended_ = false;
  bool in_feed_ = false;
  bool reset_pending_ = false;  // Reset() was called from a handler
  uint64_t fed_ = 0;            // bytes given to the parser
  uint64_t boundary_ = 0;       // where the stanza being received started
  uint64_t reset_at_ = 0;       // end of the element whose handler reset us
};

// What the client sends to open a stream to `domain` (the XML declaration
// and the <stream:stream> start tag, version 1.0, jabber:client).
std::string XmppStreamHeader(std::string_view domain);
inline constexpr std::string_view kXmppStreamClose = "</stream:stream>";

}  // namespace qd
