// FakeXmppServer: a scripted XMPP server on the caller's event_base, for
// the link paths a real prosody cannot easily be made to take
// (xmpp_link_fake_test.cc), and the stanzas of its usual scripts.
#pragma once

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qd::test {

// A scripted XMPP server for one client at a time. The script runs from its
// first step on every new connection: once the text received since the
// previous step contains `when`, the server sends `reply` ("$id" in it
// becomes the id of the last <iq> received before the match), then does
// `then`. Anything else is up to the test: Send() and Close() act on the
// current connection at any time. A newer connection replaces the current
// one. Everything lives on the caller's event_base; not thread-safe.
class FakeXmppServer {
 public:
  enum class Then {
    kNothing,
    kStartTls  // TLS (server side) on this connection from now on
  };
  struct Step {
    std::string when;
    std::string reply;
    Then then = Then::kNothing;
  };

  FakeXmppServer(event_base* base, std::vector<Step> script)
      : base_(base), script_(std::move(script)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;  // the kernel picks a free port
    listener_ = evconnlistener_new_bind(
        base_, &FakeXmppServer::OnAccept, this, LEV_OPT_CLOSE_ON_FREE, 16,
        reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    if (listener_ == nullptr) return;
    sockaddr_in bound{};
    socklen_t len = sizeof(bound);
    if (getsockname(evconnlistener_get_fd(listener_),
                    reinterpret_cast<sockaddr*>(&bound), &len) == 0) {
      port_ = ntohs(bound.sin_port);
    }
  }
  ~FakeXmppServer() {
    CloseNow();
    if (listener_ != nullptr) evconnlistener_free(listener_);
    if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
  }
  FakeXmppServer(const FakeXmppServer&) = delete;
  FakeXmppServer& operator=(const FakeXmppServer&) = delete;

  // The certificate chain and key Then::kStartTls presents. False if
  // OpenSSL refused them.
  [[nodiscard]] bool UseCertificate(const std::string& cert_file,
                                    const std::string& key_file) {
    ssl_ctx_ = SSL_CTX_new(TLS_server_method());
    return ssl_ctx_ != nullptr &&
           SSL_CTX_use_certificate_chain_file(ssl_ctx_, cert_file.c_str()) ==
               1 &&
           SSL_CTX_use_PrivateKey_file(ssl_ctx_, key_file.c_str(),
                                       SSL_FILETYPE_PEM) == 1;
  }

  void Send(std::string_view text) {
    if (bev_ != nullptr) bufferevent_write(bev_, text.data(), text.size());
  }
  // Closes the current connection once what was sent to it is written.
  void Close() {
    if (bev_ == nullptr) return;
    closing_ = true;
    if (evbuffer_get_length(bufferevent_get_output(bev_)) == 0) CloseNow();
  }

  int port() const { return port_; }  // 0 if it could not listen
  int accepted() const { return accepted_; }
  // Connections that ended (closed by either side).
  int disconnects() const { return disconnects_; }
  bool connected() const { return bev_ != nullptr; }
  bool tls() const { return tls_; }  // on the current or last connection
  // What the client sent (decrypted) on the current or last connection,
  // and on all connections together.
  const std::string& received() const { return received_; }
  const std::string& all_received() const { return all_received_; }

 private:
  static void OnAccept(evconnlistener*, evutil_socket_t fd, sockaddr*, int,
                       void* arg) {
    auto* self = static_cast<FakeXmppServer*>(arg);
    self->CloseNow();
    self->bev_ = bufferevent_socket_new(self->base_, fd, BEV_OPT_CLOSE_ON_FREE);
    self->Watch();
    ++self->accepted_;
    self->received_.clear();
    self->pending_.clear();
    self->step_ = 0;
    self->closing_ = self->tls_ = false;
  }

  static void OnRead(bufferevent* bev, void* arg) {
    auto* self = static_cast<FakeXmppServer*>(arg);
    evbuffer* input = bufferevent_get_input(bev);
    std::string data(evbuffer_get_length(input), '\0');
    evbuffer_remove(input, data.data(), data.size());
    self->received_ += data;
    self->all_received_ += data;
    self->pending_ += data;
    self->RunScript();
  }

  static void OnWrite(bufferevent*, void* arg) {
    auto* self = static_cast<FakeXmppServer*>(arg);
    if (self->closing_) self->CloseNow();
  }

  static void OnEvent(bufferevent*, short what, void* arg) {
    auto* self = static_cast<FakeXmppServer*>(arg);
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) self->CloseNow();
  }

  void Watch() {
    bufferevent_setcb(bev_, &OnRead, &OnWrite, &OnEvent, this);
    bufferevent_enable(bev_, EV_READ | EV_WRITE);
  }

  void RunScript() {
    while (bev_ != nullptr && !closing_ && step_ < script_.size()) {
      const Step& step = script_[step_];
      size_t at = pending_.find(step.when);
      if (at == std::string::npos) return;
      std::string reply = step.reply;
      size_t var = reply.find("$id");
      if (var != std::string::npos) reply.replace(var, 3, IqIdBefore(at));
      pending_.erase(0, at + step.when.size());
      ++step_;
      Send(reply);
      if (step.then == Then::kStartTls) return StartTls();
    }
  }

  std::string IqIdBefore(size_t at) const {
    size_t iq = pending_.rfind("<iq", at);
    if (iq == std::string::npos) return "";
    static const std::regex kId("^<iq[^>]*\\bid=['\"]([^'\"]*)['\"]");
    std::smatch m;
    std::string tail = pending_.substr(iq);
    return std::regex_search(tail, m, kId) ? m[1].str() : "";
  }

  // The reply (<proceed/>) is already in the plain output buffer; the
  // filter's records go after it.
  void StartTls() {
    SSL* ssl = ssl_ctx_ != nullptr ? SSL_new(ssl_ctx_) : nullptr;
    bufferevent* tls = ssl == nullptr
                           ? nullptr
                           : bufferevent_openssl_filter_new(
                                 base_, bev_, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                 BEV_OPT_CLOSE_ON_FREE);
    if (tls == nullptr) {
      ADD_FAILURE() << "the fake server cannot start TLS (UseCertificate?)";
      if (ssl != nullptr) SSL_free(ssl);
      return CloseNow();
    }
    bev_ = tls;
    tls_ = true;
    pending_.clear();
    Watch();
  }

  void CloseNow() {
    if (bev_ == nullptr) return;
    bufferevent_free(bev_);  // the TLS filter frees the plain one and SSL
    bev_ = nullptr;
    closing_ = false;
    ++disconnects_;
  }

  event_base* base_;
  std::vector<Step> script_;
  evconnlistener* listener_ = nullptr;
  ssl_ctx_st* ssl_ctx_ = nullptr;
  int port_ = 0;
  bufferevent* bev_ = nullptr;  // the current connection
  size_t step_ = 0;             // the next step of the script
  bool closing_ = false;
  bool tls_ = false;
  int accepted_ = 0;
  int disconnects_ = 0;
  std::string received_;
  std::string all_received_;
  std::string pending_;  // received since the last step matched
};

inline constexpr char kServerHeader[] =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' id='fake' "
    "from='localhost' version='1.0' xml:lang='en'>";
inline constexpr char kStartTlsOffer[] =
    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>";
inline constexpr char kProceed[] =
    "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
inline constexpr char kBindOffer[] =
    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>";
inline constexpr char kSuccess[] =
    "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
inline constexpr char kBindResult[] =
    "<iq type='result' id='$id'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
    "<jid>user@localhost/qd</jid></bind></iq>";

// The server's stream header and features.
inline std::string Opening(std::string_view features) {
  return kServerHeader +
         ("<stream:features>" + std::string(features) + "</stream:features>");
}

inline std::string Mechanisms(const std::vector<std::string>& names) {
  std::string out = "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>";
  for (const auto& name : names) out += "<mechanism>" + name + "</mechanism>";
  return out + "</mechanisms>";
}

// SASL PLAIN (the only mechanism offered), then resource binding.
inline std::vector<FakeXmppServer::Step> PlainLogin() {
  return {{"<stream:stream", Opening(Mechanisms({"PLAIN"}))},
          {"</auth>", kSuccess},
          {"<stream:stream", Opening(kBindOffer)},
          {"xmpp-bind", kBindResult}};
}

// STARTTLS, then PlainLogin() inside TLS.
inline std::vector<FakeXmppServer::Step> StartTlsThenPlainLogin() {
  using Then = FakeXmppServer::Then;
  std::vector<FakeXmppServer::Step> script = {
      {"<stream:stream", Opening(kStartTlsOffer + Mechanisms({"PLAIN"}))},
      {"<starttls", kProceed, Then::kStartTls}};
  for (auto& step : PlainLogin()) script.push_back(std::move(step));
  return script;
}

}  // namespace qd::test
