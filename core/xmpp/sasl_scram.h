// ScramSha1Client: the client side of SASL SCRAM-SHA-1 (RFC 5802) without
// channel binding, plus SASL PLAIN and the base64 the XMPP SASL exchange is
// wrapped in (docs/architecture.md, "XMPP").
//
// The messages going in and out of ScramSha1Client are the raw SCRAM
// messages ("n,,n=user,r=..."); the XMPP client base64-encodes them into
// <auth>/<response> and decodes <challenge>/<success> (RFC 6120 section 6.4.2:
// an empty payload is written "=", which the client handles). The exchange:
//   ClientFirst()                 -> <auth mechanism='SCRAM-SHA-1'>
//   ServerFirst(<challenge>)      -> <response>
//   ServerFinal(<success> data)   verifies the server knew the password too;
//                                 authentication is complete only when this
//                                 returns ok.
//
// The password is kept only until ServerFirst derives the keys, then wiped
// (like every derived secret); it never appears in an error message.
// Not done: SASLprep of user name and password (RFC 4013), so a non-ASCII
// password must already be in the form the server stored.
//
// Not thread-safe; one object per authentication attempt.
#pragma once

#include <string>
#include <string_view>

#include "core/util/base64.h"
#include "queuedaemon/status.h"

namespace qd {

// Limits on the server's iteration count: at least 1 (RFC 5802), and at
// most a million so a hostile server cannot make us burn a minute of CPU
// on the event loop (servers use 4096 to a few hundred thousand).
inline constexpr long kScramMinIterations = 1;
inline constexpr long kScramMaxIterations = 1000000;

class ScramSha1Client {
 public:
  // An empty `client_nonce` means a fresh random one (24 bytes from the
  // OpenSSL RNG, base64); tests pass a fixed one. Throws std::runtime_error
  // if the RNG fails.
  // REQUIRES: client_nonce is printable ASCII without ','.
  ScramSha1Client(std::string user, std::string password,
                  std::string client_nonce = {});
  ~ScramSha1Client();
  ScramSha1Client(const ScramSha1Client&) = delete;
  ScramSha1Client& operator=(const ScramSha1Client&) = delete;

  // The client-first message, "n,,n=USER,r=NONCE" (',' and '=' in the user
  // name escaped as =2C and =3D).
  std::string ClientFirst();

  // Checks the server-first message (our nonce extended by the server's,
  // a salt, an iteration count within the limits above, no mandatory
  // extension) and sets *client_final to the client-final message with our
  // proof. REQUIRES: ClientFirst() was called, ServerFirst() was not.
  [[nodiscard]] Status ServerFirst(std::string_view message,
                                   std::string* client_final);

  // Checks the server-final message: "v=SIGNATURE" must be the signature
  // only a server holding our password's keys can compute (compared in
  // constant time); "e=ERROR" is the server refusing us, returned as an
  // error naming it. REQUIRES: ServerFirst() returned ok.
  [[nodiscard]] Status ServerFinal(std::string_view message);

  // ServerFinal() verified the server.
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kStart, kSentFirst, kSentFinal, kDone, kFailed };

  std::string user_;
  std::string password_;
  std::string nonce_;
  std::string client_first_bare_;
  std::string server_signature_;  // raw bytes, expected in ServerFinal
  State state_ = State::kStart;
};

// The SASL PLAIN initial response, base64("\0user\0password") (RFC 4616),
// ready for <auth mechanism='PLAIN'>. Send it over TLS only.
std::string SaslPlain(std::string_view user, std::string_view password);

}  // namespace qd
