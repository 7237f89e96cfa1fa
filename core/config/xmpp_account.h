// XmppAccount: one `xmpp:` entry of the config, validated by the loader
// (jid parsed, password read from password_file, tls a known mode, site
// configured, inbound queue configured); XmppLink connects with it. The
// password is never logged.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "queuedaemon/jid.h"

namespace qd {

struct XmppAccount {
  std::string name;  // the config key, for log lines: "alerts"
  std::string site;  // the site whose `xmpp` jobs it sends ("" = none yet)
  Jid jid;           // the resource, if any, is requested at bind time
  std::string password;
  std::string host;  // "" = the JID's domain
  int port = 5222;
  std::string tls = "required";  // required | starttls-if-offered | off
  std::string ca_file;           // "" = the system's trust store
  bool allow_plain_without_tls = false;
  std::chrono::milliseconds ping_interval{120000};
  std::chrono::milliseconds ping_timeout{30000};
  std::chrono::milliseconds whitespace_interval{60000};
  // Connect, TLS, SASL and bind must be done within this, or the attempt
  // counts as failed (a stopped server accepts TCP and never answers).
  std::chrono::milliseconds connect_timeout{30000};
  std::chrono::milliseconds reconnect_min{1000};
  std::chrono::milliseconds reconnect_max{300000};
  // How often the confirmation poller looks for due entries in
  // PREFIX:{SITE}:xmpp:confirm (0 = no poller).
  std::chrono::milliseconds confirm_interval{10000};
  // Received messages become jobs of queue `inbound_queue` of site
  // `inbound_site` (docs/xmpp.md, "Receiving messages"); "" = the account
  // receives nothing. The loader checked that the queue is configured.
  std::string inbound_site;
  std::string inbound_queue;
  // The bare JIDs whose messages are taken, as written (compared without
  // regard to ASCII case); empty = anyone's.
  std::vector<std::string> inbound_from;
  int line = 0;  // 1-based position in the config file, for messages
  // 1-based position of the `inbound` value, for messages about its queue.
  int inbound_line = 0;
  int inbound_column = 0;

  bool receives() const { return !inbound_queue.empty(); }
};

}  // namespace qd
