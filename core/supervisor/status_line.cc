#include "core/supervisor/status_line.h"

#include <fmt/format.h>

#include <cstdint>

namespace qd {
namespace {

int64_t Counter(const MonitorSnapshot& s, const std::string& name) {
  auto it = s.counters.find(name);
  return it == s.counters.end() ? 0 : it->second;
}

std::string Workers(int n) {
  return fmt::format("{} worker{}", n, n == 1 ? "" : "s");
}

}  // namespace

std::string StatusLine(const MonitorSnapshot& s, double jobs_per_s) {
  int64_t failed = Counter(s, "jobs.failed");
  int64_t done = failed + Counter(s, "jobs.handled");
  std::string line;
  if (s.shutting_down) {
    line = "stopping: draining " + Workers(s.LiveWorkers());
  } else if (s.ReadyWorkers() == s.threads) {
    line = Workers(s.threads);
  } else {
    line = fmt::format("{} of {} workers ready", s.ReadyWorkers(), s.threads);
  }
  line += fmt::format(", {} jobs done", done);
  if (failed > 0) line += fmt::format(" ({} failed)", failed);
  if (!s.shutting_down) line += fmt::format(", {:.1f} jobs/s", jobs_per_s);
  if (!s.redis_ok) line += "; Redis: " + s.redis_error;
  return line;
}

}  // namespace qd
