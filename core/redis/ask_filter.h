// AskFilter: which commands of one connection to a Redis Cluster node may
// be sent again to the importing node when the node answers ASK (a slot
// migrating, the key already moved): RedisClient and RedisConn ask it as
// they send each command.
//
// Not followed:
//   - scripts (EVAL, EVALSHA, FCALL and their _RO forms): a script may
//     touch keys it does not declare (the promoter derives its streams, the
//     enqueue function its lock), and the importing node, asked, would
//     create such a key anew while the migrating node still holds it;
//   - MULTI, EXEC, DISCARD and every command between them: a queued command
//     runs at EXEC on the node that queued it, and ASKING counts for the
//     next command only (the node answers EXECABORT to the EXEC, or ASK to
//     the EXEC itself).
// Those fail with the ASK as before; their owners retry.
//
// A value per connection; Reset() on every new connection.
#pragma once

#include <string_view>

namespace qd {

class AskFilter {
 public:
  // `command` (its name, any case) is being sent: may it follow ASK? Notes
  // MULTI, EXEC and DISCARD.
  bool Followable(std::string_view command);
  void Reset() { in_multi_ = false; }

 private:
  bool in_multi_ = false;  // MULTI sent, EXEC or DISCARD not yet
};

}  // namespace qd
