// XmppInboundMessage: what one received <message> stanza becomes when its
// account has an `inbound` queue (docs/xmpp.md, "Receiving messages"), and
// the rules that decide whether it becomes a job at all.
//
// Taken: type chat, normal or none (RFC 6121 5.2.2: none means normal),
// with a <body>. Left alone, counted but neither logged nor an error:
//   - groupchat: from a room, and the account joins none;
//   - headline: notices that expect no answer (pubsub events, server
//     announcements), which servers never store offline either;
//   - error: a bounce of a message the account sent (the xmpp handler
//     already counted it delivered: the server took it);
//   - no <body>: chat states, receipts, typing notifications.
// Refused: a sender whose bare JID is not in inbound_from (when the list is
// not empty), or a `from` that is not a valid JID.
//
// The job: the stream entry's fields `from`, `to`, `body`, `type`, `id`
// (when the stanza had one), `delay` (XEP-0203 stamp, when the server
// stored the message offline) and `received_at` (ms since the epoch, also
// as `enqueued_at`), and a `payload` holding the same as one JSON object,
// for handlers that see only the payload (exec, log). The body's size is
// bounded by the stream's stanza limit (XmppStream, 1 MiB).
// Plain values and functions: safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/config/xmpp_account.h"
#include "core/xmpp/xmpp_stream.h"

namespace qd {

struct XmppInboundMessage {
  enum class Verdict {
    kJob,         // *out holds the message
    kIgnored,     // not a message for a job (see the top)
    kNotAllowed,  // the sender is not in inbound_from
    kBadFrom      // `from` is not a valid JID
  };

  // Reads `stanza` (any stanza of a ready stream) received at `now_ms`.
  // On kNotAllowed and kBadFrom, out->from holds the sender as written,
  // for the log line.
  static Verdict From(const XmlElement& stanza, const XmppAccount& account,
                      int64_t now_ms, XmppInboundMessage* out);

  // The stream entry, field after field: payload, enqueued_at, from, to,
  // body, type, id (if any), delay (if any), received_at.
  std::vector<std::pair<std::string, std::string>> Fields() const;
  // {"from", "to", "body", "type", "id"?, "delay"?, "received_at"}, with
  // received_at a number.
  std::string Payload() const;

  std::string from;  // the full JID the server stamped
  std::string to;    // as addressed: our bare or full JID
  std::string body;
  std::string type;   // chat | normal
  std::string id;     // the stanza's id; "" when it had none
  std::string delay;  // XEP-0203 stamp ("2024-05-01T10:00:00Z"), or ""
  int64_t received_at_ms = 0;
};

}  // namespace qd
