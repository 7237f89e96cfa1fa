// The `xmpp:` section of the config (one XmppAccount per entry), the tie
// between `xmpp` queues and the accounts that send their jobs, and the
// queues that received messages go to.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config_sections.h"
#include "core/util/secret_file.h"
#include "queuedaemon/jid.h"
#include "queuedaemon/suggest.h"

namespace qd::config_detail {
namespace {

// `inbound: QUEUE` (a queue of the account's own site, filled in once the
// whole account is read) or `inbound: { site: SITE, queue: QUEUE }`. The
// queue's position is kept for the check that the site has it.
void ReadInbound(ConfigReader& r, const Item& item, XmppAccount* a,
                 std::vector<SiteRef>* refs) {
  auto queue = [&](const Item& i) {
    ReadToken(r, i, kNameExtra, &a->inbound_queue);
    a->inbound_line = i.value.Mark().line + 1;
    a->inbound_column = i.value.Mark().column + 1;
  };
  if (item.value.IsScalar()) return queue(item);
  r.ReadMap(item, {{"site",
                    [&](const Item& i) {
                      ReadToken(r, i, kNameExtra, &a->inbound_site);
                      if (r.ok()) refs->push_back({i, false});
                    }},
                   {"queue", queue}});
  if (r.ok() && a->inbound_queue.empty()) {
    r.Fail(item, "queue is missing: inbound: { site: SITE, queue: QUEUE }");
  }
}

// A list of bare JIDs (user@domain, or a domain alone).
void ReadInboundFrom(ConfigReader& r, const Item& item,
                     std::vector<std::string>* out) {
  if (!r.ReadStringList(item, out)) return;
  size_t n = 0;
  for (const auto& value : item.value) {
    Item element{YAML::Node(), value,
                 item.path + "[" + std::to_string(n++) + "]"};
    Jid jid;
    Status s = ParseJid(value.Scalar(), &jid);
    if (!s.ok()) return r.Fail(element, s.message());
    if (!jid.resource.empty()) {
      return r.Fail(element, "expected a bare JID (user@domain), got " +
                                 ConfigReader::Describe(value));
    }
  }
}

// The queue an account's `inbound` names must be one its site runs, and
// not an `xmpp` queue: every received message would go out again as one.
void CheckXmppInbound(ConfigReader& r, const Config& c) {
  for (const auto& [name, a] : c.xmpp) {
    auto site = c.sites.find(a.inbound_site);
    if (!a.receives() || site == c.sites.end()) continue;
    YAML::Mark at;
    at.line = a.inbound_line - 1;
    at.column = a.inbound_column - 1;
    std::string path = "xmpp." + name + ".inbound";
    auto queue = site->second.queues.find(a.inbound_queue);
    if (queue == site->second.queues.end()) {
      std::vector<std::string> names;
      for (const auto& entry : site->second.queues)
        names.push_back(entry.first);
      std::string hint = Suggest(a.inbound_queue, names);
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      r.FailAt(at, path,
               "site " + site->first + " has no queue '" + a.inbound_queue +
                   "' " +
                   (!hint.empty()   ? "(did you mean '" + hint + "'?)"
                    : names.empty() ? std::string("(it has no queues)")
                                    : "(its queues: " + known + ")"));
    } else if (queue->second.handler == "xmpp") {
      r.FailAt(at, path,
               "queue " + a.inbound_queue + " of site " + site->first +
                   " sends xmpp messages: every message received would go "
                   "out again; name a queue with another handler");
    }
  }
}

}  // namespace

void ReadXmppAccount(ConfigReader& r, const Item& item, XmppAccount* a,
                     std::vector<SiteRef>* refs) {
  std::optional<Item> jid, password, inbound, inbound_from;
  auto positive = [&r](Duration* out) {
    return [&r, out](const Item& i) { ReadPositiveDuration(r, i, out); };
  };
  bool ok = r.ReadMap(
      item,
      {
          {"jid",
           [&](const Item& i) {
             std::string text;
             if (!r.ReadString(i, &text)) return;
             Status s = ParseJid(text, &a->jid);
             if (!s.ok()) return r.Fail(i, s.message());
             if (a->jid.local.empty()) {
               return r.Fail(i, "expected user@domain, got '" + text + "'");
             }
             jid = i;
           }},
          {"password",
           [&](const Item& i) {
             if (password)
               return r.Fail(i, "give password or password_file, not both");
             if (!i.value.IsScalar() || i.value.Scalar().empty()) {
               return r.Fail(i, "expected a non-empty string");
             }
             a->password = i.value.Scalar();
             password = i;
           }},
          {"password_file",
           [&](const Item& i) {
             if (password)
               return r.Fail(i, "give password or password_file, not both");
             std::string path;
             if (!r.ReadString(i, &path)) return;
             std::string text;
             Status s = SecretFile::ReadFirstLine(path, &text);
             if (!s.ok()) return r.Fail(i, s.message());
             a->password = text;
             password = i;
           }},
          {"host", [&](const Item& i) { r.ReadString(i, &a->host); }},
          {"port", [&](const Item& i) { r.ReadInt(i, 1, 65535, &a->port); }},
          {"tls",
           [&](const Item& i) {
             r.ReadChoice(i, {"required", "starttls-if-offered", "off"},
                          &a->tls);
           }},
          {"ca_file",
           [&](const Item& i) {
             if (!r.ReadString(i, &a->ca_file)) return;
             if (access(a->ca_file.c_str(), R_OK) != 0) {
               r.Fail(i, a->ca_file + ": cannot read: " + std::strerror(errno));
             }
           }},
          {"allow_plain_without_tls",
           [&](const Item& i) { r.ReadBool(i, &a->allow_plain_without_tls); }},
          {"ping_interval", positive(&a->ping_interval)},
          {"ping_timeout", positive(&a->ping_timeout)},
          {"whitespace_interval", positive(&a->whitespace_interval)},
          {"site",
           [&](const Item& i) {
             if (!r.ReadString(i, &a->site)) return;
             refs->push_back({i, false});
           }},
          {"connect_timeout", positive(&a->connect_timeout)},
          {"reconnect_min", positive(&a->reconnect_min)},
          {"reconnect_max", positive(&a->reconnect_max)},
          {"confirm_interval",
           [&](const Item& i) { r.ReadDuration(i, &a->confirm_interval); }},
          {"inbound",
           [&](const Item& i) {
             ReadInbound(r, i, a, refs);
             inbound = i;
           }},
          {"inbound_from",
           [&](const Item& i) {
             ReadInboundFrom(r, i, &a->inbound_from);
             inbound_from = i;
           }},
      });
  if (!ok || !r.ok()) return;
  if (!jid) return r.FailAtKey(item, "jid is missing (user@domain)");
  if (!password) {
    return r.FailAtKey(item, "password or password_file is missing");
  }
  if (inbound && a->inbound_site.empty()) {
    if (a->site.empty()) {
      return r.Fail(*inbound,
                    "the account has no site: add `site: SITE`, or write "
                    "inbound: { site: SITE, queue: " +
                        a->inbound_queue + " }");
    }
    a->inbound_site = a->site;
  }
  if (inbound_from && !inbound) {
    return r.FailAtKey(*inbound_from,
                       "inbound_from without inbound: the account receives "
                       "no messages");
  }
  if (a->reconnect_max < a->reconnect_min) {
    r.FailAtKey(item, "reconnect_max " + FormatDuration(a->reconnect_max) +
                          " is below reconnect_min " +
                          FormatDuration(a->reconnect_min));
  }
}

void LinkXmppQueues(ConfigReader& r, Config* c) {
  std::map<std::string, std::vector<std::string>> by_site;
  for (const auto& [name, account] : c->xmpp) {
    if (!account.site.empty()) by_site[account.site].push_back(name);
  }
  for (auto& [site_name, site] : c->sites) {
    const auto& accounts = by_site[site_name];
    if (accounts.size() == 1 && site.queues.count("xmpp") == 0) {
      QueueConfig& q = site.queues["xmpp"];
      q.name = "xmpp";
      q.handler = "xmpp";
      q.handler_options = YAML::Node(YAML::NodeType::Map);
      q.line = c->xmpp[accounts[0]].line;
    }
    for (auto& [queue_name, q] : site.queues) {
      if (q.handler != "xmpp") continue;
      YAML::Mark at;
      at.line = q.line - 1;
      at.column = std::max(q.column - 1, 0);
      std::string path = "sites." + site_name + ".queues." + queue_name;
      YAML::Node named = q.handler_options["account"];
      std::string account;
      if (named) {
        YAML::Mark account_at = named.Mark();
        account = named.IsScalar() ? named.Scalar() : "";
        auto it = c->xmpp.find(account);
        if (it == c->xmpp.end() || it->second.site != site_name) {
          r.FailAt(account_at, path + ".account",
                   "no xmpp account '" + account + "' with site: " + site_name);
          continue;
        }
      } else if (accounts.size() != 1) {
        r.FailAt(
            at, path,
            accounts.empty()
                ? "handler xmpp needs an xmpp account with site: " + site_name
                : "site " + site_name +
                      " has several xmpp accounts: name one with "
                      "`account: NAME`");
        continue;
      } else {
        account = accounts[0];
        q.handler_options["account"] = account;
      }
      // A job waits up to ping_timeout for the server's confirmation while
      // it stays pending: past visibility_timeout another daemon holding
      // the same account would take it over and send it twice.
      const XmppAccount& a = c->xmpp.at(account);
      if (q.visibility_timeout <= a.ping_timeout) {
        r.FailAt(at, path,
                 "visibility_timeout " + FormatDuration(q.visibility_timeout) +
                     " must be longer than the ping_timeout " +
                     FormatDuration(a.ping_timeout) + " of xmpp account " +
                     account);
      }
    }
  }
  CheckXmppInbound(r, *c);
}

}  // namespace qd::config_detail
