// XmppLink: connecting, the stream handshake (STARTTLS with xmpp_tls.h,
// SASL through XmppSasl, binding) and reconnecting; the ready link's pings
// and delivery barrier are its XmppKeepalive's.
#include "core/xmpp/xmpp_link.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <random>

#include "core/util/units.h"
#include "core/util/xml_builder.h"
#include "core/xmpp/xmpp_tls.h"

namespace qd {
namespace {

using std::chrono::milliseconds;

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
               milliseconds::max()),
      keepalive_(base_, account_, &counters_,
                 {[this](std::string_view data) { Write(data); },
                  [this](std::string_view prefix) { return NextId(prefix); },
                  [this](const std::string& why) { Fail(why); }}) {
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
  if (account_.tls != "off") {
    ssl_ctx_error_ = MakeXmppTlsContext(account_.ca_file, &ssl_ctx_);
  }
}

XmppLink::~XmppLink() {
  Stop();
  for (event* e : {retry_timer_, handshake_timer_}) event_free(e);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
  if (own_dns_ && dns_ != nullptr) evdns_base_free(dns_, 0);
}

void XmppLink::Start() {
  if (state_ != State::kStopped) return;
  state_ = State::kWaitingRetry;
  Connect();
}

void XmppLink::Stop() {
  if (state_ == State::kStopped) return;
  if (bev_ != nullptr && state_ != State::kConnecting) {
    WriteNow(kXmppStreamClose);  // best effort: the socket closes next
  }
  state_ = State::kStopped;
  evtimer_del(retry_timer_);
  CloseConnection();
}

void XmppLink::HoldReading(bool hold) {
  if (hold == hold_reading_) return;
  hold_reading_ = hold;
  if (state_ == State::kReady) ApplyHold();
}

void XmppLink::ApplyHold() {
  if (hold_reading_) {
    bufferevent_disable(bev_, EV_READ);
  } else {
    bufferevent_enable(bev_, EV_READ);
  }
  keepalive_.Hold(hold_reading_);
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
  tls_active_ = tls_pending_ = session_needed_ = false;
  write_failed_.clear();
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
  evtimer_del(handshake_timer_);
  keepalive_.Stop();
  if (bev_ != nullptr) {
    bufferevent_free(bev_);  // the TLS filter frees its SSL and the socket
    bev_ = nullptr;
  }
  ssl_ = nullptr;
  sasl_.Reset();
}

// Every failure goes through here: one log line, then the backoff.
void XmppLink::Fail(const std::string& why) {
  bool was_ready = state_ == State::kReady;
  auto unanswered = keepalive_.TakeBarriers();
  CloseConnection();
  if (state_ == State::kStopped) return;
  last_error_ = why;
  ++counters_.failures;
  milliseconds delay = Jitter(backoff_.OnCrash(milliseconds(0)));
  state_ = State::kWaitingRetry;
  ArmTimer(retry_timer_, delay);
  spdlog::warn("xmpp {} ({} via {}): {}; reconnecting in {}", account_.name,
               account_.jid.Bare(), Where(), why, FormatDuration(delay));
  for (auto& done : unanswered) done(false);
  if (was_ready && on_down_) on_down_(why);
}

void XmppLink::Write(std::string_view data) {
  bufferevent_write(bev_, data.data(), data.size());
  keepalive_.Wrote();
}

// For the closing tag, right before the connection is freed (which drops
// queued output): pushes it through the TLS filter, if any, and writes the
// socket's queue now. Non-blocking: what the kernel does not take is lost.
void XmppLink::WriteNow(std::string_view data) {
  Write(data);
  bufferevent_flush(bev_, EV_WRITE, BEV_FLUSH);
  bufferevent* socket_bev = bufferevent_get_underlying(bev_);
  if (socket_bev == nullptr) socket_bev = bev_;
  evutil_socket_t fd = bufferevent_getfd(socket_bev);
  if (fd < 0) return;
  // A socket bufferevent keeps its output's start frozen: only it drains
  // the buffer. It is about to be freed, so drain it here.
  evbuffer* out = bufferevent_get_output(socket_bev);
  evbuffer_unfreeze(out, 1);
  evbuffer_write(out, fd);
  evbuffer_freeze(out, 1);
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
  if (self->state_ == State::kTlsHandshake) {
    return self->Fail(
        TlsHandshakeError(self->ssl_, bufferevent_get_openssl_error(bev),
                          self->account_.jid.domain, self->account_.ca_file));
  }
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
  if (self->state_ == State::kConnecting) {
    return self->Fail("cannot connect to " + self->Where() + ": " + why);
  }
  if (self->state_ == State::kReady && (what & BEV_EVENT_WRITING) &&
      self->write_failed_.empty()) {
    return self->ReadToTheEnd("connection lost: " + why);
  }
  self->Fail("connection lost: " + why);
}

// A write failed on a ready link: the server closed or reset the
// connection, and what it sent before may still wait unread in the socket
// (above all while reading is held), counted delivered by the server. So
// read to the end first: the read side's EOF or error then fails the link,
// or connect_timeout does.
void XmppLink::ReadToTheEnd(const std::string& why) {
  write_failed_ = why;
  bufferevent_enable(bev_, EV_READ);
  ArmTimer(handshake_timer_, account_.connect_timeout);
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
  std::string error;
  ssl_ = NewXmppTlsSession(ssl_ctx_, account_.jid.domain, &error);
  if (ssl_ == nullptr) return Fail(error);
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
  if (stanza.Is("features", kNsStreams)) {
    // Valid only right after a stream header: on a bound stream it would
    // restart binding with no timer left to fail it.
    if (state_ != State::kOpening) {
      return Fail("unexpected <stream:features/> on an open stream");
    }
    return OnFeatures(stanza);
  }
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
  WriteNow(kXmppStreamClose);  // RFC 6120 4.4: answer it before closing
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
  if (!sasl_.authenticated()) {
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
  state_ = State::kAuthenticating;
  std::string auth;
  Status s = sasl_.Start(mechanisms, account_, tls_active_, &auth);
  if (!s.ok()) return Fail(s.message());
  Write(auth);
}

void XmppLink::OnSasl(const XmlElement& stanza) {
  if (state_ != State::kAuthenticating) {
    return Fail("unexpected SASL <" + stanza.name + "/>");
  }
  if (stanza.LocalName() == "failure") {
    return Fail("authentication failed (" + Condition(stanza, kNsSasl) +
                "): check the password of " + account_.jid.Bare());
  }
  std::string response;
  Status s = sasl_.Receive(stanza, &response);
  if (!s.ok()) return Fail(s.message());
  if (!sasl_.authenticated()) return Write(response);
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
  if (answer) return keepalive_.OnAnswer(id);
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
  keepalive_.Start();
  if (hold_reading_) ApplyHold();
  spdlog::info("xmpp {}: ready as {} via {} ({}, {})", account_.name,
               bound_jid_, Where(), tls_active_ ? "TLS" : "plaintext",
               sasl_.mechanism());
  if (on_ready_) on_ready_();
}

void XmppLink::ArmTimer(event* timer, milliseconds delay) {
  timeval tv = ToTimeval(delay);
  evtimer_add(timer, &tv);
}

void XmppLink::OnHandshakeTimeout() {
  if (!write_failed_.empty()) return Fail(write_failed_);
  Fail("no session within " + FormatDuration(account_.connect_timeout) +
       " (the server stopped answering)");
}

bool XmppLink::Confirm(std::function<void(bool)> done) {
  if (state_ != State::kReady) return false;
  keepalive_.Confirm(std::move(done));
  return true;
}

std::string XmppLink::NextId(std::string_view prefix) {
  return std::string(prefix) + "-" + std::to_string(++next_id_);
}

}  // namespace qd
