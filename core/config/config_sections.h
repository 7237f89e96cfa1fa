// Internal to the config loader; nothing but config*.cc includes this (the
// interface is config.h). It declares what the loader's files share: the
// checks and readers that several sections use (defined in
// config_common.cc), and the readers of the sections that have a file of
// their own: listeners (config_listeners.cc) and xmpp accounts
// (config_xmpp.cc). Error messages follow ConfigReader's conventions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config.h"
#include "core/config/config_reader.h"
#include "core/config/xmpp_account.h"
#include "core/util/units.h"

namespace qd::config_detail {

using Item = ConfigReader::Item;

// Site and queue names end up inside Redis keys ("qd:{SITE}:q:QUEUE"), so
// braces, which delimit the cluster hash tag, are out.
inline constexpr char kNameExtra[] = "_.:-";

// A queue a periodic entry names, checked once the whole document is read:
// queues may come after the entry, and LinkXmppQueues may add the site's
// `xmpp` queue.
struct QueueRef {
  Item item;  // the entry's `queue: NAME`
  std::string site;
};

// A site a listener or an xmpp account names, checked once the whole
// document is read: sites may come after listeners in the file.
struct SiteRef {
  Item item;
  bool at_key;  // `sites: { NAME: ... }` names it by key, `site: NAME` by value
};

// --- Shared checks and readers (config_common.cc) ---

// True when `text` is non-empty and made of letters, digits and `extra`.
bool IsName(std::string_view text, std::string_view extra);

// "host:port" with a non-empty host ("[::1]" for IPv6) and port 1..65535.
bool IsHostPort(std::string_view text);

// Fails at the key of `item` unless it is a name of letters, digits and
// kNameExtra; `what` says what it names ("site", "queue", "listener").
void CheckName(ConfigReader& r, const Item& item, const char* what);

// A string of letters, digits and `extra` (daemon.id, a site's prefix).
void ReadToken(ConfigReader& r, const Item& item, std::string_view extra,
               std::string* out);

// A host:port that IsHostPort accepts.
void ReadHostPort(ConfigReader& r, const Item& item, std::string* out);

// A duration other than 0.
void ReadPositiveDuration(ConfigReader& r, const Item& item, Duration* out);

// Every site a listener or an xmpp account names must be configured; the
// error says which are (or which one was probably meant).
void CheckSiteRefs(ConfigReader& r, const std::vector<SiteRef>& refs,
                   const std::map<std::string, SiteConfig>& sites);

// --- Periodic jobs (config_periodic.cc) ---

// A site's `periodic:` section. The queues the entries name are added to
// *refs.
void ReadPeriodic(ConfigReader& r, const Item& item, SiteConfig* site,
                  std::vector<QueueRef>* refs);

// Every queue a periodic entry names must be a queue of its site.
void CheckQueueRefs(ConfigReader& r, const std::vector<QueueRef>& refs,
                    const std::map<std::string, SiteConfig>& sites);
// --- Limits (config_limits.cc) ---

// A site's `limits:` section: NAME: { concurrency: N, rate: N/WINDOW }.
void ReadLimits(ConfigReader& r, const Item& item,
                std::map<std::string, LimitConfig>* limits);

// A queue's `limit: NAME`, checked once its whole site is read (`limits:`
// may come after `queues:`): the limit must be one of `limits`.
void CheckLimitRefs(ConfigReader& r, const std::vector<Item>& refs,
                    const std::map<std::string, LimitConfig>& limits);

// --- Redis (config_redis.cc) ---

// The top-level `redis:` (`server_binary` set) or a site's (`server_binary`
// null): a url, or a map with url, username and password_file or
// password_env. The password is read here; messages never hold it.
void ReadRedisEndpoint(ConfigReader& r, const Item& item, RedisEndpoint* e,
                       std::string* server_binary);

// --- Listeners (config_listeners.cc) ---

// The `listeners:` section. Sites the listeners name are added to *refs.
// Two listeners on one address are refused, at the second one.
void ReadListeners(ConfigReader& r, const Item& item,
                   std::map<std::string, ListenerConfig>* listeners,
                   std::vector<SiteRef>* refs);

// --- XMPP (config_xmpp.cc) ---

// One xmpp account. jid and a password (inline or from password_file) are
// required; the password never appears in a message. The site it names, if
// any, is added to *refs.
void ReadXmppAccount(ConfigReader& r, const Item& item, XmppAccount* a,
                     std::vector<SiteRef>* refs);

// Ties every queue whose handler is `xmpp` to the account that sends its
// jobs (its `account` option, or the site's only account), and gives a site
// with exactly one account and no `xmpp` queue of its own an implicit one.
// Then checks that each account's `inbound` names a queue its site has.
// REQUIRES: sites and xmpp accounts are read and their site refs checked.
void LinkXmppQueues(ConfigReader& r, Config* c);

}  // namespace qd::config_detail
