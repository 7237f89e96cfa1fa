// EnqueueCommand: `queuectl enqueue SITE QUEUE [PAYLOAD|-]`.
//
// One job: the payload is the argument, or all of stdin (byte for byte,
// trailing newline included) when it is "-" or missing; prints the stream
// entry id, or the jid for a delayed job. `--bulk`: one job per stdin line
// (see BulkEnqueuer), prints how many were enqueued; `--stats` adds the
// rate on stderr. `--delay D` puts the job(s) in the site's delayed set,
// due D from now. The queue must be configured for the site unless
// `--any-queue` is given. `--replicas N` then waits (Redis WAIT, at most
// `--replicas-timeout`, 1 s) until N replicas have the job(s) and fails
// when fewer do: with asynchronous replication, a job the master accepted
// and no replica had yet is lost if the master dies before it is copied.
// `--unique-key K [--unique-for D]`: one job through FCALL qd_enqueue
// (docs/unique-jobs.md), loading the function library first when the
// server lacks it; a job with the same key held in the queue makes it a
// duplicate: nothing is enqueued, stderr says so, exit kExitDuplicate.
#pragma once

#include <string>

#include "scripts/queuectl/command.h"
#include "scripts/queuectl/job_writer.h"

namespace qd::ctl {

class EnqueueCommand : public Command {
 public:
  explicit EnqueueCommand(CLI::App* parent);
  int Run(CtlContext* ctx) override;

 private:
  // Checks the arguments against the config; usage errors only.
  Status Check(CtlContext* ctx, const SiteConfig** site, Duration* delay) const;
  Status CheckUnique() const;
  int RunOne(RedisConn* conn, JobWriter* writer, const SiteConfig& site);
  int RunUnique(RedisConn* conn, JobWriter* writer, const SiteConfig& site,
                const std::string& payload);
  int RunBulk(RedisConn* conn, JobWriter* writer);
  static bool ReadAll(FILE* in, std::string* out);
  int WaitForReplicas(RedisConn* conn);

  std::string site_;
  std::string queue_;
  std::string payload_ = "-";
  std::string delay_;
  std::string jid_;
  std::string unique_key_;
  std::string unique_for_;
  bool bulk_ = false;
  bool any_queue_ = false;
  bool stats_ = false;
  int replicas_ = 0;
  std::string replicas_timeout_;
};

}  // namespace qd::ctl
