#include "core/queue/job_commands.h"

#include <cstdio>

#include "core/queue/queue_keys.h"

namespace qd {

JobCommands::JobCommands(std::string_view prefix, std::string_view site,
                         std::string_view queue)
    : queue_(queue),
      stream_key_(QueueKeys::Stream(prefix, site, queue)),
      delayed_key_(QueueKeys::Delayed(prefix, site)) {}

void JobCommands::AddFields(std::string_view payload, const Fields& extra,
                            std::string_view jid) {
  command_.insert(command_.end(), {"payload", payload});
  for (const auto& [name, value] : extra) {
    command_.insert(command_.end(), {name, value});
  }
  if (!jid.empty()) command_.insert(command_.end(), {"jid", jid});
  command_.insert(command_.end(), {"enqueued_at", now_});
}

const JobCommands::Command& JobCommands::Now(std::string_view payload,
                                             const Fields& extra,
                                             std::string_view jid,
                                             int64_t now_ms) {
  now_ = std::to_string(now_ms);
  command_.assign({"XADD", stream_key_, "*"});
  AddFields(payload, extra, jid);
  return command_;
}

const JobCommands::Command& JobCommands::Unique(
    std::string_view payload, const Fields& extra, std::string_view jid,
    int64_t now_ms, std::string_view unique_key, int64_t unique_for_ms) {
  now_ = std::to_string(now_ms);
  number_ = std::to_string(unique_for_ms);
  command_.assign({"FCALL", "qd_enqueue", "1", stream_key_});
  AddFields(payload, extra, jid);
  command_.insert(command_.end(), {"unique_key", unique_key});
  if (unique_for_ms > 0)
    command_.insert(command_.end(), {"unique_for", number_});
  return command_;
}

const JobCommands::Command& JobCommands::Later(std::string_view payload,
                                               const Fields& extra,
                                               std::string_view jid,
                                               int64_t now_ms, int64_t due_ms) {
  // The member is JSON of strings (DelayedJob::Encode), built from the
  // same fields an XADD would carry.
  now_ = std::to_string(now_ms);
  command_.clear();
  AddFields(payload, extra, jid);
  Fields fields;
  fields.reserve(command_.size() / 2);
  for (size_t i = 0; i + 1 < command_.size(); i += 2) {
    fields.emplace_back(command_[i], command_[i + 1]);
  }
  member_ = DelayedJob::Encode(queue_, fields);
  number_ = std::to_string(due_ms);
  command_.assign({"ZADD", delayed_key_, number_, member_});
  return command_;
}

std::string JobCommands::RandomJid(std::mt19937_64* rng) {
  char hex[33];
  std::snprintf(hex, sizeof(hex), "%016llx%016llx",
                static_cast<unsigned long long>((*rng)()),
                static_cast<unsigned long long>((*rng)()));
  return hex;
}

}  // namespace qd
