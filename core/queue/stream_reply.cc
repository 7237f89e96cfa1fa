#include "core/queue/stream_reply.h"

#include <algorithm>
#include <climits>
#include <string_view>

namespace qd {
namespace {

bool IsArray(const redisReply* r, size_t min_elements) {
  return r != nullptr && r->type == REDIS_REPLY_ARRAY &&
         r->elements >= min_elements;
}

bool IsString(const redisReply* r) {
  return r != nullptr && r->str != nullptr &&
         (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

std::string_view Str(const redisReply* r) {
  return IsString(r) ? std::string_view(r->str, r->len) : std::string_view();
}

}  // namespace

void StreamReply::ParseRead(const redisReply* reply, const QueueIndex& queues,
                            std::vector<HeldJob>* out) {
  if (!IsArray(reply, 0)) return;
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* stream = reply->element[i];
    if (!IsArray(stream, 2) || !IsString(stream->element[0])) continue;
    auto it = queues.find(std::string(Str(stream->element[0])));
    if (it != queues.end()) ParseEntries(it->second, stream->element[1], out);
  }
}

void StreamReply::ParseEntries(int queue, const redisReply* entries,
                               std::vector<HeldJob>* out) {
  if (!IsArray(entries, 0)) return;
  for (size_t i = 0; i < entries->elements; ++i) {
    const redisReply* e = entries->element[i];
    if (!IsArray(e, 2) || !IsString(e->element[0])) continue;
    HeldJob job;
    job.queue = queue;
    job.id = std::string(Str(e->element[0]));
    const redisReply* kv = e->element[1];
    if (IsArray(kv, 0)) {
      job.fields.reserve(kv->elements / 2);
      for (size_t k = 0; k + 1 < kv->elements; k += 2) {
        job.fields.emplace_back(Str(kv->element[k]), Str(kv->element[k + 1]));
      }
    }
    out->push_back(std::move(job));
  }
}

bool StreamReply::FirstPending(const redisReply* reply, std::string* id,
                               int* deliveries) {
  if (!IsArray(reply, 1)) return false;
  const redisReply* row = reply->element[0];
  if (!IsArray(row, 4) || !IsString(row->element[0]) ||
      row->element[3]->type != REDIS_REPLY_INTEGER) {
    return false;
  }
  *id = std::string(Str(row->element[0]));
  // Saturated, not truncated: a count past INT_MAX must not wrap to a small
  // or negative one (the poison-job check subtracts 1 from it).
  *deliveries = static_cast<int>(
      std::clamp<long long>(row->element[3]->integer, 0, INT_MAX));
  return true;
}

}  // namespace qd
