#include "scripts/queuectl/dead_retrier.h"

#include <algorithm>

#include "scripts/queuectl/job_writer.h"

namespace qd::ctl {
namespace {

// A batch is read again at most this often when the dead stream keeps
// changing under it.
constexpr int kMaxAttempts = 50;

bool IsWellKnown(std::string_view name) {
  return name == "payload" || name == "jid" || name == "attempt" ||
         name == "enqueued_at";
}

}  // namespace

DeadRetrier::DeadRetrier(RedisConn* conn, std::string dead_key,
                         std::string stream_key)
    : conn_(conn),
      dead_key_(std::move(dead_key)),
      stream_key_(std::move(stream_key)) {}

Status DeadRetrier::RetryIds(const std::vector<std::string>& given,
                             std::vector<std::string>* missing) {
  // An id given twice would be fetched and moved twice in one transaction.
  std::vector<std::string> ids;
  for (const std::string& id : given) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  for (size_t at = 0; at < ids.size(); at += kBatch) {
    std::vector<std::string> batch(
        ids.begin() + at, ids.begin() + std::min(ids.size(), at + kBatch));
    std::vector<std::string> batch_missing;
    size_t count = 0;
    Status s = Move(
        [&](std::vector<DeadEntry>* out) {
          batch_missing.clear();
          return FetchIds(batch, out, &batch_missing);
        },
        &count);
    if (!s.ok()) return s;
    missing->insert(missing->end(), batch_missing.begin(), batch_missing.end());
  }
  return Status::Ok();
}

Status DeadRetrier::RetryAll() {
  ReplyPtr last;
  Status s =
      conn_->Call({"XREVRANGE", dead_key_, "+", "-", "COUNT", "1"}, &last);
  std::vector<DeadEntry> newest;
  if (s.ok()) DeadEntry::FromRange(*last, &newest);
  if (!s.ok() || newest.empty()) return s;
  for (size_t count = 1; s.ok() && count > 0;) {
    s = Move(
        [&](std::vector<DeadEntry>* out) {
          return FetchUpTo(newest[0].id, out);
        },
        &count);
  }
  return s;
}

Status DeadRetrier::Move(const Fetch& fetch, size_t* count) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    Status s = conn_->Call({"WATCH", dead_key_});
    std::vector<DeadEntry> entries;
    if (s.ok()) s = fetch(&entries);
    if (s.ok() && entries.empty()) s = conn_->Call({"UNWATCH"});
    if (!s.ok() || entries.empty()) {
      *count = 0;
      return s;
    }
    bool done = false;
    s = Transaction(entries, &done);
    if (!s.ok()) return s;
    if (done) {
      *count = entries.size();
      moved_ += entries.size();
      return Status::Ok();
    }
  }
  return conn_->Error(dead_key_ + " kept changing; " + std::to_string(moved_) +
                      " entries moved, try again");
}

Status DeadRetrier::Transaction(const std::vector<DeadEntry>& entries,
                                bool* done) {
  std::string now = std::to_string(JobWriter::NowMs());
  conn_->Append({"MULTI"});
  for (const DeadEntry& e : entries) {
    AppendXadd(e, now);
    conn_->Append({"XDEL", dead_key_, e.id});
  }
  conn_->Append({"EXEC"});
  std::string error;
  for (size_t i = 0; i < 1 + 2 * entries.size(); ++i) {  // +OK, QUEUED...
    ReplyPtr r;
    Status s = conn_->Read(&r);
    if (!s.ok()) return s;
    if (r->type == REDIS_REPLY_ERROR && error.empty()) error = r->str;
  }
  ReplyPtr exec;
  Status s = conn_->Read(&exec);
  if (!s.ok()) return s;
  if (!error.empty()) return conn_->Error("dead retry: " + error);
  if (exec->type == REDIS_REPLY_ERROR) {
    return conn_->Error("dead retry: " + std::string(exec->str, exec->len));
  }
  *done = exec->type == REDIS_REPLY_ARRAY;  // nil: WATCH saw a change
  return Status::Ok();
}

Status DeadRetrier::FetchIds(const std::vector<std::string>& ids,
                             std::vector<DeadEntry>* out,
                             std::vector<std::string>* missing) {
  for (const std::string& id : ids) {
    conn_->Append({"XRANGE", dead_key_, id, id, "COUNT", "1"});
  }
  Status first;
  for (const std::string& id : ids) {
    ReplyPtr r;
    Status s = conn_->Read(&r);
    if (!s.ok()) return s;
    if (r->type == REDIS_REPLY_ERROR && first.ok()) {
      first = conn_->Error("XRANGE " + id + ": " + r->str);
    }
    size_t before = out->size();
    DeadEntry::FromRange(*r, out);
    if (out->size() == before) missing->push_back(id);
  }
  return first;
}

Status DeadRetrier::FetchUpTo(const std::string& last_id,
                              std::vector<DeadEntry>* out) {
  ReplyPtr r;
  Status s = conn_->Call(
      {"XRANGE", dead_key_, "-", last_id, "COUNT", std::to_string(kBatch)}, &r);
  if (s.ok()) DeadEntry::FromRange(*r, out);
  return s;
}

void DeadRetrier::AppendXadd(const DeadEntry& entry, const std::string& now) {
  std::string_view jid = entry.Field("jid");
  if (jid.empty()) jid = entry.Field("origin_id");
  std::vector<std::string_view> args = {"XADD", stream_key_, "*", "payload",
                                        entry.Field("payload")};
  if (!jid.empty()) args.insert(args.end(), {"jid", jid});
  args.insert(args.end(), {"attempt", "0", "enqueued_at", now});
  for (const auto& [key, value] : entry.fields) {
    if (IsWellKnown(key) || DeadEntry::IsDeadField(key)) continue;
    args.insert(args.end(), {key, value});
  }
  conn_->Append(args);
}

}  // namespace qd::ctl
