// StatusLine: the daemon in one line for a person, the STATUS= that
// systemd shows in `systemctl status` (ServiceNotifier sends it):
//   "4 workers, 1234 jobs done (3 failed), 56.0 jobs/s"
//   "3 of 4 workers ready, ..."        a slot is starting or being replaced
//   "stopping: draining 4 workers, 1234 jobs done"
// followed by "; Redis: WHY" while the daemon's Redis does not answer the
// master. A pure function of a MonitorSnapshot, like the HTTP renderers.
#pragma once

#include <string>

#include "core/monitor/monitor_snapshot.h"

namespace qd {

// `jobs_per_s`: the rate over the master's last monitor tick.
std::string StatusLine(const MonitorSnapshot& s, double jobs_per_s);

}  // namespace qd
