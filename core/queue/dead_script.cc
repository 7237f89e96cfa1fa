#include "core/queue/dead_script.h"

#include <hiredis/hiredis.h>

namespace qd {
namespace {

std::vector<std::string> Head(const std::string& dead_key,
                              const std::string& stream_key, int64_t now_ms,
                              const char* mode) {
  return {"EVAL",   kDeadScript, "2",
          dead_key, stream_key,  std::to_string(now_ms),
          mode};
}

}  // namespace

std::vector<std::string> DeadScript::RetryIds(
    const std::string& dead_key, const std::string& stream_key,
    const std::vector<std::string>& ids, int64_t now_ms) {
  std::vector<std::string> command = Head(dead_key, stream_key, now_ms, "ids");
  command.insert(command.end(), ids.begin(), ids.end());
  return command;
}

std::vector<std::string> DeadScript::RetryUpTo(const std::string& dead_key,
                                               const std::string& stream_key,
                                               const std::string& last_id,
                                               int64_t limit, int64_t now_ms) {
  std::vector<std::string> command = Head(dead_key, stream_key, now_ms, "upto");
  command.push_back(last_id);
  command.push_back(std::to_string(limit));
  return command;
}

std::vector<std::string> DeadScript::PurgeUpTo(const std::string& dead_key,
                                               const std::string& last_id,
                                               int64_t limit) {
  // The stream key is not touched; the dead key stands in for it so that
  // both keys stay in the site's Cluster slot.
  std::vector<std::string> command = Head(dead_key, dead_key, 0, "purge");
  command.push_back(last_id);
  command.push_back(std::to_string(limit));
  return command;
}

bool DeadScript::Parse(const redisReply* r, Reply* out, std::string* why) {
  if (r == nullptr) {
    *why = "connection lost";
    return false;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    *why = std::string(r->str, r->len);
    return false;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
      r->element[0]->type != REDIS_REPLY_INTEGER ||
      r->element[1]->type != REDIS_REPLY_INTEGER) {
    *why = "unexpected reply to the dead-letter script";
    return false;
  }
  out->moved = r->element[0]->integer;
  out->more = r->element[1]->integer != 0;
  for (size_t i = 2; i < r->elements; ++i) {
    const redisReply* e = r->element[i];
    if (e->type == REDIS_REPLY_STRING)
      out->missing.emplace_back(e->str, e->len);
  }
  return true;
}

}  // namespace qd
