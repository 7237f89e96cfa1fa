// The master's /metrics view of a MonitorSnapshot (docs/monitoring.md):
// the Prometheus text that HttpMonitor serves.
//
// A pure function on plain data: no I/O and no clock, so it is tested
// without processes and is safe to call from any thread.
#pragma once

#include <string>

#include "core/monitor/monitor_snapshot.h"

namespace qd {

// The Prometheus text exposition format 0.0.4, every family prefixed
// `queuedaemon_` with its HELP and TYPE, counters ending in `_total`, as
// `promtool check metrics` wants. Labels are minimal (state, slot, site,
// queue, stream, listener): Prometheus adds the instance itself. Unknown values
// (-1 queue depths, a slot without a process's start time) are left out
// rather than reported as numbers; counters missing from
// snapshot.counters are 0.
std::string RenderPrometheus(const MonitorSnapshot& snapshot);

}  // namespace qd
