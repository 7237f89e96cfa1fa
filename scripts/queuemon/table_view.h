// The human view of a Report: a title line, the daemon's table (one line
// per host/id/slot/site/queue: jobs/s, failures/s, p50/p99 of job.duration,
// RSS, state) and the "other metrics" table, columns aligned. Unknown
// values print as "-". Pure function: the caller decides where it goes and
// whether the screen is cleared first.
#pragma once

#include <string>

#include "scripts/queuemon/report.h"

namespace qd::mon {

// `listen` is the bound address, for the title line.
std::string RenderTable(const Report& report, const std::string& listen);

}  // namespace qd::mon
