// The OpenSSL side of an XmppLink's STARTTLS (docs/architecture.md, "XMPP"):
// the client context every connection's TLS session comes from, the session of
// one connection, and one-line reasons for what failed. The bufferevent
// filter around the session stays with the link.
//
// No state of their own, but OpenSSL's error queue is per thread: call them
// on the thread of the OpenSSL call that failed (the link's loop).
#pragma once

#include <string>

struct ssl_ctx_st;
struct ssl_st;

namespace qd {

// Makes the context into *ctx: peer verification on, TLS 1.2 at least,
// trust from `ca_file` or ("") the system store. Returns why it cannot be
// used ("" when it can); *ctx may then be null, or a context to free all
// the same. The caller owns *ctx (SSL_CTX_free).
std::string MakeXmppTlsContext(const std::string& ca_file, ssl_ctx_st** ctx);

// A client session from `ctx` for a server that must prove it is `domain`:
// SNI (unless `domain` is an IP address) and the certificate's names
// checked against it, partial wildcards refused. Null, with why in *error,
// if OpenSSL cannot make one. The caller owns it (SSL_free, or the
// bufferevent filter it is given to).
ssl_st* NewXmppTlsSession(ssl_ctx_st* ctx, const std::string& domain,
                          std::string* error);

// Why the handshake of `ssl` (may be null) failed, the certificate check
// first: that is what an operator has to fix. `first_error` is the error
// the bufferevent reported; the rest of the error queue follows it.
std::string TlsHandshakeError(ssl_st* ssl, unsigned long first_error,
                              const std::string& domain,
                              const std::string& ca_file);

// One line for `first` and the rest of OpenSSL's error queue, which it
// also clears; "" when there is no error.
std::string OpenSslErrors(unsigned long first);

}  // namespace qd
