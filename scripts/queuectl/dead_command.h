// DeadCommand: `queuectl dead list|retry|purge SITE QUEUE`: the jobs of a
// queue that ran out of attempts (PREFIX:{SITE}:dead:QUEUE).
//
//   list  [--count N] [--json]     the oldest N entries (0 = all)
//   retry ID... | --all            back to the queue (see DeadRetrier)
//   purge --older-than D | --all   drop entries dead-lettered more than D
//                                  ago (by entry id: XTRIM MINID), or all
// An id that is not in the dead stream makes retry exit 1 after moving the
// others.
#pragma once

#include <string>
#include <vector>

#include "scripts/queuectl/command.h"
#include "core/queue/dead_entry.h"

namespace qd::ctl {

class DeadCommand : public Command {
 public:
  explicit DeadCommand(CLI::App* parent);
  int Run(CtlContext* ctx) override;

 private:
  CLI::App* AddSub(const char* name, const char* help);
  // Checks site/queue (or _malformed, but not for retry) and connects;
  // returns an exit code, kExitOk if done.
  int Open(CtlContext* ctx, const SiteConfig** site, RedisConn** conn) const;
  int List(CtlContext* ctx);
  int Retry(CtlContext* ctx);
  int Purge(CtlContext* ctx);
  void PrintJson(const std::vector<DeadEntry>& entries, long long total) const;
  static void PrintTable(const std::vector<DeadEntry>& entries,
                         long long total);
  // Printable, at most `width` columns: control and non-ASCII bytes escaped.
  static std::string Clip(std::string_view text, size_t width);
  static std::string Time(std::string_view ms);
  static bool IsEntryId(const std::string& id);

  CLI::App* list_ = nullptr;
  CLI::App* retry_ = nullptr;
  CLI::App* purge_ = nullptr;
  std::string site_;
  std::string queue_;
  int count_ = 20;
  bool json_ = false;
  std::vector<std::string> ids_;
  bool all_ = false;
  std::string older_than_;
};

}  // namespace qd::ctl
