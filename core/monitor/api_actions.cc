#include "core/monitor/api_actions.h"

#include <chrono>
#include <random>

#include "core/control/control_message.h"
#include "core/queue/dead_script.h"
#include "core/queue/job_commands.h"
#include "core/queue/periodic_runner.h"
#include "core/queue/queue_keys.h"

namespace qd {
namespace {

using nlohmann::json;

// Answers a dead-letter script call: {"ok", "count", "more", "limit"}.
void AnswerDead(const ApiCall& call, redisReply* r, bool bulk) {
  if (r == nullptr) return (void)call.Failed(r);
  DeadScript::Reply reply;
  std::string why;
  if (!DeadScript::Parse(r, &reply, &why))
    return call.Fail(500, "redis: " + why);
  if (!bulk) {
    if (reply.moved == 0) return call.Fail(404, "no such dead job");
    return call.Reply({{"ok", true}});
  }
  call.Reply({{"ok", true},
              {"count", reply.moved},
              {"more", reply.more},
              {"limit", DeadScript::kMaxPerCall}});
}

// XDEL of one id: 404 when it was not there.
void DeleteEntry(const ApiCall& call, RedisClient* redis,
                 const std::string& key, const std::string& id,
                 const char* what) {
  call.Send(redis, {"XDEL", key, id}, [call, what](redisReply* r) {
    if (call.Failed(r)) return;
    if (r->integer == 0) return call.Fail(404, std::string("no such ") + what);
    call.Reply({{"ok", true}});
  });
}

std::string NewJid() {
  static std::mt19937_64 rng{std::random_device{}()};
  return JobCommands::RandomJid(&rng);
}

struct EnqueueBody {
  std::string payload;
  JobCommands::Fields fields;  // the extra ones, in the body's order
  int64_t delay_ms = 0;
  std::string unique_key;
  int64_t unique_for_ms = 0;
};

// Checks the body; "" when good, else why.
std::string ParseEnqueue(const std::string& text, EnqueueBody* out) {
  json body = json::parse(text, nullptr, false);
  if (!body.is_object()) return "the body must be a JSON object";
  auto payload = body.find("payload");
  if (payload == body.end() || !payload->is_string()) {
    return "\"payload\" (a string) is required";
  }
  out->payload = payload->get<std::string>();
  for (auto& [key, value] : body.items()) {
    if (key == "payload") continue;
    if (key == "fields") {
      if (!value.is_object()) return "\"fields\" must be an object of strings";
      for (auto& [name, v] : value.items()) {
        if (!v.is_string()) return "fields." + name + " must be a string";
        if (name == "payload" || name == "queue" || name == "enqueued_at" ||
            name == "unique_key" || name == "unique_for") {
          return "fields." + name + " is set by the daemon or the body";
        }
        out->fields.emplace_back(name, v.get<std::string>());
      }
    } else if (key == "delay_ms" || key == "unique_for_ms") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
          value.get<int64_t>() > ApiActions::kMaxDelayMs) {
        return "\"" + key + "\" must be a whole number of ms from 0 to " +
               std::to_string(ApiActions::kMaxDelayMs);
      }
      (key == "delay_ms" ? out->delay_ms : out->unique_for_ms) =
          value.get<int64_t>();
    } else if (key == "unique_key") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return "\"unique_key\" must be a string, not empty";
      }
      out->unique_key = value.get<std::string>();
    } else {
      return "unknown key \"" + key + "\"";
    }
  }
  if (!out->unique_key.empty() && out->delay_ms > 0) {
    return "unique_key and delay_ms together are not supported";
  }
  if (out->unique_for_ms > 0 && out->unique_key.empty()) {
    return "unique_for_ms needs unique_key";
  }
  return "";
}

}  // namespace

int64_t ApiActions::NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

void ApiActions::RetryDead(const ApiCall& call, RedisClient* redis,
                           const SiteConfig& site, const std::string& queue,
                           const std::string& id) {
  call.Send(
      redis,
      DeadScript::RetryIds(QueueKeys::Dead(site.prefix, site.name, queue),
                           QueueKeys::Stream(site.prefix, site.name, queue),
                           {id}, NowMs()),
      [call](redisReply* r) { AnswerDead(call, r, false); });
}

void ApiActions::DeleteDead(const ApiCall& call, RedisClient* redis,
                            const SiteConfig& site, const std::string& queue,
                            const std::string& id) {
  DeleteEntry(call, redis, QueueKeys::Dead(site.prefix, site.name, queue), id,
              "dead job");
}

void ApiActions::RetryAllDead(const ApiCall& call, RedisClient* redis,
                              const SiteConfig& site,
                              const std::string& queue) {
  call.Send(
      redis,
      DeadScript::RetryUpTo(QueueKeys::Dead(site.prefix, site.name, queue),
                            QueueKeys::Stream(site.prefix, site.name, queue),
                            "+", DeadScript::kMaxPerCall, NowMs()),
      [call](redisReply* r) { AnswerDead(call, r, true); });
}

void ApiActions::PurgeDead(const ApiCall& call, RedisClient* redis,
                           const SiteConfig& site, const std::string& queue) {
  call.Send(
      redis,
      DeadScript::PurgeUpTo(QueueKeys::Dead(site.prefix, site.name, queue), "+",
                            DeadScript::kMaxPerCall),
      [call](redisReply* r) { AnswerDead(call, r, true); });
}

void ApiActions::DeleteJob(const ApiCall& call, RedisClient* redis,
                           const SiteConfig& site, const std::string& queue,
                           const std::string& id) {
  DeleteEntry(call, redis, QueueKeys::Stream(site.prefix, site.name, queue), id,
              "job");
}

void ApiActions::Enqueue(const ApiCall& call, RedisClient* redis,
                         const SiteConfig& site, const std::string& queue,
                         const std::string& text) {
  EnqueueBody body;
  std::string why = ParseEnqueue(text, &body);
  if (!why.empty()) return call.Fail(400, why);
  int64_t now = NowMs();
  JobCommands commands(site.prefix, site.name, queue);
  if (body.delay_ms > 0) {
    // The member needs a jid: the body's, else a new one.
    const std::string* given = nullptr;
    for (const auto& [name, value] : body.fields) {
      if (name == "jid") given = &value;
    }
    std::string jid = given != nullptr ? *given : NewJid();
    const JobCommands::Command& zadd =
        commands.Later(body.payload, body.fields, given != nullptr ? "" : jid,
                       now, NowMs() + body.delay_ms);
    call.Send(redis, {zadd.begin(), zadd.end()}, [call, jid](redisReply* r) {
      if (call.Failed(r)) return;
      call.Reply({{"ok", true}, {"id", nullptr}, {"jid", jid}});
    });
    return;
  }
  const JobCommands::Command& command =
      body.unique_key.empty()
          ? commands.Now(body.payload, body.fields, "", now)
          : commands.Unique(body.payload, body.fields, "", now, body.unique_key,
                            body.unique_for_ms);
  call.Send(redis, {command.begin(), command.end()}, [call](redisReply* r) {
    if (call.Failed(r)) return;
    if (r->type == REDIS_REPLY_NIL) {
      return call.Fail(409, "a job holding this unique_key is queued already");
    }
    call.Reply({{"ok", true}, {"id", std::string(ReplyString(r))}});
  });
}

void ApiActions::Control(const ApiCall& call, RedisClient* redis,
                         const std::string& cmd, const std::string& site,
                         const std::string& secret) {
  ControlCommand command = ControlCommand::Make(cmd);
  command.site = site;
  call.Send(redis,
            {"PUBLISH", kControlChannel, SealControl(command.Encode(), secret)},
            [call](redisReply* r) {
              if (call.Failed(r)) return;
              call.Reply({{"ok", true}, {"daemons", r->integer}});
            });
}

void ApiActions::RunPeriodic(const ApiCall& call, RedisClient* redis,
                             const SiteConfig& site,
                             const PeriodicConfig& entry) {
  call.Send(redis, PeriodicRunner::RunNowCommand(site, entry, NowMs()),
            [call](redisReply* r) {
              PeriodicRunner::Outcome o = PeriodicRunner::ParseReply(r);
              if (o.kind == PeriodicRunner::Outcome::kLost) {
                return (void)call.Failed(nullptr);
              }
              if (o.kind != PeriodicRunner::Outcome::kEnqueued) {
                return call.Fail(500, "periodic run: " + o.detail);
              }
              call.Reply({{"ok", true}, {"id", o.detail}});
            });
}

}  // namespace qd
