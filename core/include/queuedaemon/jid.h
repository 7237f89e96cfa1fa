// Jid and ParseJid: XMPP addresses (RFC 7622), checked before they go into
// a config, a stanza or a log line.
//
// Part of the plugin API: a handler that sends through XmppSender checks
// its recipients with it before a message goes out (the xmpp handler does).
// Implemented in core/util/jid.cc, which the daemon exports to plugins.
// Plain values and functions without shared state: safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "queuedaemon/status.h"

namespace qd {

// An XMPP address, local@domain/resource (RFC 7622).
struct Jid {
  std::string local;     // may be empty
  std::string domain;    // never empty; ASCII letters lower-cased
  std::string resource;  // may be empty

  std::string Bare() const;  // local@domain, or domain
  std::string Full() const;  // Bare(), then /resource when there is one
};

// Checks and splits `text`. Each part is at most 1023 bytes of valid
// UTF-8 without spaces or control characters; the domain is required
// (a trailing dot is dropped) and is a host name, an IPv4 address or an
// [IPv6] literal; the local part has none of " & ' / : < > @; a '@' or '/'
// that is present must have a non-empty part after it. This is a sanity
// check, not RFC 7622's PRECIS profiles: no case folding or normalisation
// beyond lower-casing ASCII in the domain, so two spellings of one address
// can pass as different JIDs. On error *out is unspecified.
Status ParseJid(std::string_view text, Jid* out);

}  // namespace qd
