#include "scripts/queuectl/enqueue_command.h"

#include <chrono>
#include <cstdio>
#include <string_view>

#include "core/queue/enqueue_library_loader.h"
#include "core/queue/queue_keys.h"
#include "core/util/units.h"
#include "scripts/queuectl/bulk_enqueuer.h"
#include "scripts/queuectl/exit_code.h"

namespace qd::ctl {
namespace {
constexpr Duration kMaxReplicasTimeout{25000};
}  // namespace

EnqueueCommand::EnqueueCommand(CLI::App* parent) {
  app_ = parent->add_subcommand("enqueue", "add a job (or many) to a queue");
  app_->add_option("site", site_, "the site")->required();
  app_->add_option("queue", queue_, "the queue")->required();
  app_->add_option("payload", payload_,
                   "the payload; '-' or none: read stdin (use -- before a "
                   "payload that starts with '-')");
  app_->add_option("--delay", delay_, "run after this long (e.g. 30s, 5m)");
  app_->add_option("--jid", jid_, "the job id (one job only)");
  app_->add_option("--unique-key", unique_key_,
                   "refuse the job while one with this key is held in the "
                   "queue (exit 4; docs/unique-jobs.md)");
  app_->add_option("--unique-for", unique_for_,
                   "with --unique-key: hold the key at most this long "
                   "(default 24h)");
  app_->add_flag("--bulk", bulk_, "one job per stdin line, pipelined");
  app_->add_flag("--any-queue", any_queue_,
                 "allow a queue that the config does not list");
  app_->add_flag("--stats", stats_, "with --bulk: print the rate on stderr");
  app_->add_option("--replicas", replicas_,
                   "then wait until this many replicas have the job(s) "
                   "(Redis WAIT), so that a failover cannot lose them");
  app_->add_option("--replicas-timeout", replicas_timeout_,
                   "how long --replicas waits (default 1s)");
}

int EnqueueCommand::Run(CtlContext* ctx) {
  const SiteConfig* site = nullptr;
  Duration delay{0};
  Status s = Check(ctx, &site, &delay);
  if (!s.ok()) return Fail(kExitUsage, s);
  RedisConn* conn = nullptr;
  s = ctx->Connect(*site, &conn);
  if (!s.ok()) return Fail(kExitRuntime, s);
  JobWriter writer(site->prefix, site->name, queue_, delay);
  int code = bulk_ ? RunBulk(conn, &writer) : RunOne(conn, &writer, *site);
  if (code != kExitOk || replicas_ == 0) return code;
  return WaitForReplicas(conn);
}

// WAIT counts the replicas that have every write of this connection so
// far. Fewer than asked: the jobs are in the master, but a failover now
// could lose them (asynchronous replication).
int EnqueueCommand::WaitForReplicas(RedisConn* conn) {
  Duration timeout{1000};
  if (!replicas_timeout_.empty()) {
    (void)ParseDuration(replicas_timeout_, &timeout);  // Check() read it
  }
  std::string n = std::to_string(replicas_);
  std::string ms = std::to_string(timeout.count());
  ReplyPtr r;
  Status s = conn->Call({"WAIT", n, ms}, &r);
  if (!s.ok()) return Fail(kExitRuntime, s);
  if (r->type != REDIS_REPLY_INTEGER) {
    return Fail(kExitRuntime, conn->Error("WAIT: not an integer reply"));
  }
  if (r->integer >= replicas_) return kExitOk;
  return Fail(kExitRuntime,
              Status::Error("enqueued, but only " + std::to_string(r->integer) +
                            " of " + n + " replicas had it within " +
                            FormatDuration(timeout) +
                            ": a failover now could lose it"));
}

Status EnqueueCommand::Check(CtlContext* ctx, const SiteConfig** site,
                             Duration* delay) const {
  Status s = ctx->Site(site_, site);
  if (!s.ok()) return s;
  if (queue_.empty() || queue_.find_first_of("{}") != std::string::npos) {
    return Status::Error("bad queue name '" + queue_ +
                         "': must be non-empty, without braces");
  }
  if (!any_queue_) {
    s = ctx->Queue(**site, queue_);
    if (!s.ok()) return Status::Error(s.message() + "; --any-queue allows it");
  }
  if (!delay_.empty()) {
    s = ParseDuration(delay_, delay);
    if (!s.ok()) return Status::Error("--delay: " + s.message());
  }
  if (bulk_ && payload_ != "-") {
    return Status::Error("--bulk reads payloads from stdin, not an argument");
  }
  if (bulk_ && !jid_.empty()) {
    return Status::Error("--jid names one job; it cannot go with --bulk");
  }
  s = CheckUnique();
  if (!s.ok()) return s;
  if (replicas_ < 0) return Status::Error("--replicas: must be 0 or more");
  if (!replicas_timeout_.empty()) {
    Duration timeout;
    s = ParseDuration(replicas_timeout_, &timeout);
    if (!s.ok()) return Status::Error("--replicas-timeout: " + s.message());
    // WAIT 0 waits for ever; the connection's replies time out at 30 s.
    if (timeout.count() == 0 || timeout > kMaxReplicasTimeout) {
      return Status::Error("--replicas-timeout: " + replicas_timeout_ +
                           ": give 1ms to " +
                           FormatDuration(kMaxReplicasTimeout));
    }
  }
  return Status::Ok();
}

Status EnqueueCommand::CheckUnique() const {
  if (unique_key_.empty()) {
    if (!unique_for_.empty()) {
      return Status::Error("--unique-for goes with --unique-key");
    }
    return Status::Ok();
  }
  // A delayed job takes no lock; a bulk enqueue has one key per job.
  if (!delay_.empty()) {
    return Status::Error("--unique-key cannot go with --delay");
  }
  if (bulk_) return Status::Error("--unique-key cannot go with --bulk");
  if (!unique_for_.empty()) {
    Duration d;
    Status s = ParseDuration(unique_for_, &d);
    if (!s.ok()) return Status::Error("--unique-for: " + s.message());
    if (d.count() <= 0) return Status::Error("--unique-for: must be above 0");
  }
  return Status::Ok();
}

int EnqueueCommand::RunOne(RedisConn* conn, JobWriter* writer,
                           const SiteConfig& site) {
  std::string payload = payload_;
  if (payload == "-" && !ReadAll(stdin, &payload)) {
    return Fail(kExitRuntime, Status::Error("reading stdin failed"));
  }
  if (!unique_key_.empty()) return RunUnique(conn, writer, site, payload);
  RespBuffer command;
  std::string jid = writer->Add(payload, jid_, JobWriter::NowMs(), &command);
  conn->AppendRaw(command);
  ReplyPtr r;
  Status s = conn->Read(&r);
  if (s.ok() && r->type == REDIS_REPLY_ERROR) {
    s = conn->Error(std::string(r->str, r->len));
  }
  if (!s.ok()) return Fail(kExitRuntime, s);
  if (writer->delayed()) {
    std::printf("%s\n", jid.c_str());
  } else {
    std::printf("%.*s\n", static_cast<int>(r->len), r->str);
  }
  return kExitOk;
}

// FCALL first: the library is there nearly always. "Function not found"
// (a new server, or one restarted without persistence): load it and call
// again.
int EnqueueCommand::RunUnique(RedisConn* conn, JobWriter* writer,
                              const SiteConfig& site,
                              const std::string& payload) {
  Duration unique_for{0};
  if (!unique_for_.empty()) {
    (void)ParseDuration(unique_for_, &unique_for);  // Check() read it
  }
  RespBuffer command;
  writer->AddUnique(payload, jid_, JobWriter::NowMs(), unique_key_, unique_for,
                    &command);
  ReplyPtr r;
  conn->AppendRaw(command);
  Status s = conn->Read(&r);
  if (s.ok() && r->type == REDIS_REPLY_ERROR &&
      std::string_view(r->str, r->len).rfind("ERR Function not found", 0) ==
          0) {
    auto loaded = EnqueueLibraryLoader::Ensure(conn);
    if (loaded.result != EnqueueLibraryLoader::Result::kLoaded &&
        loaded.result != EnqueueLibraryLoader::Result::kPresent) {
      return Fail(kExitRuntime,
                  conn->Error(EnqueueLibraryLoader::Describe(loaded)));
    }
    conn->AppendRaw(command);
    s = conn->Read(&r);
  }
  if (!s.ok()) return Fail(kExitRuntime, s);
  if (r->type == REDIS_REPLY_ERROR) {
    return Fail(kExitRuntime, conn->Error(std::string(r->str, r->len)));
  }
  if (r->type == REDIS_REPLY_NIL) {
    std::string lock =
        QueueKeys::UniqueLocks(site.prefix, site.name, queue_) + unique_key_;
    std::fprintf(stderr,
                 "queuectl: duplicate: a job with unique_key %s is held in "
                 "queue %s (lock %s); nothing enqueued\n",
                 unique_key_.c_str(), queue_.c_str(), lock.c_str());
    return kExitDuplicate;
  }
  std::printf("%.*s\n", static_cast<int>(r->len), r->str);
  return kExitOk;
}

int EnqueueCommand::RunBulk(RedisConn* conn, JobWriter* writer) {
  auto start = std::chrono::steady_clock::now();
  BulkEnqueuer bulk(conn, writer);
  Status s = bulk.Run(stdin);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::printf("%llu\n", static_cast<unsigned long long>(bulk.enqueued()));
  if (stats_) {
    std::fprintf(stderr, "queuectl: %llu jobs in %.3f s: %.0f jobs/s\n",
                 static_cast<unsigned long long>(bulk.enqueued()), took.count(),
                 bulk.enqueued() / took.count());
  }
  return s.ok() ? kExitOk : Fail(kExitRuntime, s);
}

bool EnqueueCommand::ReadAll(FILE* in, std::string* out) {
  out->clear();
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), in)) > 0;) {
    out->append(buf, n);
  }
  return !std::ferror(in);
}

}  // namespace qd::ctl
