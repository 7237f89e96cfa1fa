// Job and JobResult: what a QueueHandler receives and returns.
//
// A Job is a view of one stream entry (docs/architecture.md, "Queues in
// Redis"): its strings point into the reply that carried it and are valid only
// during the handler call that received it (copy what you keep). Fields other
// than the well-known ones are carried along in fields() untouched.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qd {

class Job {
 public:
  using Field = std::pair<std::string_view, std::string_view>;

  std::string_view site() const { return site_; }
  std::string_view queue() const { return queue_; }
  // The job id: the `jid` field, or the stream entry id when it had none.
  std::string_view jid() const { return jid_; }
  // The stream entry id ("1700000000000-0").
  std::string_view id() const { return id_; }
  // Failed attempts so far: 0 on the first run.
  int attempt() const { return attempt_; }
  std::string_view payload() const { return payload_; }
  // ms since the epoch; 0 when the enqueuer did not say.
  int64_t enqueued_at_ms() const { return enqueued_at_ms_; }
  // Every field of the entry, in order, the well-known ones included.
  const std::vector<Field>& fields() const { return fields_; }
  // The value of field `name`, or "" when absent.
  std::string_view field(std::string_view name) const {
    for (const auto& f : fields_) {
      if (f.first == name) return f.second;
    }
    return {};
  }

  // For the framework and tests: builds a Job from its parts.
  Job(std::string_view site, std::string_view queue, std::string_view id,
      std::vector<Field> fields);

 private:
  std::string_view site_, queue_, id_, jid_, payload_;
  int attempt_ = 0;
  int64_t enqueued_at_ms_ = 0;
  std::vector<Field> fields_;
};

class JobResult {
 public:
  enum class Kind { kOk, kRetry, kFail };

  static JobResult Ok() { return JobResult(Kind::kOk, {}, kDefaultDelay); }
  // Run again later: after `delay`, or (by default) after the queue's
  // exponential backoff with jitter; dead-lettered after max_attempts.
  static JobResult Retry(std::string reason,
                         std::chrono::milliseconds delay = kDefaultDelay) {
    return JobResult(Kind::kRetry, std::move(reason), delay);
  }
  // Dead-letter now, with `reason` as its error.
  static JobResult Fail(std::string reason) {
    return JobResult(Kind::kFail, std::move(reason), kDefaultDelay);
  }

  Kind kind() const { return kind_; }
  const std::string& reason() const { return reason_; }
  // kDefaultDelay = use the queue's backoff.
  std::chrono::milliseconds delay() const { return delay_; }

  static constexpr std::chrono::milliseconds kDefaultDelay{-1};

 private:
  JobResult(Kind kind, std::string reason, std::chrono::milliseconds delay)
      : kind_(kind), reason_(std::move(reason)), delay_(delay) {}
  Kind kind_;
  std::string reason_;
  std::chrono::milliseconds delay_;
};

}  // namespace qd
