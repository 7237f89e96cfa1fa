// FetchGate: an optional second base class of a built-in QueueHandler that
// decides whether this worker fetches the queue's jobs now.
//
// A SiteConsumer asks every queue's gate before each read and each
// XAUTOCLAIM; a closed gate leaves the queue's jobs in the stream, where
// another worker (or this one later) takes them, instead of fetching jobs
// that could only fail. The xmpp handler opens its gate only in the worker
// that holds the account's link, and only while the link is ready. When a
// gate opens, QueueManager::GatesChanged() makes the sites fetch again.
// Internal for now: plugins do not see it.
#pragma once

namespace qd {

class FetchGate {
 public:
  virtual ~FetchGate() = default;
  virtual bool FetchOpen() const = 0;
};

}  // namespace qd
