// XmppSasl: choosing the SASL mechanism, and building and checking the SASL
// elements of an XMPP stream.
#include "core/xmpp/xmpp_sasl.h"

#include <set>
#include <stdexcept>

#include "core/util/base64.h"
#include "core/util/xml_builder.h"

namespace qd {
namespace {

constexpr std::string_view kScram = "SCRAM-SHA-1";
constexpr std::string_view kPlain = "PLAIN";

// A SASL payload: base64, where "=" (or nothing) is the empty string.
bool SaslPayload(const XmlElement& element, std::string* out) {
  out->clear();
  if (element.text.empty() || element.text == "=") return true;
  return Base64Decode(element.text, out);
}

// <auth>/<response> with a SASL payload (empty: no text at all).
std::string SaslElement(std::string_view name, std::string_view data,
                        std::string_view mechanism = {}) {
  XmlBuilder b(name);
  b.Attr("xmlns", kNsSasl);
  if (!mechanism.empty()) b.Attr("mechanism", mechanism);
  if (!data.empty()) b.Text(Base64Encode(data));
  return b.Str();
}

}  // namespace

Status XmppSasl::Start(const XmlElement& mechanisms, const XmppAccount& account,
                       bool encrypted, std::string* auth) {
  std::set<std::string> offered;
  std::string list;
  for (const auto& m : mechanisms.children) {
    if (m.LocalName() != "mechanism") continue;
    offered.insert(m.text);
    list += (list.empty() ? "" : " ") + m.text;
  }
  const std::string& user = account.jid.local;
  if (offered.count(std::string(kScram)) != 0) {
    try {
      scram_ = std::make_unique<ScramSha1Client>(user, account.password);
      mechanism_ = kScram;
    } catch (const std::runtime_error& e) {
      return Status::Error(std::string("SCRAM: ") + e.what());
    }
    *auth = SaslElement("auth", scram_->ClientFirst(), kScram);
    return Status::Ok();
  }
  if (offered.count(std::string(kPlain)) == 0) {
    return Status::Error(
        "no supported SASL mechanism (the server offers: " + list + ")");
  }
  if (!encrypted && !account.allow_plain_without_tls) {
    return Status::Error(
        "the server offers SASL PLAIN only, on an unencrypted stream; "
        "refusing to send the password (allow_plain_without_tls is off)");
  }
  mechanism_ = kPlain;  // SaslPlain() is already base64
  *auth = XmlBuilder("auth")
              .Attr("xmlns", kNsSasl)
              .Attr("mechanism", kPlain)
              .Text(SaslPlain(user, account.password))
              .Str();
  return Status::Ok();
}

Status XmppSasl::Receive(const XmlElement& stanza, std::string* response) {
  response->clear();
  std::string data;
  if (!SaslPayload(stanza, &data)) return Status::Error("SASL: invalid base64");
  if (stanza.LocalName() == "challenge") return OnChallenge(data, response);
  if (stanza.LocalName() != "success") {
    return Status::Error("unexpected SASL <" + stanza.name + "/>");
  }
  return OnSuccess(data);
}

Status XmppSasl::OnChallenge(const std::string& data, std::string* response) {
  if (scram_ == nullptr) return Status::Error("SASL: unexpected challenge");
  if (final_sent_) {  // server-final in a challenge (RFC 6120 6.3.10)
    Status s = scram_->ServerFinal(data);
    if (!s.ok()) return Status::Error("SCRAM: " + s.message());
    *response = SaslElement("response", "");
    return Status::Ok();
  }
  std::string client_final;
  Status s = scram_->ServerFirst(data, &client_final);
  if (!s.ok()) return Status::Error("SCRAM: " + s.message());
  final_sent_ = true;
  *response = SaslElement("response", client_final);
  return Status::Ok();
}

Status XmppSasl::OnSuccess(const std::string& data) {
  if (scram_ != nullptr && !scram_->done()) {
    // Only a server that knows the password can sign the exchange.
    if (data.empty()) {
      return Status::Error("SCRAM: the server did not sign its success");
    }
    Status s = scram_->ServerFinal(data);
    if (!s.ok()) return Status::Error("SCRAM: " + s.message());
  }
  scram_.reset();
  authenticated_ = true;
  return Status::Ok();
}

void XmppSasl::Reset() {
  mechanism_.clear();
  scram_.reset();
  final_sent_ = false;
  authenticated_ = false;
}

}  // namespace qd
