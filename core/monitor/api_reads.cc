#include "core/monitor/api_reads.h"

#include <cstdlib>
#include <memory>
#include <vector>

#include "core/queue/dead_entry.h"
#include "core/queue/delayed_job.h"
#include "core/queue/queue_keys.h"

namespace qd {
namespace {

using nlohmann::json;

// A page of entries (XRANGE or XREVRANGE of count + 1) and its "next".
json Page(const redisReply* range, int count, json* next) {
  std::vector<DeadEntry> entries;
  DeadEntry::FromRange(*range, &entries);
  *next = nullptr;
  if (entries.size() > static_cast<size_t>(count)) {
    entries.resize(count);
    *next = entries.back().id;
  }
  json jobs = json::array();
  for (const DeadEntry& e : entries) jobs.push_back(json(e.ToJson()));
  return jobs;
}

// A dead entry: the dead-letter fields beside the job's own.
json DeadJob(json entry) {
  json fields = entry["fields"];
  json job = {{"id", entry["id"]},
              {"error", nullptr},
              {"failed_at", nullptr},
              {"attempts", nullptr}};
  for (const char* name : {"error", "failed_at", "attempts"}) {
    auto it = fields.find(name);
    if (it == fields.end()) continue;
    std::string text = it->get<std::string>();
    bool number = std::string(name) != "error" && !text.empty() &&
                  text.find_first_not_of("0123456789") == std::string::npos;
    job[name] =
        number ? json(std::strtoll(text.c_str(), nullptr, 10)) : json(text);
    fields.erase(it);
  }
  job["fields"] = fields;
  return job;
}

// The group's last delivered id from XINFO GROUPS ("" when no group).
std::string LastDelivered(const redisReply* groups) {
  for (size_t g = 0; groups->type == REDIS_REPLY_ARRAY && g < groups->elements;
       ++g) {
    const redisReply* map = groups->element[g];
    std::string name, last;
    for (size_t i = 0; map->type == REDIS_REPLY_ARRAY && i + 1 < map->elements;
         i += 2) {
      std::string_view key = ReplyString(map->element[i]);
      if (key == "name") name = ReplyString(map->element[i + 1]);
      if (key == "last-delivered-id") last = ReplyString(map->element[i + 1]);
    }
    if (name == QueueKeys::kGroup) return last;
  }
  return "";
}

void Range(const ApiCall& call, RedisClient* redis, const std::string& key,
           const std::string& start, int count) {
  call.Send(redis,
            {"XRANGE", key, start, "+", "COUNT", std::to_string(count + 1)},
            [call, count](redisReply* r) {
              if (call.Failed(r)) return;
              json next;
              json jobs = Page(r, count, &next);
              call.Reply({{"jobs", jobs}, {"next", next}});
            });
}

}  // namespace

void ApiReads::Jobs(const ApiCall& call, RedisClient* redis,
                    const SiteConfig& site, const std::string& queue,
                    const std::string& cursor, int count) {
  std::string key = QueueKeys::Stream(site.prefix, site.name, queue);
  if (!cursor.empty()) return Range(call, redis, key, "(" + cursor, count);
  call.Send(
      redis, {"XINFO", "GROUPS", key},
      [call, redis, key, count](redisReply* r) {
        if (r == nullptr) return (void)call.Failed(r);
        // No stream yet: no jobs; no group yet: every entry is ready.
        std::string last;
        if (r->type == REDIS_REPLY_ERROR) {
          if (ReplyString(r).find("no such key") == std::string_view::npos) {
            return (void)call.Failed(r);
          }
          return call.Reply({{"jobs", json::array()}, {"next", nullptr}});
        }
        last = LastDelivered(r);
        Range(call, redis, key, last.empty() ? "-" : "(" + last, count);
      });
}

void ApiReads::Dead(const ApiCall& call, RedisClient* redis,
                    const SiteConfig& site, const std::string& queue,
                    const std::string& cursor, int count) {
  std::string key = QueueKeys::Dead(site.prefix, site.name, queue);
  auto total = std::make_shared<int64_t>(-1);
  if (!call.Send(redis, {"XLEN", key}, [call, total](redisReply* r) {
        if (r != nullptr && r->type == REDIS_REPLY_INTEGER) *total = r->integer;
      })) {
    return;
  }
  std::string end = cursor.empty() ? "+" : "(" + cursor;
  call.Send(redis,
            {"XREVRANGE", key, end, "-", "COUNT", std::to_string(count + 1)},
            [call, total, count](redisReply* r) {
              if (call.Failed(r)) return;
              json next;
              json jobs = json::array();
              for (json& e : Page(r, count, &next)) jobs.push_back(DeadJob(e));
              call.Reply({{"total", *total < 0 ? json(nullptr) : json(*total)},
                          {"jobs", jobs},
                          {"next", next}});
            });
}

void ApiReads::Delayed(const ApiCall& call, RedisClient* redis,
                       const SiteConfig& site, int64_t offset, int count) {
  std::string key = QueueKeys::Delayed(site.prefix, site.name);
  auto total = std::make_shared<int64_t>(-1);
  if (!call.Send(redis, {"ZCARD", key}, [total](redisReply* r) {
        if (r != nullptr && r->type == REDIS_REPLY_INTEGER) *total = r->integer;
      })) {
    return;
  }
  call.Send(
      redis,
      {"ZRANGE", key, std::to_string(offset),
       std::to_string(offset + count - 1), "WITHSCORES"},
      [call, total](redisReply* r) {
        if (call.Failed(r)) return;
        json jobs = json::array();
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
          std::string member(ReplyString(r->element[i]));
          DelayedJob job;
          bool parsed = DelayedJob::Decode(member, &job).ok();
          jobs.push_back(
              {{"due", std::strtoll(
                           std::string(ReplyString(r->element[i + 1])).c_str(),
                           nullptr, 10)},
               {"queue", parsed ? json(job.queue) : json(nullptr)},
               {"member", member}});
        }
        call.Reply({{"total", *total < 0 ? json(nullptr) : json(*total)},
                    {"jobs", jobs}});
      });
}

}  // namespace qd
