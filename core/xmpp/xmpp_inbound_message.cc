#include "core/xmpp/xmpp_inbound_message.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string_view>

#include "queuedaemon/jid.h"

namespace qd {
namespace {

constexpr std::string_view kNsDelay = "urn:xmpp:delay";  // XEP-0203
constexpr size_t kMaxStamp = 64;

bool EqualsIgnoringAsciiCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool Allowed(const std::vector<std::string>& allowed, const std::string& bare) {
  if (allowed.empty()) return true;
  return std::any_of(allowed.begin(), allowed.end(), [&](const auto& jid) {
    return EqualsIgnoringAsciiCase(jid, bare);
  });
}

// A stamp is passed on only when it looks like one (XEP-0082 date-time):
// it comes from the server, but a field is no place for surprises.
std::string Stamp(const XmlElement& stanza) {
  const XmlElement* delay = stanza.Child("delay", kNsDelay);
  if (delay == nullptr) return "";
  std::string_view stamp = delay->Attr("stamp");
  bool plain =
      !stamp.empty() && stamp.size() <= kMaxStamp &&
      stamp.find_first_not_of("0123456789-:.TZ+") == std::string_view::npos;
  return plain ? std::string(stamp) : std::string();
}

}  // namespace

XmppInboundMessage::Verdict XmppInboundMessage::From(const XmlElement& stanza,
                                                     const XmppAccount& account,
                                                     int64_t now_ms,
                                                     XmppInboundMessage* out) {
  if (!stanza.Is("message", kNsClient)) return Verdict::kIgnored;
  std::string_view type = stanza.Attr("type");
  if (type.empty()) type = "normal";
  if (type != "chat" && type != "normal") return Verdict::kIgnored;
  const XmlElement* body = stanza.Child("body", kNsClient);
  if (body == nullptr) return Verdict::kIgnored;
  // RFC 6120 8.1.2.1: no `from` means the account itself (its server
  // speaking for it); likewise no `to` means the account.
  out->from = stanza.HasAttr("from") ? std::string(stanza.Attr("from"))
                                     : account.jid.Bare();
  Jid from;
  if (!ParseJid(out->from, &from).ok()) return Verdict::kBadFrom;
  if (!Allowed(account.inbound_from, from.Bare())) return Verdict::kNotAllowed;
  out->to = stanza.HasAttr("to") ? std::string(stanza.Attr("to"))
                                 : account.jid.Bare();
  out->body = body->text;
  out->type = std::string(type);
  out->id = std::string(stanza.Attr("id"));
  out->delay = Stamp(stanza);
  out->received_at_ms = now_ms;
  return Verdict::kJob;
}

std::string XmppInboundMessage::Payload() const {
  nlohmann::json j = {
      {"from", from}, {"to", to}, {"body", body}, {"type", type}};
  if (!id.empty()) j["id"] = id;
  if (!delay.empty()) j["delay"] = delay;
  j["received_at"] = received_at_ms;
  // The parser let only valid UTF-8 through; replace is a second guard.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<std::pair<std::string, std::string>> XmppInboundMessage::Fields()
    const {
  std::string received = std::to_string(received_at_ms);
  std::vector<std::pair<std::string, std::string>> fields = {
      {"payload", Payload()}, {"enqueued_at", received},
      {"from", from},         {"to", to},
      {"body", body},         {"type", type}};
  if (!id.empty()) fields.emplace_back("id", id);
  if (!delay.empty()) fields.emplace_back("delay", delay);
  fields.emplace_back("received_at", received);
  return fields;
}

}  // namespace qd
