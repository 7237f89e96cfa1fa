#include "core/xmpp_link.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>

#include "core/units.h"

namespace qd {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kScram = "SCRAM-SHA-1";
constexpr std::string_view kPlain = "PLAIN";

// The backoff delay plus up to a quarter of jitter, so links that failed
// together (a server restart) do not all come back in the same instant.
milliseconds Jitter(milliseconds delay) {
  static std::minstd_rand rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> extra(0, delay.count() / 4);
  return delay + milliseconds(extra(rng));
}

// The name of an error element's condition (its first child in `ns`), and
// its <text/> when there is one: "not-authorized", "conflict: Replaced".
std::string Condition(const XmlElement& error, std::string_view ns) {
  std::string out;
  for (const auto& child : error.children) {
    if (child.ns == ns && child.LocalName() != "text") {
      out = std::string(child.LocalName());
      break;
    }
  }
  if (out.empty()) out = "unknown";
  if (const XmlElement* text = error.Child("text")) {
    if (!text->text.empty()) out += ": " + text->text;
  }
  return out;
}

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

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return evutil_inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         evutil_inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// One line for the OpenSSL error queue, which it also clears.
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

template <void (XmppLink::*Method)()>
void TimerThunk(evutil_socket_t, short, void* arg) {
  (static_cast<XmppLink*>(arg)->*Method)();
}

}  // namespace

XmppLink::XmppLink(event_base* base, XmppAccount account, evdns_base* dns)
    : base_(base),
      account_(std::move(account)),
      dns_(dns),
      stream_({nullptr, [this](const XmlElement& s) { OnStanza(s); },
               [this] { OnStreamEnd(); }}),
      backoff_(account_.reconnect_min, account_.reconnect_max,
               milliseconds::max()) {
  if (dns_ == nullptr) {
    dns_ = evdns_base_new(base_, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                     EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    // No resolv.conf: IP literals (and nothing else) still resolve.
    if (dns_ == nullptr) {
      dns_ = evdns_base_new(base_, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    }
    own_dns_ = true;
  }
  if (account_.host.empty()) account_.host = account_.jid.domain;
  retry_timer_ = evtimer_new(base_, &TimerThunk<&XmppLink::Connect>, this);
  handshake_timer_ =
      evtimer_new(base_, &TimerThunk<&XmppLink::OnHandshakeTimeout>, this);
  ping_timer_ = evtimer_new(base_, &TimerThunk<&XmppLink::OnPingTimer>, this);
  pong_timer_ = evtimer_new(base_, &TimerThunk<&XmppLink::OnPongTimeout>, this);
  whitespace_timer_ =
      evtimer_new(base_, &TimerThunk<&XmppLink::OnWhitespaceTimer>, this);
  if (account_.tls != "off") ssl_ctx_error_ = MakeSslContext();
}

XmppLink::~XmppLink() {
  Stop();
  for (event* e : {retry_timer_, handshake_timer_, ping_timer_, pong_timer_,
                   whitespace_timer_}) {
    event_free(e);
  }
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
  if (own_dns_ && dns_ != nullptr) evdns_base_free(dns_, 0);
}

// The context every connection's TLS session comes from: peer verification
// on, TLS 1.2 at least, trust from ca_file or the system store. Returns why
// it could not be made ("" when it was).
std::string XmppLink::MakeSslContext() {
  ssl_ctx_ = SSL_CTX_new(TLS_client_method());
  if (ssl_ctx_ == nullptr) return "TLS: " + OpenSslErrors(ERR_get_error());
  SSL_CTX_set_min_proto_version(ssl_ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_PEER, nullptr);
  int ok = account_.ca_file.empty()
               ? SSL_CTX_set_default_verify_paths(ssl_ctx_)
               : SSL_CTX_load_verify_locations(
                     ssl_ctx_, account_.ca_file.c_str(), nullptr);
  if (ok != 1) {
    return "TLS: cannot load the CA file '" + account_.ca_file +
           "': " + OpenSslErrors(ERR_get_error());
  }
  return "";
}

void XmppLink::Start() {
  if (state_ != State::kStopped) return;
  state_ = State::kWaitingRetry;
  Connect();
}

void XmppLink::Stop() {
  if (state_ == State::kStopped) return;
  if (bev_ != nullptr && state_ != State::kConnecting) {
    Write(kXmppStreamClose);  // best effort: the socket closes right after
  }
  state_ = State::kStopped;
  evtimer_del(retry_timer_);
  CloseConnection();
}

bool XmppLink::Send(std::string_view stanza) {
  if (state_ != State::kReady) return false;
  Write(stanza);
  return true;
}

bool XmppLink::Message(std::string_view to, std::string_view body,
                       std::string_view type) {
  return Send(XmlBuilder("message")
                  .Attr("to", to)
                  .Attr("type", type)
                  .Attr("id", NextId("m"))
                  .Child("body", body)
                  .Str());
}

void XmppLink::Connect() {
  if (state_ != State::kWaitingRetry) return;
  stream_.Reset();
  tls_active_ = authenticated_ = tls_pending_ = session_needed_ = false;
  scram_final_sent_ = false;
  bev_ = bufferevent_socket_new(
      base_, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (bev_ == nullptr) return Fail("cannot create a socket");
  bufferevent_setcb(bev_, &XmppLink::OnRead, nullptr, &XmppLink::OnEvent, this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  state_ = State::kConnecting;
  ++counters_.connects;
  ArmTimer(handshake_timer_, account_.connect_timeout);
  if (bufferevent_socket_connect_hostname(
          bev_, dns_, AF_UNSPEC, account_.host.c_str(), account_.port) != 0) {
    Fail("cannot connect to " + Where());
  }
}

std::string XmppLink::Where() const {
  return account_.host + ":" + std::to_string(account_.port);
}

void XmppLink::CloseConnection() {
  for (event* e :
       {handshake_timer_, ping_timer_, pong_timer_, whitespace_timer_}) {
    evtimer_del(e);
  }
  if (bev_ != nullptr) {
    bufferevent_free(bev_);  // the TLS filter frees its SSL and the socket
    bev_ = nullptr;
  }
  ssl_ = nullptr;
  scram_.reset();
  pings_.clear();
}

// Every failure goes through here: one log line, then the backoff.
void XmppLink::Fail(const std::string& why) {
  bool was_ready = state_ == State::kReady;
  std::deque<PendingPing> unanswered;
  unanswered.swap(pings_);
  CloseConnection();
  if (state_ == State::kStopped) return;
  last_error_ = why;
  ++counters_.failures;
  milliseconds delay = Jitter(backoff_.OnCrash(milliseconds(0)));
  state_ = State::kWaitingRetry;
  ArmTimer(retry_timer_, delay);
  spdlog::warn("xmpp {} ({} via {}): {}; reconnecting in {}", account_.name,
               account_.jid.Bare(), Where(), why, FormatDuration(delay));
  for (auto& ping : unanswered) {
    if (ping.done) ping.done(false);
  }
  if (was_ready && on_down_) on_down_(why);
}

void XmppLink::Write(std::string_view data) {
  bufferevent_write(bev_, data.data(), data.size());
  last_write_ = Clock::now();
}

void XmppLink::OpenStream() {
  Write(XmppStreamHeader(account_.jid.domain));
  state_ = State::kOpening;
}

void XmppLink::OnEvent(bufferevent* bev, short what, void* arg) {
  auto* self = static_cast<XmppLink*>(arg);
  if (bev != self->bev_) return;  // a connection already closed
  if (what & BEV_EVENT_CONNECTED) {
    if (self->state_ == State::kTlsHandshake) self->tls_active_ = true;
    self->OpenStream();
    return;
  }
  if (self->state_ == State::kTlsHandshake) return self->Fail(self->TlsError());
  if (what & BEV_EVENT_EOF) {
    return self->Fail("the server closed the connection");
  }
  int dns_error = bufferevent_socket_get_dns_error(bev);
  if (dns_error != 0) {
    return self->Fail("cannot resolve " + self->account_.host + ": " +
                      evutil_gai_strerror(dns_error));
  }
  std::string why = evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
  if (self->tls_active_) {
    std::string tls = OpenSslErrors(bufferevent_get_openssl_error(bev));
    if (!tls.empty()) why = "TLS: " + tls;
  }
  self->Fail(self->state_ == State::kConnecting
                 ? "cannot connect to " + self->Where() + ": " + why
                 : "connection lost: " + why);
}

// Why the handshake failed, the certificate check first: that is what an
// operator has to fix.
std::string XmppLink::TlsError() {
  long verify = ssl_ != nullptr ? SSL_get_verify_result(ssl_) : X509_V_OK;
  std::string errors = OpenSslErrors(bufferevent_get_openssl_error(bev_));
  if (verify != X509_V_OK) {
    return "TLS certificate verification failed for '" + account_.jid.domain +
           "': " + X509_verify_cert_error_string(verify) + " (trusting " +
           (account_.ca_file.empty() ? "the system store"
                                     : "CA file " + account_.ca_file) +
           ")";
  }
  return "TLS handshake failed: " +
         (errors.empty() ? std::string("connection closed") : errors);
}

void XmppLink::OnRead(bufferevent* bev, void* arg) {
  auto* self = static_cast<XmppLink*>(arg);
  evbuffer* input = bufferevent_get_input(bev);
  char chunk[16384];
  while (bev == self->bev_) {
    int n = evbuffer_remove(input, chunk, sizeof(chunk));
    if (n <= 0) break;
    Status status = self->stream_.Feed(chunk, static_cast<size_t>(n));
    if (bev != self->bev_) return;  // a handler failed the link
    if (!status.ok()) return self->Fail("XML stream: " + status.message());
    if (self->tls_pending_) {
      // Plaintext after <proceed/> must never reach the TLS stream.
      if (evbuffer_get_length(input) > 0) {
        return self->Fail("the server sent data after <proceed/>");
      }
      return self->StartTls();
    }
  }
}

void XmppLink::StartTls() {
  tls_pending_ = false;
  if (!ssl_ctx_error_.empty()) return Fail(ssl_ctx_error_);
  ssl_ = SSL_new(ssl_ctx_);
  if (ssl_ == nullptr) return Fail("TLS: " + OpenSslErrors(ERR_get_error()));
  const std::string& domain = account_.jid.domain;
  if (!IsIpLiteral(domain)) SSL_set_tlsext_host_name(ssl_, domain.c_str());
  SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  SSL_set1_host(ssl_, domain.c_str());
  bufferevent* tls = bufferevent_openssl_filter_new(
      base_, bev_, ssl_, BUFFEREVENT_SSL_CONNECTING,
      BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (tls == nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    return Fail("TLS: cannot create the OpenSSL filter");
  }
  bev_ = tls;  // owns the plain bufferevent and ssl_ from now on
  bufferevent_openssl_set_allow_dirty_shutdown(bev_, 1);
  bufferevent_setcb(bev_, &XmppLink::OnRead, nullptr, &XmppLink::OnEvent, this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  state_ = State::kTlsHandshake;
}

void XmppLink::OnStanza(const XmlElement& stanza) {
  if (bev_ == nullptr) return;  // failed earlier in this chunk
  if (stanza.Is("error", kNsStreams)) {
    return Fail("stream error: " + Condition(stanza, kNsStreamErrors));
  }
  if (stanza.Is("features", kNsStreams)) return OnFeatures(stanza);
  if (stanza.Is("proceed", kNsTls) && state_ == State::kStartTls) {
    tls_pending_ = true;
    stream_.Reset();
    return;
  }
  if (stanza.ns == kNsTls) return Fail("the server refused STARTTLS");
  if (stanza.ns == kNsSasl) return OnSasl(stanza);
  if (stanza.LocalName() == "iq") return OnIq(stanza);
  if (state_ == State::kReady && on_stanza_) on_stanza_(stanza);
}

void XmppLink::OnStreamEnd() {
  if (bev_ == nullptr) return;
  Write(kXmppStreamClose);
  Fail("the server closed the stream");
}

void XmppLink::OnFeatures(const XmlElement& features) {
  if (!tls_active_ && account_.tls != "off") {
    if (features.Child("starttls", kNsTls) != nullptr) {
      Write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
      state_ = State::kStartTls;
      return;
    }
    if (account_.tls == "required") {
      return Fail("the server does not offer STARTTLS and tls is 'required'");
    }
  }
  if (!authenticated_) {
    const XmlElement* mechanisms = features.Child("mechanisms", kNsSasl);
    if (mechanisms == nullptr) return Fail("the server offers no SASL");
    return StartAuth(*mechanisms);
  }
  if (features.Child("bind", kNsBind) == nullptr) {
    return Fail("the server offers no resource binding");
  }
  const XmlElement* session = features.Child("session", kNsSession);
  session_needed_ = session != nullptr && session->Child("optional") == nullptr;
  XmlBuilder bind("bind");
  bind.Attr("xmlns", kNsBind);
  if (!account_.jid.resource.empty()) {
    bind.Child("resource", account_.jid.resource);
  }
  bind_id_ = NextId("bind");
  Write(XmlBuilder("iq")
            .Attr("type", "set")
            .Attr("id", bind_id_)
            .Child(bind)
            .Str());
  state_ = State::kBinding;
}

void XmppLink::StartAuth(const XmlElement& mechanisms) {
  std::set<std::string> offered;
  std::string list;
  for (const auto& m : mechanisms.children) {
    if (m.LocalName() != "mechanism") continue;
    offered.insert(m.text);
    list += (list.empty() ? "" : " ") + m.text;
  }
  const std::string& user = account_.jid.local;
  state_ = State::kAuthenticating;
  if (offered.count(std::string(kScram)) != 0) {
    try {
      scram_ = std::make_unique<ScramSha1Client>(user, account_.password);
      mechanism_ = kScram;
    } catch (const std::runtime_error& e) {
      return Fail(std::string("SCRAM: ") + e.what());
    }
    return Write(SaslElement("auth", scram_->ClientFirst(), kScram));
  }
  if (offered.count(std::string(kPlain)) == 0) {
    return Fail("no supported SASL mechanism (the server offers: " + list +
                ")");
  }
  if (!tls_active_ && !account_.allow_plain_without_tls) {
    return Fail(
        "the server offers SASL PLAIN only, on an unencrypted stream; "
        "refusing to send the password (allow_plain_without_tls is off)");
  }
  mechanism_ = kPlain;  // SaslPlain() is already base64
  Write(XmlBuilder("auth")
            .Attr("xmlns", kNsSasl)
            .Attr("mechanism", kPlain)
            .Text(SaslPlain(user, account_.password))
            .Str());
}

void XmppLink::OnSasl(const XmlElement& stanza) {
  if (state_ != State::kAuthenticating) {
    return Fail("unexpected SASL <" + stanza.name + "/>");
  }
  if (stanza.LocalName() == "failure") {
    return Fail("authentication failed (" + Condition(stanza, kNsSasl) +
                "): check the password of " + account_.jid.Bare());
  }
  std::string data;
  if (!SaslPayload(stanza, &data)) return Fail("SASL: invalid base64");
  if (stanza.LocalName() == "challenge") {
    if (scram_ == nullptr) return Fail("SASL: unexpected challenge");
    if (scram_final_sent_) {  // server-final in a challenge (RFC 6120 6.3.10)
      Status s = scram_->ServerFinal(data);
      if (!s.ok()) return Fail("SCRAM: " + s.message());
      return Write(SaslElement("response", ""));
    }
    std::string client_final;
    Status s = scram_->ServerFirst(data, &client_final);
    if (!s.ok()) return Fail("SCRAM: " + s.message());
    scram_final_sent_ = true;
    return Write(SaslElement("response", client_final));
  }
  if (stanza.LocalName() != "success") {
    return Fail("unexpected SASL <" + stanza.name + "/>");
  }
  if (scram_ != nullptr && !scram_->done()) {
    // Only a server that knows the password can sign the exchange.
    if (data.empty()) return Fail("SCRAM: the server did not sign its success");
    Status s = scram_->ServerFinal(data);
    if (!s.ok()) return Fail("SCRAM: " + s.message());
  }
  scram_.reset();
  authenticated_ = true;
  stream_.Reset();
  OpenStream();
}

void XmppLink::OnIq(const XmlElement& iq) {
  std::string_view type = iq.Attr("type");
  std::string id(iq.Attr("id"));
  bool answer = type == "result" || type == "error";
  if (answer && state_ == State::kBinding &&
      (id == bind_id_ || id == session_id_)) {
    if (type == "error") {
      return Fail("resource binding refused: " +
                  (iq.Child("error")
                       ? Condition(*iq.Child("error"), kNsStanzaErrors)
                       : std::string("no reason")));
    }
    if (id == bind_id_) {
      const XmlElement* bind = iq.Child("bind", kNsBind);
      const XmlElement* jid = bind ? bind->Child("jid") : nullptr;
      bound_jid_ = jid ? jid->text : account_.jid.Full();
      if (session_needed_) {
        session_id_ = NextId("session");
        return Write("<iq type='set' id='" + session_id_ +
                     "'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'"
                     "/></iq>");
      }
    }
    return BecomeReady();
  }
  if (answer) return OnPong(id);
  XmlBuilder reply("iq");
  reply.Attr("id", id);
  if (iq.HasAttr("from")) reply.Attr("to", iq.Attr("from"));
  if (type == "get" && iq.Child("ping", kNsPing) != nullptr) {
    ++counters_.server_pings;
    return Write(reply.Attr("type", "result").Str());
  }
  // RFC 6120 8.2.3: every get or set gets an answer.
  XmlBuilder error("error");
  error.Attr("type", "cancel");
  error.Child(XmlBuilder("service-unavailable").Attr("xmlns", kNsStanzaErrors));
  Write(reply.Attr("type", "error").Child(error).Str());
}

void XmppLink::BecomeReady() {
  Write("<presence/>");
  state_ = State::kReady;
  evtimer_del(handshake_timer_);
  backoff_.Reset();
  ++counters_.ready;
  ArmTimer(ping_timer_, account_.ping_interval);
  ArmTimer(whitespace_timer_, account_.whitespace_interval);
  spdlog::info("xmpp {}: ready as {} via {} ({}, {})", account_.name,
               bound_jid_, Where(), tls_active_ ? "TLS" : "plaintext",
               mechanism_);
  if (on_ready_) on_ready_();
}

void XmppLink::ArmTimer(event* timer, milliseconds delay) {
  timeval tv = ToTimeval(delay);
  evtimer_add(timer, &tv);
}

void XmppLink::OnHandshakeTimeout() {
  Fail("no session within " + FormatDuration(account_.connect_timeout) +
       " (the server stopped answering)");
}

void XmppLink::OnPingTimer() {
  if (state_ != State::kReady) return;
  ArmTimer(ping_timer_, account_.ping_interval);
  if (pings_.empty()) SendPing(nullptr);  // else one is on its way already
}

bool XmppLink::Confirm(std::function<void(bool)> done) {
  if (state_ != State::kReady) return false;
  SendPing(std::move(done));
  return true;
}

void XmppLink::SendPing(std::function<void(bool)> done) {
  std::string id = NextId("ping");
  Write(XmlBuilder("iq")
            .Attr("type", "get")
            .Attr("id", id)
            .Attr("to", account_.jid.domain)
            .Child(XmlBuilder("ping").Attr("xmlns", kNsPing))
            .Str());
  ++counters_.pings_sent;
  if (pings_.empty()) ArmTimer(pong_timer_, account_.ping_timeout);
  pings_.push_back({std::move(id), Clock::now(), std::move(done)});
}

// Any answer (result or error) proves the server read the stream up to the
// ping. The timer moves on to the next oldest ping still unanswered.
void XmppLink::OnPong(const std::string& id) {
  auto it = std::find_if(pings_.begin(), pings_.end(),
                         [&](const PendingPing& p) { return p.id == id; });
  if (it == pings_.end()) return;
  ++counters_.pongs_received;
  auto done = std::move(it->done);
  pings_.erase(it);
  if (pings_.empty()) {
    evtimer_del(pong_timer_);
  } else {
    auto left = std::chrono::duration_cast<milliseconds>(
        pings_.front().sent + account_.ping_timeout - Clock::now());
    ArmTimer(pong_timer_, std::max(left, milliseconds(0)));
  }
  if (done) done(true);
}

void XmppLink::OnPongTimeout() {
  Fail("no answer to a ping within " + FormatDuration(account_.ping_timeout) +
       ": dead link");
}

void XmppLink::OnWhitespaceTimer() {
  if (state_ != State::kReady) return;
  auto idle =
      std::chrono::duration_cast<milliseconds>(Clock::now() - last_write_);
  milliseconds left = account_.whitespace_interval - idle;
  if (left <= milliseconds(0)) {
    Write(" ");
    ++counters_.whitespace_sent;
    left = account_.whitespace_interval;
  }
  ArmTimer(whitespace_timer_, left);
}

std::string XmppLink::NextId(std::string_view prefix) {
  return std::string(prefix) + "-" + std::to_string(++next_id_);
}

}  // namespace qd
