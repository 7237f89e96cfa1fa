// The OpenSSL context, sessions and error text of XmppLink's STARTTLS.
#include "core/xmpp/xmpp_tls.h"

#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

namespace qd {
namespace {

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return evutil_inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         evutil_inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

std::string MakeXmppTlsContext(const std::string& ca_file, ssl_ctx_st** ctx) {
  *ctx = SSL_CTX_new(TLS_client_method());
  if (*ctx == nullptr) return "TLS: " + OpenSslErrors(ERR_get_error());
  SSL_CTX_set_min_proto_version(*ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(*ctx, SSL_VERIFY_PEER, nullptr);
  int ok = ca_file.empty()
               ? SSL_CTX_set_default_verify_paths(*ctx)
               : SSL_CTX_load_verify_locations(*ctx, ca_file.c_str(), nullptr);
  if (ok != 1) {
    return "TLS: cannot load the CA file '" + ca_file +
           "': " + OpenSslErrors(ERR_get_error());
  }
  return "";
}

ssl_st* NewXmppTlsSession(ssl_ctx_st* ctx, const std::string& domain,
                          std::string* error) {
  ssl_st* ssl = SSL_new(ctx);
  if (ssl == nullptr) {
    *error = "TLS: " + OpenSslErrors(ERR_get_error());
    return nullptr;
  }
  if (!IsIpLiteral(domain)) SSL_set_tlsext_host_name(ssl, domain.c_str());
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  SSL_set1_host(ssl, domain.c_str());
  return ssl;
}

std::string TlsHandshakeError(ssl_st* ssl, unsigned long first_error,
                              const std::string& domain,
                              const std::string& ca_file) {
  long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
  std::string errors = OpenSslErrors(first_error);
  if (verify != X509_V_OK) {
    return "TLS certificate verification failed for '" + domain +
           "': " + X509_verify_cert_error_string(verify) + " (trusting " +
           (ca_file.empty() ? "the system store" : "CA file " + ca_file) + ")";
  }
  return "TLS handshake failed: " +
         (errors.empty() ? std::string("connection closed") : errors);
}

std::string OpenSslErrors(unsigned long first) {
  std::string out;
  for (unsigned long e = first; e != 0; e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  ERR_clear_error();
  return out;
}

}  // namespace qd
