// XmppSasl: the client side of SASL on one XMPP stream (RFC 6120 section
// 6): which mechanism to use, the <auth/> and <response/> elements to send,
// and the checks on what the server answers (docs/architecture.md, "XMPP").
//
// SCRAM-SHA-1 is preferred: ScramSha1Client does its cryptography, and the
// server has to prove that it knows the password too. PLAIN is the
// fallback, and only on an encrypted stream unless the account sets
// allow_plain_without_tls. The payloads travel in base64, where "=" (or no
// text at all) is the empty string.
//
// XmppLink keeps the stream and its states and writes what this class
// returns: Start() takes the <mechanisms/> of the server's features,
// Receive() every later element in the SASL namespace except <failure/>
// (which the link reports itself). An error is a Status whose message is
// the one line the link logs; it never holds the password, which is
// passed in and not kept (ScramSha1Client wipes what it derives from it).
//
// Not thread-safe; one per link, used from its loop.
#pragma once

#include <memory>
#include <string>

#include "core/config/xmpp_account.h"
#include "core/xmpp/sasl_scram.h"
#include "core/xmpp/xmpp_stream.h"
#include "queuedaemon/status.h"

namespace qd {

class XmppSasl {
 public:
  XmppSasl() = default;
  XmppSasl(const XmppSasl&) = delete;
  XmppSasl& operator=(const XmppSasl&) = delete;

  // Chooses a mechanism among those `mechanisms` offers, for the account's
  // JID local part and password, and sets *auth to the <auth/> element that
  // starts the exchange. `encrypted`: the stream runs over TLS. Errors: no
  // mechanism we support is offered (the message lists those that are),
  // only PLAIN is offered on a stream PLAIN may not use, the SCRAM client
  // cannot be made.
  [[nodiscard]] Status Start(const XmlElement& mechanisms,
                             const XmppAccount& account, bool encrypted,
                             std::string* auth);

  // Takes the server's next SASL element. A <challenge/> sets *response to
  // the <response/> to write; a <success/> that checks out (under SCRAM:
  // signed by a server that knows the password) sets authenticated() and
  // leaves *response empty. Any other element, a payload that is not
  // base64 and a SCRAM message that does not check out are errors.
  // REQUIRES: Start() returned ok; the element is not a <failure/>.
  [[nodiscard]] Status Receive(const XmlElement& stanza, std::string* response);

  // Forgets the exchange, wiping the SCRAM state: for the next connection.
  void Reset();

  // The server's <success/> checked out; the link opens a new stream.
  bool authenticated() const { return authenticated_; }
  // "SCRAM-SHA-1" or "PLAIN" once Start() chose one ("" after Reset()).
  const std::string& mechanism() const { return mechanism_; }

 private:
  Status OnChallenge(const std::string& data, std::string* response);
  Status OnSuccess(const std::string& data);

  std::string mechanism_;
  std::unique_ptr<ScramSha1Client> scram_;  // null under PLAIN and once done
  bool final_sent_ = false;                 // our client-final went out
  bool authenticated_ = false;
};

}  // namespace qd
