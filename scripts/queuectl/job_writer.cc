#include "scripts/queuectl/job_writer.h"

#include <chrono>
#include <cstdio>
#include <vector>

#include "core/queue/delayed_job.h"
#include "core/queue/queue_keys.h"

namespace qd::ctl {

JobWriter::JobWriter(std::string_view prefix, std::string_view site,
                     std::string_view queue, Duration delay)
    : queue_(queue),
      stream_key_(QueueKeys::Stream(prefix, site, queue)),
      delayed_key_(QueueKeys::Delayed(prefix, site)),
      delay_(delay),
      rng_(std::random_device{}()) {}

std::string JobWriter::Add(std::string_view payload, std::string_view jid,
                           int64_t now_ms, RespBuffer* out) {
  std::string now = std::to_string(now_ms);
  if (!delayed()) {
    if (jid.empty()) {
      out->Add(
          {"XADD", stream_key_, "*", "payload", payload, "enqueued_at", now});
    } else {
      out->Add({"XADD", stream_key_, "*", "payload", payload, "jid", jid,
                "enqueued_at", now});
    }
    return std::string(jid);
  }
  std::string id = jid.empty() ? NewJid() : std::string(jid);
  std::string member = DelayedJob::Encode(
      queue_,
      {{"payload", std::string(payload)}, {"jid", id}, {"enqueued_at", now}});
  out->Add(
      {"ZADD", delayed_key_, std::to_string(now_ms + delay_.count()), member});
  return id;
}

void JobWriter::AddUnique(std::string_view payload, std::string_view jid,
                          int64_t now_ms, std::string_view unique_key,
                          Duration unique_for, RespBuffer* out) const {
  std::string now = std::to_string(now_ms);
  std::string ms = std::to_string(unique_for.count());
  std::vector<std::string_view> args = {"FCALL",     "qd_enqueue", "1",
                                        stream_key_, "payload",    payload};
  if (!jid.empty()) args.insert(args.end(), {"jid", jid});
  args.insert(args.end(), {"enqueued_at", now, "unique_key", unique_key});
  if (unique_for.count() > 0) args.insert(args.end(), {"unique_for", ms});
  out->Add(args);
}

int64_t JobWriter::NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

std::string JobWriter::NewJid() {
  char hex[33];
  std::snprintf(hex, sizeof(hex), "%016llx%016llx",
                static_cast<unsigned long long>(rng_()),
                static_cast<unsigned long long>(rng_()));
  return hex;
}

}  // namespace qd::ctl
