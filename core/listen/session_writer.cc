#include "core/listen/session_writer.h"

#include <event2/event.h>

#include <utility>

#include "core/listen/client_conn.h"
#include "core/listen/session_record.h"

namespace qd {

SessionWriter::SessionWriter(event_base* base, const ListenerConfig& config,
                             SessionStore store)
    : config_(config), store_(std::move(store)) {
  timer_ = evtimer_new(base, &SessionWriter::OnTimer, this);
}

SessionWriter::~SessionWriter() { event_free(timer_); }

void SessionWriter::Changed(ClientConn* conn) {
  changed_.emplace(conn->serial(), conn);
  if (!evtimer_pending(timer_, nullptr)) {
    timeval tv = ToTimeval(kSaveDelay);
    evtimer_add(timer_, &tv);
  }
}

void SessionWriter::Closed(const ClientConn& conn) {
  changed_.erase(conn.serial());
  // Saves go out on the store's connection in order: the DEL comes after.
  if (saved_.erase(conn.serial()) != 0 && store_.forget) {
    store_.forget(SessionRecord::Key(config_.prefix, conn.id()));
  }
}

void SessionWriter::OnTimer(int, short, void* arg) {
  static_cast<SessionWriter*>(arg)->SaveAll();
}

void SessionWriter::SaveAll() {
  std::map<uint64_t, ClientConn*> changed;
  changed.swap(changed_);
  if (!store_.save) return;
  for (const auto& [serial, c] : changed) {
    SessionRecord record;
    record.listener = config_.name;
    record.ok = !c->account().empty();
    record.site = c->site();
    record.account = c->account();
    record.state = c->session();
    record.updated_ms = EpochMs();
    store_.save(SessionRecord::Key(config_.prefix, c->id()), record.Encode(),
                config_.session_ttl);
    saved_.insert(serial);
  }
}

}  // namespace qd
