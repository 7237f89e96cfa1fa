#include "core/xmpp/xmpp_inbound_message.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace qd {
namespace {

using Verdict = XmppInboundMessage::Verdict;

constexpr int64_t kNow = 1700000000123;

// The stanza as the server's stream would carry it, parsed by XmppStream.
XmlElement Parse(const std::string& stanza) {
  XmlElement out;
  XmppStream stream({nullptr, [&](const XmlElement& s) { out = s; }, nullptr});
  Status s = stream.Feed(
      "<stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" +
      stanza);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

class XmppInboundMessageTest : public ::testing::Test {
 protected:
  XmppInboundMessageTest() {
    EXPECT_TRUE(ParseJid("bot@example.org/qd", &account_.jid).ok());
    account_.inbound_site = "a";
    account_.inbound_queue = "chat";
  }

  Verdict Read(const std::string& stanza) {
    message_ = XmppInboundMessage();
    return XmppInboundMessage::From(Parse(stanza), account_, kNow, &message_);
  }

  std::map<std::string, std::string> FieldMap() const {
    std::map<std::string, std::string> out;
    for (const auto& [name, value] : message_.Fields()) {
      EXPECT_EQ(out.count(name), 0u) << "twice: " << name;
      out[name] = value;
    }
    return out;
  }

  XmppAccount account_;
  XmppInboundMessage message_;
};

TEST_F(XmppInboundMessageTest, ChatMessageBecomesAJobWithEveryField) {
  ASSERT_EQ(Read("<message type='chat' id='m-1' from='alice@example.org/phone'"
                 " to='bot@example.org/qd'><body>hi &lt;there&gt; &amp; "
                 "\xC3\xA9</body><active xmlns='http://jabber.org/protocol/"
                 "chatstates'/></message>"),
            Verdict::kJob);
  auto fields = FieldMap();
  EXPECT_EQ(fields["from"], "alice@example.org/phone");
  EXPECT_EQ(fields["to"], "bot@example.org/qd");
  EXPECT_EQ(fields["body"], "hi <there> & \xC3\xA9");
  EXPECT_EQ(fields["type"], "chat");
  EXPECT_EQ(fields["id"], "m-1");
  EXPECT_EQ(fields["received_at"], "1700000000123");
  EXPECT_EQ(fields["enqueued_at"], "1700000000123");
  EXPECT_EQ(fields.count("delay"), 0u);
  // The payload first (the field every handler reads), the same as JSON.
  EXPECT_EQ(message_.Fields().front().first, "payload");
  auto payload = nlohmann::json::parse(fields["payload"]);
  EXPECT_EQ(payload, (nlohmann::json{{"from", "alice@example.org/phone"},
                                     {"to", "bot@example.org/qd"},
                                     {"body", "hi <there> & \xC3\xA9"},
                                     {"type", "chat"},
                                     {"id", "m-1"},
                                     {"received_at", kNow}}));
}

TEST_F(XmppInboundMessageTest, NoTypeIsNormalAndNoIdLeavesTheFieldOut) {
  ASSERT_EQ(Read("<message from='alice@example.org' to='bot@example.org'>"
                 "<subject>s</subject><body>plain</body></message>"),
            Verdict::kJob);
  auto fields = FieldMap();
  EXPECT_EQ(fields["type"], "normal");
  EXPECT_EQ(fields["body"], "plain");
  EXPECT_EQ(fields.count("id"), 0u);
  EXPECT_EQ(nlohmann::json::parse(fields["payload"]).count("id"), 0u);
  ASSERT_EQ(Read("<message type='normal' from='alice@example.org'><body/>"
                 "</message>"),
            Verdict::kJob);
  EXPECT_EQ(message_.type, "normal");
  EXPECT_EQ(message_.body, "");
  EXPECT_EQ(message_.to, "bot@example.org");  // no `to`: the account
}

TEST_F(XmppInboundMessageTest, OfflineMessageCarriesItsDelayStamp) {
  ASSERT_EQ(Read("<message type='chat' from='alice@example.org/x'><body>b"
                 "</body><delay xmlns='urn:xmpp:delay' from='example.org' "
                 "stamp='2024-05-01T10:00:00Z'/></message>"),
            Verdict::kJob);
  EXPECT_EQ(FieldMap()["delay"], "2024-05-01T10:00:00Z");
  EXPECT_EQ(nlohmann::json::parse(FieldMap()["payload"])["delay"],
            "2024-05-01T10:00:00Z");
  // A stamp that is no date-time is left out, not passed on.
  ASSERT_EQ(Read("<message type='chat' from='alice@example.org/x'><body>b"
                 "</body><delay xmlns='urn:xmpp:delay' stamp='now; rm'/>"
                 "</message>"),
            Verdict::kJob);
  EXPECT_EQ(FieldMap().count("delay"), 0u);
}

TEST_F(XmppInboundMessageTest, OtherTypesAndBodilessMessagesAreIgnored) {
  for (const char* stanza : {
           "<message type='groupchat' from='room@muc.example.org/n'><body>b"
           "</body></message>",
           "<message type='headline' from='example.org'><body>b</body>"
           "</message>",
           "<message type='error' from='x@example.org'><body>b</body>"
           "<error type='cancel'/></message>",
           "<message type='chat' from='alice@example.org/x'><composing "
           "xmlns='http://jabber.org/protocol/chatstates'/></message>",
           "<message type='chat' from='alice@example.org/x'><body "
           "xmlns='urn:other'>b</body></message>",
           "<presence from='alice@example.org/x'/>",
           "<iq type='get' id='1'><query xmlns='jabber:iq:version'/></iq>",
       }) {
    EXPECT_EQ(Read(stanza), Verdict::kIgnored) << stanza;
  }
}

TEST_F(XmppInboundMessageTest, InboundFromComparesBareJidsIgnoringCase) {
  account_.inbound_from = {"Alice@Example.org", "example.net"};
  EXPECT_EQ(Read("<message from='alice@example.org/phone'><body>b</body>"
                 "</message>"),
            Verdict::kJob);
  // The server itself (a domain alone) when it is listed.
  EXPECT_EQ(Read("<message from='example.net'><body>b</body></message>"),
            Verdict::kJob);
  EXPECT_EQ(Read("<message from='mallory@example.org/alice@example.org'>"
                 "<body>b</body></message>"),
            Verdict::kNotAllowed);
  EXPECT_EQ(message_.from, "mallory@example.org/alice@example.org");
  EXPECT_EQ(Read("<message from='user@example.net'><body>b</body></message>"),
            Verdict::kNotAllowed);
  // No `from`: the account itself, not in the list.
  EXPECT_EQ(Read("<message><body>b</body></message>"), Verdict::kNotAllowed);
  EXPECT_EQ(message_.from, "bot@example.org");
  account_.inbound_from.clear();
  EXPECT_EQ(Read("<message from='anyone@example.com'><body>b</body>"
                 "</message>"),
            Verdict::kJob);
}

TEST_F(XmppInboundMessageTest, InvalidFromIsRefused) {
  EXPECT_EQ(Read("<message from='a@@example.org'><body>b</body></message>"),
            Verdict::kBadFrom);
  EXPECT_EQ(message_.from, "a@@example.org");
  EXPECT_EQ(Read("<message from='a b@example.org'><body>b</body></message>"),
            Verdict::kBadFrom);
}

}  // namespace
}  // namespace qd
