// The --json view of a Report: one object per interval, printed on one
// line, for scripts:
//   {"ts": EPOCH_MS, "interval_ms": N, "datagrams": N,
//    "rows": [{"host", "id", "slot", "site", "queue", "jobs_per_s",
//              "failures_per_s", "p50_ms", "p99_ms", "rss", "state"}],
//    "other": [{"name", "type", "tags": {K: V}, "rate", "value", "count",
//               "p50", "p99"}],
//    "bad_lines": N, "last_error": TEXT|null}
// Every key is always present; a value that is unknown or does not apply
// to the type is null (see report.h). "type" is a StatsdTypeName.
// Pure function.
#pragma once

#include <nlohmann/json.hpp>

#include "scripts/queuemon/report.h"

namespace qd::mon {

nlohmann::json RenderJson(const Report& report);

}  // namespace qd::mon
