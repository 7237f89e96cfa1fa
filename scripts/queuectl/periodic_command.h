// PeriodicCommand: `queuectl periodic [SITE] [--json]`: each periodic entry
// of the config with its cron, time zone, queue and missed policy, its next
// run (computed here from the config and the clock, as the daemon does) and
// its last run (the tick recorded in the site's PREFIX:{SITE}:periodic hash
// by whichever daemon enqueued it). Times are shown in the entry's zone.
//
// A site whose Redis fails is reported (stderr; "error" in JSON), its
// entries shown without a last run, and the exit code is 1.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "scripts/queuectl/command.h"

namespace qd::ctl {

class PeriodicCommand : public Command {
 public:
  explicit PeriodicCommand(CLI::App* parent);
  int Run(CtlContext* ctx) override;

 private:
  // One site: its recorded ticks by entry name ("" = none), or why not.
  struct SiteRuns {
    const SiteConfig* site = nullptr;
    std::map<std::string, std::string> last;
    Status status;
  };

  static SiteRuns ReadSite(CtlContext* ctx, const SiteConfig& site);
  static void PrintTable(const std::vector<SiteRuns>& sites, int64_t now_ms);
  static void PrintJson(const std::vector<SiteRuns>& sites, int64_t now_ms);

  std::string site_;
  bool json_ = false;
};

}  // namespace qd::ctl
