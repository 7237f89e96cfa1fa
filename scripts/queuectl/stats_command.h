// StatsCommand: `queuectl stats [SITE] [--json]`: ready, pending and dead
// jobs of every configured queue, the delayed jobs of each site, the
// streams under a site's queue keys that no configured queue serves, with
// their length, and what each limit holds (see StatsReader for what each
// number counts).
//
// A site whose Redis fails is reported (stderr; "error" in JSON) and the
// others are still shown; the exit code is then 1. A look for unserved
// streams that failed or was cut short is said on stderr and does not
// change the exit code.
#pragma once

#include <string>
#include <vector>

#include "scripts/queuectl/command.h"
#include "scripts/queuectl/stats_reader.h"

namespace qd::ctl {

class StatsCommand : public Command {
 public:
  explicit StatsCommand(CLI::App* parent);
  int Run(CtlContext* ctx) override;

 private:
  // One site's result: its numbers, or why there are none.
  struct Result {
    SiteStats stats;
    Status status;
  };

  Status Sites(const CtlContext& ctx,
               std::vector<const SiteConfig*>* out) const;
  static Result ReadSite(CtlContext* ctx, const SiteConfig& site);
  // What stderr says about the site's look for unserved streams.
  static void NoteUnserved(const SiteStats& stats);
  static void PrintTable(const std::vector<Result>& results);
  static void PrintLimits(const std::vector<Result>& results);
  static void PrintJson(const std::vector<Result>& results);

  std::string site_;
  bool json_ = false;
};

}  // namespace qd::ctl
