#include "prosody_server.h"

#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

namespace qd::test {
namespace {

constexpr milliseconds kStartDeadline(10000);
constexpr milliseconds kStopGrace(10000);
constexpr milliseconds kToolDeadline(10000);
constexpr milliseconds kProbeDeadline(1000);
constexpr char kProbeUser[] = "qd-probe";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Waits for `pid` to exit; SIGKILLs and reaps it after `deadline`. Returns
// its exit code, -1 if it had to be killed or died on a signal.
int WaitExit(pid_t pid, milliseconds deadline) {
  int status = 0;
  if (!WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; },
               deadline)) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Base64(const std::string& in) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

// The five predefined entities: all that prosody writes.
constexpr std::pair<char, const char*> kEntities[] = {{'&', "&amp;"},
                                                      {'<', "&lt;"},
                                                      {'>', "&gt;"},
                                                      {'\'', "&apos;"},
                                                      {'"', "&quot;"}};

std::string XmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    auto it = std::find_if(std::begin(kEntities), std::end(kEntities),
                           [c](const auto& e) { return e.first == c; });
    if (it == std::end(kEntities)) {
      out += c;
    } else {
      out += it->second;
    }
  }
  return out;
}

std::string XmlUnescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    auto it = std::find_if(
        std::begin(kEntities), std::end(kEntities), [&](const auto& e) {
          return text.compare(i, std::strlen(e.second), e.second) == 0;
        });
    if (it == std::end(kEntities)) {
      out += text[i];
    } else {
      out += it->first;
      i += std::strlen(it->second) - 1;
    }
  }
  return out;
}

// The text inside the first <name ...>...</name> of `element`; nullopt if
// there is none. <name/> gives "".
std::optional<std::string> InnerText(const std::string& element,
                                     const std::string& name) {
  size_t open = element.find("<" + name);
  while (open != std::string::npos) {
    char after = element[open + 1 + name.size()];
    if (after == '>' || after == ' ' || after == '/') break;
    open = element.find("<" + name, open + 1);
  }
  if (open == std::string::npos) return std::nullopt;
  size_t gt = element.find('>', open);
  if (gt == std::string::npos) return std::nullopt;
  if (element[gt - 1] == '/') return std::string();
  size_t close = element.find("</" + name + ">", gt);
  if (close == std::string::npos) return std::nullopt;
  return XmlUnescape(element.substr(gt + 1, close - gt - 1));
}

std::string StreamHeader(const std::string& domain) {
  return "<?xml version='1.0'?><stream:stream to='" + XmlEscape(domain) +
         "' xmlns='jabber:client' "
         "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
}

std::string AuthPlain(const std::string& user, const std::string& password) {
  std::string creds = std::string(1, '\0') + user + '\0' + password;
  return "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
         Base64(creds) + "</auth>";
}

bool StartsWith(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

bool MakeSelfSignedCert(const std::string& domain, const std::string& cert_file,
                        const std::string& key_file) {
  pid_t pid =
      Spawn({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-keyout",
             key_file, "-out", cert_file, "-subj", "/CN=" + domain, "-addext",
             "subjectAltName=DNS:" + domain},
            {}, cert_file + ".log", "/dev/null", true);
  return WaitExit(pid, kToolDeadline) == 0;
}

ProsodyServer::ProsodyServer(ProsodyOptions options)
    : options_(std::move(options)),
      // Random, so that a probe never succeeds against another test's
      // prosody that happens to hold the same port.
      probe_password_("probe-" + std::to_string(std::random_device()())) {
  mkdir(dir_.File("data").c_str(), 0700);
  mkdir(dir_.File("certs").c_str(), 0700);
  if (!MakeSelfSignedCert(domain(), cert_file(),
                          dir_.File("certs/server.key"))) {
    throw std::runtime_error("openssl could not make a certificate");
  }
  for (int attempt = 0; attempt < 5 && pid_ == 0; ++attempt) {
    port_ = FreePort();
    WriteConfig();
    if (attempt == 0 && !Register(kProbeUser, probe_password_)) {
      throw std::runtime_error("prosodyctl register failed: " +
                               ReadFile(dir_.File("prosodyctl.log")));
    }
    if (Start()) return;
  }
  throw std::runtime_error("prosody did not start: " + Log() +
                           ReadFile(dir_.File("prosody.out")));
}

ProsodyServer::~ProsodyServer() { Stop(); }

// Paths are absolute so that prosody and prosodyctl agree whatever their
// working directory. daemonize is a command-line flag (-F) in 0.12; the
// config option is deprecated. mod_posix is loaded by default (pidfile,
// signals) and does not fork with -F. s2s is off: no port, no module.
void ProsodyServer::WriteConfig() const {
  auto q = [](const std::string& s) { return "\"" + s + "\""; };
  auto b = [](bool v) { return v ? "true" : "false"; };
  std::ostringstream c;
  c << "-- Written by test/integration/prosody_server.cc\n"
    << "run_as_root = true\n"
    << "pidfile = " << q(dir_.File("prosody.pid")) << "\n"
    << "data_path = " << q(dir_.File("data")) << "\n"
    << "certificates = " << q(dir_.File("certs")) << "\n"
    << "log = { debug = " << q(log_file()) << " }\n"
    << "interfaces = { \"127.0.0.1\" }\n"
    << "c2s_ports = { " << port_ << " }\n"
    << "c2s_direct_tls_ports = {}\nlegacy_ssl_ports = {}\ns2s_ports = {}\n"
    << "modules_enabled = { \"roster\", \"saslauth\", \"tls\", \"disco\", "
       "\"ping\" }\n"
    << "modules_disabled = { \"s2s\", \"s2s_auth_certs\" }\n"
    << "authentication = \"internal_hashed\"\nstorage = \"internal\"\n"
    << "c2s_require_encryption = " << b(options_.require_encryption) << "\n"
    << "allow_unencrypted_plain_auth = "
    << b(options_.allow_unencrypted_plain_auth) << "\n"
    << "VirtualHost " << q(domain()) << "\n"
    << "  ssl = { certificate = " << q(cert_file())
    << ", key = " << q(dir_.File("certs/server.key")) << " }\n";
  dir_.Write("prosody.cfg.lua", c.str());
}

bool ProsodyServer::Start() {
  size_t log_start = Log().size();
  pid_ = Spawn({"prosody", "-F", "--config", config_file()}, {},
               dir_.File("prosody.out"), "/dev/null");
  bool gone = false;
  bool ready = WaitFor(
      [&] {
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) return gone = true;
        // prosody keeps running when it cannot bind; fail fast instead.
        if (Log().find("Failed to open server port", log_start) !=
            std::string::npos) {
          return gone = true;
        }
        return ProbeLogin(kProbeDeadline);
      },
      kStartDeadline);
  if (ready && !gone) return true;
  if (gone && !Alive(pid_)) {
    pid_ = 0;
  } else {
    Stop();
  }
  return false;
}

void ProsodyServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  kill(pid_, SIGCONT);  // a paused prosody must run to handle the TERM
  if (!WaitFor([&] { return waitpid(pid_, nullptr, WNOHANG) != 0; },
               kStopGrace)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = 0;
}

void ProsodyServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

void ProsodyServer::Pause() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void ProsodyServer::Resume() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

bool ProsodyServer::Restart() {
  Stop();
  return Start();
}

bool ProsodyServer::Register(const std::string& user,
                             const std::string& password) {
  pid_t pid = Spawn({"prosodyctl", "--config", config_file(), "register", user,
                     domain(), password},
                    {}, dir_.File("prosodyctl.log"), "/dev/null");
  return WaitExit(pid, kToolDeadline) == 0;
}

std::string ProsodyServer::Log() const { return ReadFile(log_file()); }

bool ProsodyServer::ProbeLogin(milliseconds deadline) const {
  if (!options_.require_encryption && options_.allow_unencrypted_plain_auth) {
    return PlaintextProbe(deadline);
  }
  return StartTlsProbe(deadline);
}

bool ProsodyServer::PlaintextProbe(milliseconds deadline) const {
  return XmppTestClient(port_, domain(), kProbeUser, probe_password_, "probe",
                        deadline)
      .ok();
}

// openssl does the STARTTLS exchange and the handshake, then relays the
// new stream, the PLAIN auth and the stream close; prosody answers and
// closes, so s_client exits.
bool ProsodyServer::StartTlsProbe(milliseconds deadline) const {
  dir_.Write("probe.in", StreamHeader(domain()) +
                             AuthPlain(kProbeUser, probe_password_) +
                             "</stream:stream>");
  std::string out = dir_.File("probe.out");
  pid_t pid =
      Spawn({"openssl", "s_client", "-quiet", "-starttls", "xmpp", "-xmpphost",
             domain(), "-servername", domain(), "-connect",
             "127.0.0.1:" + std::to_string(port_), "-CAfile", cert_file(),
             "-verify_return_error", "-verify_hostname", domain()},
            {}, out, dir_.File("probe.in"), true);
  WaitExit(pid, deadline);
  return ReadFile(out).find("<success") != std::string::npos;
}

XmppTestClient::XmppTestClient(int port, const std::string& domain,
                               const std::string& user,
                               const std::string& password,
                               const std::string& resource,
                               milliseconds deadline)
    : conn_(LineClient::Tcp(port, ">")) {
  if (!conn_.connected()) {
    error_ = "cannot connect to 127.0.0.1:" + std::to_string(port);
    return;
  }
  ok_ = Login(domain, user, password, resource, Clock::now() + deadline);
}

XmppTestClient::~XmppTestClient() {
  if (conn_.connected() && !conn_.closed() && conn_.Send("</stream:stream>")) {
    conn_.WaitClosed(milliseconds(1000));
  }
}

bool XmppTestClient::Login(const std::string& domain, const std::string& user,
                           const std::string& password,
                           const std::string& resource, Clock::time_point end) {
  if (!OpenStream(domain, end)) return false;
  conn_.Send(AuthPlain(user, password));
  auto reply = ReadElement(end);
  if (!reply || !StartsWith(*reply, "<success")) {
    error_ = "login refused: " + reply.value_or("no answer to <auth>");
    return false;
  }
  if (!OpenStream(domain, end)) return false;
  conn_.Send(
      "<iq type='set' id='bind1'><bind "
      "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" +
      XmlEscape(resource) + "</resource></bind></iq>");
  reply = ReadElement(end);
  auto jid = reply ? InnerText(*reply, "jid") : std::nullopt;
  if (!jid) {
    error_ = "bind failed: " + reply.value_or("no answer");
    return false;
  }
  jid_ = *jid;
  return conn_.Send("<presence/>");
}

bool XmppTestClient::OpenStream(const std::string& domain,
                                Clock::time_point end) {
  conn_.Send(StreamHeader(domain));
  auto features = ReadElement(end);
  if (!features || !StartsWith(*features, "<stream:features")) {
    error_ = "no stream features: " + features.value_or("no answer");
    return false;
  }
  return true;
}

bool XmppTestClient::SendMessage(const std::string& to,
                                 const std::string& body) {
  return conn_.Send("<message type='chat' to='" + XmlEscape(to) + "'><body>" +
                    XmlEscape(body) + "</body></message>");
}

std::optional<std::string> XmppTestClient::WaitForMessageBody(
    milliseconds deadline) {
  auto end = Clock::now() + deadline;
  while (auto element = ReadElement(end)) {
    if (!StartsWith(*element, "<message")) continue;
    if (auto body = InnerText(*element, "body")) return body;
  }
  return std::nullopt;
}

// Each piece up to a '>' is optional text then one tag. Opening tags deepen,
// closing and self-closing tags do not; an element is complete when the
// depth is back to zero. A partly read element stays in partial_ across a
// timeout, so the next call resumes it.
std::optional<std::string> XmppTestClient::ReadElement(Clock::time_point end) {
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now());
    auto piece = conn_.ReadLine(std::max(left, milliseconds(0)));
    if (!piece) return std::nullopt;
    size_t lt = piece->find('<');
    if (lt == std::string::npos) return std::nullopt;  // not XML we know
    std::string tag = piece->substr(lt);
    if (StartsWith(tag, "<?") || StartsWith(tag, "<stream:stream")) continue;
    if (StartsWith(tag, "</stream:stream")) return std::nullopt;
    // Text between top-level elements is whitespace: dropped.
    partial_ += (depth_ == 0 ? tag : *piece) + ">";
    if (tag[1] == '/') {
      --depth_;
    } else if (tag.back() != '/') {
      ++depth_;
    }
    if (depth_ <= 0) {
      depth_ = 0;
      return std::exchange(partial_, std::string());
    }
  }
}

bool PumpLoop(event_base* base, const std::function<bool()>& cond,
              milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    timeval tv{0, 10000};
    event_base_loopexit(base, &tv);
    event_base_loop(base, EVLOOP_ONCE);
  }
  return true;
}

}  // namespace qd::test
