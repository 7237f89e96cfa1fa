// The `listeners:` section of the config: each listener's address,
// framing, limits, timeouts, login and per-site / per-account keepalives.
#include <sys/un.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config_sections.h"

namespace qd::config_detail {
namespace {

constexpr int kMaxConcurrent = 65536;
constexpr int kMaxConnections = 1000000;
constexpr uint64_t kMaxFrame = 64ull << 20;
constexpr uint64_t kMaxOutput = 1ull << 30;
constexpr size_t kMaxTerminator = 8;
// The path and its NUL must fit sockaddr_un.sun_path (108 bytes on Linux).
constexpr size_t kMaxUnixPath = sizeof(sockaddr_un{}.sun_path) - 1;
constexpr std::string_view kUnixScheme = "unix:";

const std::vector<std::string> kPersonalities = {"multiplex", "fork"};
const std::vector<std::string> kLoginModes = {"required", "none"};

// "host:port" or "unix:PATH" (PATH absolute or relative to the working
// directory).
void ReadListen(ConfigReader& r, const Item& item, std::string* out) {
  std::string text;
  if (!r.ReadString(item, &text)) return;
  if (text.compare(0, kUnixScheme.size(), kUnixScheme) == 0) {
    size_t length = text.size() - kUnixScheme.size();
    if (length == 0 || text.find('\0') != std::string::npos) {
      r.Fail(item, "expected a socket path after 'unix:', got " +
                       ConfigReader::Describe(item.value));
      return;
    }
    if (length > kMaxUnixPath) {
      r.Fail(item, "the socket path is " + std::to_string(length) +
                       " bytes long, at most " + std::to_string(kMaxUnixPath) +
                       " fit in a unix socket address");
      return;
    }
  } else if (!IsHostPort(text)) {
    r.Fail(item,
           "expected host:port such as 127.0.0.1:6001 or [::1]:6001, or "
           "unix:PATH, got " +
               ConfigReader::Describe(item.value));
    return;
  }
  *out = text;
}

// 1..8 bytes. A backslash escape that YAML left alone (`\r` unquoted or in
// single quotes is two bytes, '\' and 'r') is refused: it is never meant.
void ReadTerminator(ConfigReader& r, const Item& item, std::string* out) {
  const std::string expected =
      "1 to 8 bytes such as \"\\r\" or \"\\r\\n\" (in double quotes)";
  std::string text;
  if (!r.ReadScalar(item, expected, &text)) return;
  if (text.empty() || text.size() > kMaxTerminator) {
    r.Fail(item, "expected " + expected + ", got " +
                     std::to_string(text.size()) + " bytes");
    return;
  }
  for (const char* escape : {"\\r", "\\n", "\\t", "\\0"}) {
    if (text.find(escape) != std::string::npos) {
      r.Fail(item, std::string("'") + escape +
                       "' here is a backslash and a letter; write escapes "
                       "in double quotes, such as \"\\r\\n\"");
      return;
    }
  }
  *out = text;
}

// A positive size of at most kMaxOutput.
void ReadMaxOutput(ConfigReader& r, const Item& item, uint64_t* out) {
  uint64_t size = 0;
  if (!r.ReadSize(item, &size)) return;
  if (size == 0 || size > kMaxOutput) {
    r.Fail(item, "expected 1 byte to " + FormatSize(kMaxOutput) + ", got " +
                     FormatSize(size));
    return;
  }
  *out = size;
}

void ReadMaxFrame(ConfigReader& r, const Item& item, uint64_t* out) {
  uint64_t size = 0;
  if (!r.ReadSize(item, &size)) return;
  if (size > kMaxFrame) {
    r.Fail(item, "expected at most " + FormatSize(kMaxFrame) + ", got " +
                     FormatSize(size));
    return;
  }
  *out = size;
}

// `site:` may be empty: connections that are not logged in then have none.
void ReadListenerSite(ConfigReader& r, const Item& item, std::string* out,
                      std::vector<SiteRef>* refs) {
  if (item.value.IsNull()) return;
  if (!r.ReadScalar(item, "a site name", out)) return;
  if (!out->empty()) refs->push_back({item, false});
}

// `sites:` SITE -> { worker_keepalive: DURATION }.
void ReadSiteKeepalives(ConfigReader& r, const Item& item, ListenerConfig* l,
                        std::vector<SiteRef>* refs) {
  r.ReadEntries(item, [&](const Item& site) {
    refs->push_back({site, true});
    r.ReadMap(site, {{"worker_keepalive", [&](const Item& i) {
                        r.ReadDuration(i,
                                       &l->site_keepalive[site.key.Scalar()]);
                      }}});
  });
}

// `accounts:` ACCOUNT -> map. The handler sees each account without its
// worker_keepalive, which is the framework's; the maps it gets are new ones
// whose values are the parsed nodes, so their positions survive.
void ReadAccounts(ConfigReader& r, const Item& item, ListenerConfig* l) {
  YAML::Node accounts(YAML::NodeType::Map);
  r.ReadEntries(item, [&](const Item& account) {
    if (!account.value.IsMap()) {
      r.Fail(account,
             "expected a map, got " + ConfigReader::Describe(account.value));
      return;
    }
    const std::string name = account.key.Scalar();
    YAML::Node options(YAML::NodeType::Map);
    r.ReadMap(account,
              {{"worker_keepalive",
                [&](const Item& i) {
                  r.ReadDuration(i, &l->account_keepalive[name]);
                }}},
              [&](const Item& i) { options[i.key.Scalar()] = i.value; });
    accounts[name] = options;
  });
  l->handler_options["accounts"] = accounts;
}

void ReadListener(ConfigReader& r, const Item& item, ListenerConfig* l,
                  std::vector<SiteRef>* refs) {
  l->name = item.key.Scalar();
  l->line = item.key.Mark().line + 1;
  l->handler_options = YAML::Node(YAML::NodeType::Map);
  auto duration = [&](Duration* out) {
    return [&r, out](const Item& i) { r.ReadDuration(i, out); };
  };
  auto positive = [&](Duration* out) {
    return [&r, out](const Item& i) { ReadPositiveDuration(r, i, out); };
  };
  r.ReadMap(
      item,
      {
          {"listen", [&](const Item& i) { ReadListen(r, i, &l->listen); }},
          {"personality",
           [&](const Item& i) {
             r.ReadChoice(i, kPersonalities, &l->personality);
           }},
          {"handler", [&](const Item& i) { r.ReadString(i, &l->handler); }},
          {"terminator",
           [&](const Item& i) { ReadTerminator(r, i, &l->terminator); }},
          {"reply_terminator",
           [&](const Item& i) { ReadTerminator(r, i, &l->reply_terminator); }},
          {"max_frame",
           [&](const Item& i) { ReadMaxFrame(r, i, &l->max_frame); }},
          {"max_concurrent",
           [&](const Item& i) {
             r.ReadInt(i, 1, kMaxConcurrent, &l->max_concurrent);
           }},
          {"max_connections",
           [&](const Item& i) {
             r.ReadInt(i, 1, kMaxConnections, &l->max_connections);
           }},
          {"max_output",
           [&](const Item& i) { ReadMaxOutput(r, i, &l->max_output); }},
          {"max_output_hard",
           [&](const Item& i) { ReadMaxOutput(r, i, &l->max_output_hard); }},
          {"output_timeout", duration(&l->output_timeout)},
          {"worker_keepalive", duration(&l->worker_keepalive)},
          {"fence_timeout", positive(&l->fence_timeout)},
          {"idle_timeout", duration(&l->idle_timeout)},
          {"session_ttl", positive(&l->session_ttl)},
          {"login",
           [&](const Item& i) { r.ReadChoice(i, kLoginModes, &l->login); }},
          {"login_timeout", positive(&l->login_timeout)},
          {"login_delay", duration(&l->login_delay)},
          {"site",
           [&](const Item& i) { ReadListenerSite(r, i, &l->site, refs); }},
          {"prefix",
           [&](const Item& i) { ReadToken(r, i, kNameExtra, &l->prefix); }},
          {"sites", [&](const Item& i) { ReadSiteKeepalives(r, i, l, refs); }},
          {"accounts", [&](const Item& i) { ReadAccounts(r, i, l); }},
      },
      [&](const Item& i) { l->handler_options[i.key.Scalar()] = i.value; });
  if (!r.ok()) return;
  if (l->max_output_hard < l->max_output) {
    r.FailAtKey(item, "max_output_hard (" + FormatSize(l->max_output_hard) +
                          ") is below max_output (" +
                          FormatSize(l->max_output) + ")");
  } else if (l->listen.empty()) {
    r.FailAtKey(item, "missing required key 'listen'");
  } else if (l->handler.empty()) {
    r.FailAtKey(item, "missing required key 'handler'");
  }
}

}  // namespace

// Two listeners on one address would fail at bind time; say so now, at the
// second one.
void ReadListeners(ConfigReader& r, const Item& item,
                   std::map<std::string, ListenerConfig>* listeners,
                   std::vector<SiteRef>* refs) {
  std::map<std::string, const ListenerConfig*> by_listen;
  r.ReadEntries(item, [&](const Item& entry) {
    CheckName(r, entry, "listener");
    ListenerConfig* l = &(*listeners)[entry.key.Scalar()];
    ReadListener(r, entry, l, refs);
    if (!r.ok()) return;
    auto [first, inserted] = by_listen.emplace(l->listen, l);
    if (!inserted) {
      r.FailAtKey(entry, "listen " + l->listen +
                             " is already used by listener '" +
                             first->second->name + "' (line " +
                             std::to_string(first->second->line) + ")");
    }
  });
}

}  // namespace qd::config_detail
