// A real prosody XMPP server for the integration tests, and a tiny blocking
// XMPP client to receive and send messages through it.
//
// ProsodyServer owns a temp dir (config, self-signed certificate, data,
// logs) and one prosody child process that listens for c2s on
// 127.0.0.1:<free port> only (no s2s, no HTTP). Everything it starts is
// stopped by pid: prosody in Stop()/the destructor, helper programs
// (prosodyctl, openssl) by their own deadlines. Every wait has a deadline.
// Not thread-safe; use it from the test's thread.
//
// Readiness is a real login, never an open port: Start() returns true only
// once a probe account (registered before the first start) completed SASL
// PLAIN:
//  - over a plaintext stream (XmppTestClient) when the config allows
//    plaintext PLAIN (require_encryption off, allow_unencrypted_plain_auth
//    on);
//  - otherwise over STARTTLS with `openssl s_client -starttls xmpp`,
//    checking the certificate against cert_file() and the domain. This
//    proves the TLS side the tests rely on works too, without linking
//    OpenSSL into the harness.
// The probe account is "qd-probe" with a random password per server, so a
// probe never logs in to another test's prosody that took the same port.
//
// Config (Debian prosody 0.12): run_as_root, foreground (-F; the daemonize
// option is deprecated), pidfile, data, certificates and a debug log in the
// temp dir; modules roster, saslauth, tls, disco, ping plus the defaults
// (posix, presence, message, iq, offline, c2s); s2s disabled and no ports
// but c2s; internal_hashed auth, so SCRAM-SHA-1 and PLAIN are offered.
#pragma once

#include <sys/types.h>

struct event_base;

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "daemon_harness.h"

namespace qd::test {

// Writes a self-signed certificate (EC P-256, CN and subjectAltName =
// `domain`, valid for 2 days) and its key. For tests that need a second,
// untrusted CA. Returns false if openssl failed.
[[nodiscard]] bool MakeSelfSignedCert(const std::string& domain,
                                      const std::string& cert_file,
                                      const std::string& key_file);

struct ProsodyOptions {
  // The VirtualHost, and the name in the certificate.
  std::string domain = "localhost";
  // c2s_require_encryption: plaintext clients only see <starttls/>.
  bool require_encryption = false;
  // allow_unencrypted_plain_auth: SASL PLAIN without TLS.
  bool allow_unencrypted_plain_auth = true;
};

// Runs `base` until `cond` holds; false at the deadline. Each turn is
// bounded by a 10 ms loopexit, so an idle loop cannot block the test. For
// tests that drive an XmppLink's loop themselves.
bool PumpLoop(event_base* base, const std::function<bool()>& cond,
              milliseconds deadline);

class ProsodyServer {
 public:
  // Writes the config and certificate, registers the probe account and
  // starts prosody (retrying on another free port if one was taken).
  // Throws std::runtime_error if it never became ready.
  explicit ProsodyServer(ProsodyOptions options = {});
  ~ProsodyServer();
  ProsodyServer(const ProsodyServer&) = delete;
  ProsodyServer& operator=(const ProsodyServer&) = delete;

  // Starts prosody on the same port and data and waits (10 s at most) for a
  // probe login. False if it exited or was not ready in time (then it is
  // stopped). REQUIRES: not running.
  [[nodiscard]] bool Start();
  // SIGTERM (and SIGCONT, in case it is paused), SIGKILL after 10 s; reaps.
  void Stop();
  // SIGKILL at once; reaps.
  void Kill();
  // SIGSTOP / SIGCONT: connections stay open but nothing is answered.
  void Pause();
  void Resume();
  // Stop() then Start().
  [[nodiscard]] bool Restart();

  // Creates `user` on domain() or sets its password, with
  // `prosodyctl register`; works whether or not prosody runs. False if
  // prosodyctl failed or took more than 10 s.
  [[nodiscard]] bool Register(const std::string& user,
                              const std::string& password);
  // One login attempt of the probe account, as Start() waits for.
  bool ProbeLogin(milliseconds deadline) const;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }  // 0 when not running
  const std::string& domain() const { return options_.domain; }
  std::string Jid(const std::string& user) const {
    return user + "@" + options_.domain;
  }
  // The CA file for clients: the self-signed certificate itself.
  std::string cert_file() const { return dir_.File("certs/server.crt"); }
  std::string config_file() const { return dir_.File("prosody.cfg.lua"); }
  // prosody's own log (debug level: stanzas in and out are in it).
  std::string log_file() const { return dir_.File("prosody.log"); }
  std::string Log() const;

 private:
  void WriteConfig() const;
  bool PlaintextProbe(milliseconds deadline) const;
  bool StartTlsProbe(milliseconds deadline) const;

  TempDir dir_;
  ProsodyOptions options_;
  std::string probe_password_;
  int port_ = 0;
  pid_t pid_ = 0;
};

// A blocking XMPP client for tests: plaintext TCP to 127.0.0.1, SASL PLAIN
// (so the server must allow it unencrypted), resource binding, initial
// presence. It reads the stream with simple string scanning, not an XML
// parser: it splits at '>' (prosody escapes '>' in text and attribute
// values) and counts open and close tags to find top-level stanzas. No
// CDATA, comments or TLS; enough for a test receiver, nothing more.
// Not thread-safe.
class XmppTestClient {
 public:
  // Logs in as user@domain and binds `resource`, all within `deadline`;
  // ok() says whether it worked, error() why not (e.g. the server's
  // <failure> element: "not-authorized", "encryption-required").
  XmppTestClient(int port, const std::string& domain, const std::string& user,
                 const std::string& password,
                 const std::string& resource = "test",
                 milliseconds deadline = milliseconds(5000));
  // Closes the stream and waits (1 s at most) for the server to close too:
  // a connection dropped without that keeps a prosody that is stopped right
  // after busy for a 1 s shutdown retry.
  ~XmppTestClient();
  XmppTestClient(const XmppTestClient&) = delete;
  XmppTestClient& operator=(const XmppTestClient&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& jid() const { return jid_; }  // the bound full JID

  // Sends a chat message; false if the connection is gone.
  bool SendMessage(const std::string& to, const std::string& body);
  // Sends `stanza` as it is (the caller escapes); false if the connection
  // is gone.
  bool SendRaw(const std::string& stanza) { return conn_.Send(stanza); }
  // The <body> text (unescaped) of the next <message> with a body; other
  // stanzas are skipped. nullopt if none came within `deadline` or the
  // stream closed.
  std::optional<std::string> WaitForMessageBody(milliseconds deadline);

 private:
  using Clock = std::chrono::steady_clock;
  bool Login(const std::string& domain, const std::string& user,
             const std::string& password, const std::string& resource,
             Clock::time_point end);
  // The next top-level element of the stream, as text; the XML declaration
  // and the stream header are skipped. nullopt on timeout (the part read
  // so far is kept for the next call) or at the end of the stream.
  std::optional<std::string> ReadElement(Clock::time_point end);
  // Sends a stream header and reads the <stream:features>.
  bool OpenStream(const std::string& domain, Clock::time_point end);

  LineClient conn_;
  std::string partial_;  // an element read in part, and its open depth
  int depth_ = 0;
  bool ok_ = false;
  std::string error_;
  std::string jid_;
};

}  // namespace qd::test
