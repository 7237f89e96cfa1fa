#include "scripts/queuectl/bulk_enqueuer.h"

#include <cstdlib>
#include <string_view>

namespace qd::ctl {

Status BulkEnqueuer::Run(FILE* in) {
  char* line = nullptr;
  size_t capacity = 0;
  int64_t now = JobWriter::NowMs();
  Status s;
  for (ssize_t n; s.ok() && (n = getline(&line, &capacity, in)) >= 0;) {
    std::string_view payload(line, static_cast<size_t>(n));
    if (!payload.empty() && payload.back() == '\n') payload.remove_suffix(1);
    if (!payload.empty() && payload.back() == '\r') payload.remove_suffix(1);
    if (payload.empty()) continue;
    writer_->Add(payload, {}, now, &batch_);
    if (batch_.commands() >= kBatch) {
      s = Send();
      now = JobWriter::NowMs();
    }
  }
  std::free(line);
  if (s.ok() && std::ferror(in)) s = Status::Error("reading stdin failed");
  if (s.ok()) s = Send();
  if (s.ok()) s = Collect(in_flight_);
  if (!s.ok()) return s;
  if (failed_ > 0) {
    return conn_->Error(std::to_string(failed_) +
                        " jobs refused, the first: " + first_error_);
  }
  return Status::Ok();
}

Status BulkEnqueuer::Send() {
  size_t sent = batch_.commands();
  if (sent == 0) return Status::Ok();
  conn_->AppendRaw(batch_);
  batch_.Clear();
  Status s = Collect(in_flight_);
  in_flight_ = sent;
  return s;
}

Status BulkEnqueuer::Collect(size_t replies) {
  for (; replies > 0; --replies, --in_flight_) {
    ReplyPtr r;
    Status s = conn_->Read(&r);
    if (!s.ok()) return s;
    if (r->type != REDIS_REPLY_ERROR) {
      ++enqueued_;
    } else if (failed_++ == 0) {
      first_error_.assign(r->str, r->len);
    }
  }
  return Status::Ok();
}

}  // namespace qd::ctl
