// The `xmpp:` section of the config (one XmppAccount per entry), and the
// tie between `xmpp` queues and the accounts that send their jobs.
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

namespace qd::config_detail {

void ReadXmppAccount(ConfigReader& r, const Item& item, XmppAccount* a,
                     std::vector<SiteRef>* refs) {
  std::optional<Item> jid, password;
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
      });
  if (!ok || !r.ok()) return;
  if (!jid) return r.FailAtKey(item, "jid is missing (user@domain)");
  if (!password) {
    return r.FailAtKey(item, "password or password_file is missing");
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
}

}  // namespace qd::config_detail
