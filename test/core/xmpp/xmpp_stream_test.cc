#include "core/xmpp/xmpp_stream.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/util/xml_builder.h"
#include "queuedaemon/jid.h"

namespace qd {
namespace {

// What a prosody server sends a client, stream by stream: before STARTTLS,
// after it (SASL), and after SASL success (bind, then traffic).
constexpr char kPlainStream[] =
    "<?xml version='1.0'?>"
    "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' id='s1-4a2f' "
    "from='localhost' version='1.0' xml:lang='en'>"
    "<stream:features>"
    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
    "</stream:features>"
    "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

constexpr char kTlsStream[] =
    "<?xml version='1.0'?>"
    "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' id='s2-77c1' "
    "from='localhost' version='1.0' xml:lang='en'>"
    "<stream:features>"
    "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    "<mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism>"
    "</mechanisms></stream:features>"
    "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    "cj1meWtvK2QybGJiRmdPTlJ2OXFreGRhd0wzcmZjTkhZSlkxWlZ2V1ZzN2o=</challenge>"
    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
    "dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9</success>";

constexpr char kBoundStream[] =
    "<?xml version='1.0'?>"
    "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' id='s3-9e0d' "
    "from='localhost' version='1.0' xml:lang='en'>"
    "<stream:features>"
    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind>"
    "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>"
    "</stream:features>\n"
    "<iq type='result' id='bind1'>"
    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
    "<jid>qd@localhost/worker-3</jid></bind></iq>"
    " "  // whitespace keepalive
    "<message from='alice@localhost/phone' to='qd@localhost/worker-3' "
    "type='chat' id='m1'><body>caf\xc3\xa9 &amp; &lt;tea&gt; &#x263A;</body>"
    "<active xmlns='http://jabber.org/protocol/chatstates'/></message>"
    "<presence from='alice@localhost/phone'><show>away</show></presence>"
    "\n\t \r\n"
    "<iq from='localhost' to='qd@localhost/worker-3' id='ping-1' type='get'>"
    "<ping xmlns='urn:xmpp:ping'/></iq>"
    "</stream:stream>";

// Feeds whole streams as the client would: one chunk or byte by byte, with
// Reset() called from the handler on <proceed/> and <success/>.
class XmppStreamTest : public ::testing::Test {
 protected:
  XmppStream::Handlers Recording() {
    XmppStream::Handlers handlers;
    handlers.on_stream_start = [this](const XmlElement& header) {
      events_.push_back("start " + std::string(header.Attr("id")));
    };
    handlers.on_stanza = [this](const XmlElement& stanza) {
      events_.push_back(stanza.name);
      stanzas_.push_back(stanza);
      if (reset_on_ &&
          (stanza.Is("proceed", kNsTls) || stanza.Is("success", kNsSasl))) {
        stream_->Reset();
      }
    };
    handlers.on_stream_end = [this] { events_.push_back("end"); };
    return handlers;
  }

  Status FeedAll(std::string_view bytes, bool byte_by_byte) {
    if (!byte_by_byte) return stream_->Feed(bytes);
    for (char c : bytes) {
      Status s = stream_->Feed(&c, 1);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

  // Feeds `bytes` and returns the error, which must mention `what`.
  std::string ExpectError(std::string_view bytes, std::string_view what) {
    Status s = stream_->Feed(bytes);
    EXPECT_FALSE(s.ok());
    if (s.ok()) return {};
    EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
    return s.message();
  }

  void RunProsodyExchange(bool byte_by_byte) {
    for (const char* bytes : {kPlainStream, kTlsStream, kBoundStream}) {
      Status s = FeedAll(bytes, byte_by_byte);
      ASSERT_TRUE(s.ok()) << s.message();
    }
    EXPECT_TRUE(stream_->ended());
    EXPECT_EQ(events_, (std::vector<std::string>{
                           "start s1-4a2f", "stream:features", "proceed",
                           "start s2-77c1", "stream:features", "challenge",
                           "success", "start s3-9e0d", "stream:features", "iq",
                           "message", "presence", "iq", "end"}));
    ASSERT_EQ(stanzas_.size(), 10u);

    const XmlElement& tls_features = stanzas_[0];
    EXPECT_TRUE(tls_features.Is("features", kNsStreams));
    const XmlElement* starttls = tls_features.Child("starttls", kNsTls);
    ASSERT_NE(starttls, nullptr);
    EXPECT_NE(starttls->Child("required"), nullptr);
    EXPECT_TRUE(stanzas_[1].Is("proceed", kNsTls));

    const XmlElement* mechanisms = stanzas_[2].Child("mechanisms", kNsSasl);
    ASSERT_NE(mechanisms, nullptr);
    ASSERT_EQ(mechanisms->children.size(), 2u);
    EXPECT_EQ(mechanisms->children[0].text, "SCRAM-SHA-1");
    EXPECT_EQ(mechanisms->children[0].ns, kNsSasl);  // inherited
    EXPECT_EQ(mechanisms->children[1].text, "PLAIN");
    EXPECT_TRUE(stanzas_[3].Is("challenge", kNsSasl));
    EXPECT_EQ(stanzas_[3].text,
              "cj1meWtvK2QybGJiRmdPTlJ2OXFreGRhd0wzcmZjTkhZSlkxWlZ2V1ZzN2o=");
    EXPECT_TRUE(stanzas_[4].Is("success", kNsSasl));

    EXPECT_NE(stanzas_[5].Child("bind", kNsBind), nullptr);
    const XmlElement& bound = stanzas_[6];
    EXPECT_TRUE(bound.Is("iq", kNsClient));
    EXPECT_EQ(bound.Attr("type"), "result");
    EXPECT_EQ(bound.Attr("id"), "bind1");
    const XmlElement* bind = bound.Child("bind", kNsBind);
    ASSERT_NE(bind, nullptr);
    ASSERT_NE(bind->Child("jid"), nullptr);
    EXPECT_EQ(bind->Child("jid")->text, "qd@localhost/worker-3");

    const XmlElement& message = stanzas_[7];
    EXPECT_TRUE(message.Is("message", kNsClient));
    EXPECT_EQ(message.Attr("from"), "alice@localhost/phone");
    ASSERT_NE(message.Child("body"), nullptr);
    EXPECT_EQ(message.Child("body")->text, "caf\xc3\xa9 & <tea> \xe2\x98\xba");
    EXPECT_EQ(message.Child("active")->ns,
              "http://jabber.org/protocol/chatstates");
    EXPECT_EQ(message.Child("active", kNsClient), nullptr);  // other ns

    EXPECT_EQ(stanzas_[8].Child("show")->text, "away");
    const XmlElement& ping = stanzas_[9];
    EXPECT_EQ(ping.Attr("type"), "get");
    EXPECT_EQ(ping.Attr("id"), "ping-1");
    EXPECT_NE(ping.Child("ping", kNsPing), nullptr);

    const XmlElement& header = stream_->header();
    EXPECT_EQ(header.name, "stream:stream");
    EXPECT_EQ(header.Attr("xml:lang"), "en");
    EXPECT_EQ(header.Attr("version"), "1.0");
    EXPECT_FALSE(header.HasAttr("xmlns"));  // declarations are consumed
  }

  std::unique_ptr<XmppStream> stream_ =
      std::make_unique<XmppStream>(Recording());
  std::vector<std::string> events_;
  std::vector<XmlElement> stanzas_;
  bool reset_on_ = true;
};

TEST_F(XmppStreamTest, ProsodyExchangeInOneChunkPerStream) {
  RunProsodyExchange(false);
}

TEST_F(XmppStreamTest, ProsodyExchangeByteByByte) { RunProsodyExchange(true); }

TEST_F(XmppStreamTest, OtherPrefixSameNamespace) {
  ASSERT_TRUE(stream_
                  ->Feed("<s:stream xmlns='jabber:client' "
                         "xmlns:s='http://etherx.jabber.org/streams'>"
                         "<s:features/>")
                  .ok());
  ASSERT_EQ(stanzas_.size(), 1u);
  EXPECT_EQ(stanzas_[0].name, "s:features");
  EXPECT_TRUE(stanzas_[0].Is("features", kNsStreams));
}

TEST_F(XmppStreamTest, StreamErrorIsAStanza) {
  ASSERT_TRUE(stream_->Feed(XmppStreamHeader("localhost")).ok());
  ASSERT_TRUE(stream_
                  ->Feed("<stream:error><conflict "
                         "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                         "</stream:error></stream:stream>")
                  .ok());
  ASSERT_EQ(stanzas_.size(), 1u);
  EXPECT_TRUE(stanzas_[0].Is("error", kNsStreams));
  EXPECT_NE(stanzas_[0].Child("conflict", kNsStreamErrors), nullptr);
  EXPECT_EQ(events_.back(), "end");
}

TEST_F(XmppStreamTest, ResetFromOutsideStartsANewStream) {
  ASSERT_TRUE(stream_->Feed(kPlainStream).ok());  // resets on <proceed/>
  ASSERT_TRUE(stream_->Feed("<iq").ok());         // half a stanza, then drop
  stream_->Reset();
  EXPECT_FALSE(stream_->started());
  ASSERT_TRUE(stream_->Feed(kBoundStream).ok());
  EXPECT_EQ(events_.back(), "end");
  EXPECT_EQ(stream_->header().Attr("id"), "s3-9e0d");
}

TEST_F(XmppStreamTest, ResetClearsAnError) {
  ExpectError(XmppStreamHeader("x") + "<a></b>", "mismatched tag");
  stream_->Reset();
  EXPECT_TRUE(stream_->Feed(kBoundStream).ok());
}

TEST_F(XmppStreamTest, PlaintextAfterProceedRefused) {
  // STARTTLS injection: bytes after <proceed/> in the same read must not
  // reach the next stream.
  std::string bytes = std::string(kPlainStream) + "<message><body>x";
  std::string error = ExpectError(bytes, "after the end of a stream");
  EXPECT_NE(error.find("16 bytes"), std::string::npos) << error;
  EXPECT_EQ(events_.back(), "proceed");
}

TEST_F(XmppStreamTest, WhitespaceAfterProceedIsDropped) {
  ASSERT_TRUE(stream_->Feed(std::string(kPlainStream) + " \n").ok());
  EXPECT_FALSE(stream_->started());
  EXPECT_TRUE(stream_->Feed(kTlsStream).ok());
}

TEST_F(XmppStreamTest, StanzaSizeLimit) {
  stream_ = std::make_unique<XmppStream>(Recording(), 1000);
  ASSERT_TRUE(stream_->Feed(XmppStreamHeader("localhost")).ok());
  std::string big =
      XmlBuilder("message").Child("body", std::string(990, 'x')).Str();
  std::string fits =
      XmlBuilder("message").Child("body", std::string(900, 'x')).Str();
  // Many stanzas and keepalives in a row: the limit is per stanza.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(stream_->Feed(fits + "   ").ok());
  }
  EXPECT_EQ(stanzas_.size(), 20u);
  ExpectError(big, "stanza larger than 1000 bytes");
  EXPECT_EQ(stanzas_.size(), 20u);
  EXPECT_FALSE(stream_->Feed(fits).ok());  // the error is final
}

TEST_F(XmppStreamTest, UnfinishedHugeTagRefusedEarly) {
  // Expat buffers an unfinished start tag silently; the limit still holds.
  stream_ = std::make_unique<XmppStream>(Recording(), 1000);
  ASSERT_TRUE(stream_->Feed(XmppStreamHeader("localhost")).ok());
  ASSERT_TRUE(stream_->Feed("<message to='").ok());
  size_t fed = 0;
  Status s;
  while (s.ok() && fed < 100000) {
    s = stream_->Feed("a");
    ++fed;
  }
  ASSERT_FALSE(s.ok());
  EXPECT_LE(fed, 1000u);
  EXPECT_NE(s.message().find("larger than 1000"), std::string::npos);
}

TEST_F(XmppStreamTest, NestingLimit) {
  auto nested = [](int depth) {
    std::string open, close;
    for (int i = 0; i < depth; ++i) {
      open += "<a>";
      close = "</a>" + close;
    }
    return open + close;
  };
  // The root is depth 1: 31 levels inside it are allowed.
  ASSERT_TRUE(stream_->Feed(XmppStreamHeader("x") + nested(31)).ok());
  EXPECT_EQ(stanzas_.size(), 1u);
  ExpectError(nested(32), "nested deeper than 32");
  EXPECT_EQ(stanzas_.size(), 1u);
}

TEST_F(XmppStreamTest, DoctypeAndEntitiesRefused) {
  // "Billion laughs": refused at the DOCTYPE, before any expansion.
  ExpectError(
      "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
      "<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>]>"
      "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>&lol2;",
      "DOCTYPE refused");
  EXPECT_TRUE(events_.empty());
}

TEST_F(XmppStreamTest, UndefinedEntityRefused) {
  ExpectError(XmppStreamHeader("x") + "<message><body>&lol;</body></message>",
              "undefined entity");
  EXPECT_TRUE(stanzas_.empty());
}

TEST_F(XmppStreamTest, CommentsAndProcessingInstructionsRefused) {
  ExpectError(XmppStreamHeader("x") + "<!-- hi -->", "comment refused");
  stream_->Reset();
  ExpectError(XmppStreamHeader("x") + "<message><?php x ?></message>",
              "processing instruction refused");
}

TEST_F(XmppStreamTest, MalformedXmlRefusedWithPosition) {
  std::string error = ExpectError(
      XmppStreamHeader("x") + "<message><body>hi</message>", "mismatched tag");
  EXPECT_NE(error.find("not well-formed XML at byte"), std::string::npos)
      << error;
  // Sticky until Reset().
  Status again = stream_->Feed("<presence/>");
  EXPECT_EQ(again.message(), error);
}

TEST_F(XmppStreamTest, InvalidUtf8Refused) {
  ExpectError(XmppStreamHeader("x") + "<message><body>\xff\xfe</body>",
              "not well-formed");
}

TEST_F(XmppStreamTest, WrongRootRefused) {
  ExpectError("<html><body/></html>", "expected <stream:stream>");
  stream_->Reset();
  ExpectError("<stream:stream xmlns:stream='urn:other'>",
              "expected <stream:stream>");
}

TEST_F(XmppStreamTest, TextBetweenStanzasRefused) {
  ExpectError(XmppStreamHeader("x") + "<presence/>hello", "text between");
}

TEST_F(XmppStreamTest, JunkAfterStreamEndRefused) {
  ASSERT_TRUE(stream_->Feed(XmppStreamHeader("x") + "</stream:stream>\n").ok());
  EXPECT_TRUE(stream_->ended());
  ExpectError("<presence/>", "not well-formed");
}

TEST_F(XmppStreamTest, ParsesOurOwnHeaderAndBuilderOutput) {
  std::string body = "a\"b'c<d>&e\r\n\tf \xc3\xa9";
  ASSERT_TRUE(stream_->Feed(XmppStreamHeader("example.com")).ok());
  EXPECT_EQ(stream_->header().Attr("to"), "example.com");
  std::string message = XmlBuilder("message")
                            .Attr("to", "bob@example.com/it's <home>")
                            .Attr("note", body)
                            .Child("body", body)
                            .Str();
  ASSERT_TRUE(stream_->Feed(message).ok());
  ASSERT_EQ(stanzas_.size(), 1u);
  EXPECT_EQ(stanzas_[0].Attr("to"), "bob@example.com/it's <home>");
  EXPECT_EQ(stanzas_[0].Attr("note"), body);  // attribute newlines survive
  EXPECT_EQ(stanzas_[0].Child("body")->text, body);
}

TEST(XmlEscapeTest, EscapesMarkupAndWhitespace) {
  EXPECT_EQ(XmlEscape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  EXPECT_EQ(XmlEscape("1\t2\n3\r"), "1&#9;2&#10;3&#13;");
  EXPECT_EQ(XmlEscape(""), "");
  EXPECT_EQ(XmlEscape("caf\xc3\xa9 \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

TEST(XmlEscapeTest, ReplacesWhatXmlCannotCarry) {
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(XmlEscape(std::string("a\0b", 3)), "a" + fffd + "b");
  EXPECT_EQ(XmlEscape("\x01\x1b\x7f"), fffd + fffd + "\x7f");
  EXPECT_EQ(XmlEscape("\xef\xbf\xbe"), fffd);                // U+FFFE
  EXPECT_EQ(XmlEscape("\xff"), fffd);                        // not UTF-8
  EXPECT_EQ(XmlEscape("\xc0\xaf"), fffd + fffd);             // overlong '/'
  EXPECT_EQ(XmlEscape("\xed\xa0\x80"), fffd + fffd + fffd);  // surrogate
  EXPECT_EQ(XmlEscape("ok\xc3"), "ok" + fffd);               // truncated
}

TEST(XmlBuilderTest, BuildsEscapedElements) {
  EXPECT_EQ(XmlBuilder("message")
                .Attr("to", "a@b")
                .Attr("type", "chat")
                .Child("body", "x < y & \"z\"")
                .Str(),
            "<message to='a@b' type='chat'><body>x &lt; y &amp; "
            "&quot;z&quot;</body></message>");
  EXPECT_EQ(XmlBuilder("presence").Str(), "<presence/>");
  EXPECT_EQ(XmlBuilder("iq")
                .Attr("type", "set")
                .Attr("id", "bind1")
                .Child(XmlBuilder("bind")
                           .Attr("xmlns", kNsBind)
                           .Child("resource", "w'1"))
                .Str(),
            "<iq type='set' id='bind1'><bind "
            "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>w&apos;1"
            "</resource></bind></iq>");
  EXPECT_EQ(XmlBuilder("a").Text("1").Child("b").Text("2").Str(),
            "<a>1<b/>2</a>");
}

TEST(ParseJidTest, Accepts) {
  Jid jid;
  ASSERT_TRUE(ParseJid("qd@Example.COM/worker 3", &jid).ok());
  EXPECT_EQ(jid.local, "qd");
  EXPECT_EQ(jid.domain, "example.com");
  EXPECT_EQ(jid.resource, "worker 3");  // RFC 7622 allows spaces here
  EXPECT_EQ(jid.Bare(), "qd@example.com");
  EXPECT_EQ(jid.Full(), "qd@example.com/worker 3");

  ASSERT_TRUE(ParseJid("localhost", &jid).ok());
  EXPECT_EQ(jid.Full(), "localhost");
  ASSERT_TRUE(ParseJid("a@example.com./r/with/slashes@x", &jid).ok());
  EXPECT_EQ(jid.domain, "example.com");
  EXPECT_EQ(jid.resource, "r/with/slashes@x");
  ASSERT_TRUE(ParseJid("jos\xc3\xa9@b\xc3\xbc"
                       "cher.de",
                       &jid)
                  .ok());
  ASSERT_TRUE(ParseJid("u@127.0.0.1", &jid).ok());
  ASSERT_TRUE(ParseJid("u@[::1]/r", &jid).ok());
  EXPECT_EQ(jid.domain, "[::1]");
  ASSERT_TRUE(
      ParseJid(std::string(1023, 'l') + "@d/" + std::string(1023, 'r'), &jid)
          .ok());
}

TEST(ParseJidTest, Refuses) {
  Jid jid;
  for (std::string bad : {
           std::string(""),
           std::string("@example.com"),
           std::string("user@"),
           std::string("user@example.com/"),
           std::string("/resource"),
           std::string("us er@example.com"),
           std::string("user@exa mple.com"),
           std::string("user@example..com"),
           std::string(".example.com"),
           std::string("a@b@c"),
           std::string("us:er@example.com"),
           std::string("us<er@example.com"),
           std::string("us\"er@example.com"),
           std::string("user@exa_mple.com"),
           std::string("user@[::1"),
           std::string("user@example.com/a\nb"),
           std::string("user@example.com/a\x7f"),
           std::string("us\xffr@example.com"),
           std::string("user\0x@example.com", 18),
           std::string(1024, 'l') + "@example.com",
           std::string("u@") + std::string(1024, 'd'),
           std::string("u@d/") + std::string(1024, 'r'),
       }) {
    Status s = ParseJid(bad, &jid);
    EXPECT_FALSE(s.ok()) << bad;
    if (!s.ok()) {
      EXPECT_EQ(s.message().rfind("bad JID '", 0), 0u) << s.message();
    }
  }
}

}  // namespace
}  // namespace qd
