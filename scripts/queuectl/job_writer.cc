#include "scripts/queuectl/job_writer.h"

#include <chrono>

namespace qd::ctl {

namespace {
const JobCommands::Fields kNoFields;
}  // namespace

JobWriter::JobWriter(std::string_view prefix, std::string_view site,
                     std::string_view queue, Duration delay)
    : commands_(prefix, site, queue),
      delay_(delay),
      rng_(std::random_device{}()) {}

std::string JobWriter::Add(std::string_view payload, std::string_view jid,
                           int64_t now_ms, RespBuffer* out) {
  if (!delayed()) {
    out->Add(commands_.Now(payload, kNoFields, jid, now_ms));
    return std::string(jid);
  }
  std::string id =
      jid.empty() ? JobCommands::RandomJid(&rng_) : std::string(jid);
  out->Add(
      commands_.Later(payload, kNoFields, id, now_ms, now_ms + delay_.count()));
  return id;
}

void JobWriter::AddUnique(std::string_view payload, std::string_view jid,
                          int64_t now_ms, std::string_view unique_key,
                          Duration unique_for, RespBuffer* out) {
  out->Add(commands_.Unique(payload, kNoFields, jid, now_ms, unique_key,
                            unique_for.count()));
}

int64_t JobWriter::NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

}  // namespace qd::ctl
