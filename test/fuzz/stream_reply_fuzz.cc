// Fuzz target: the stream-entry decoder (StreamReply) on any reply a Redis
// server could send. The input is RESP: hiredis' reader parses it, with the
// daemon's own reply objects (ReplyArena, as RedisClient installs it), and
// every complete reply goes to ParseRead (XREADGROUP), ParseEntries (the
// reply itself and its second element, XAUTOCLAIM's entries) and
// FirstPending (XPENDING).
//
// Checks the decoded jobs against a plain model of the shapes stream_reply.h
// accepts: ids and fields are exact copies (binary-safe), pairs in order,
// only known streams, with their queue; and FirstPending's count is the
// server's, saturated to an int, never wrapped or negative.
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/queue/stream_reply.h"
#include "core/redis/reply_arena.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using qd::HeldJob;
using qd::StreamReply;

bool IsArray(const redisReply* r, size_t min_elements) {
  return r->type == REDIS_REPLY_ARRAY && r->elements >= min_elements;
}

bool IsString(const redisReply* r) {
  return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS;
}

std::string Text(const redisReply* r) {
  return IsString(r) ? std::string(r->str, r->len) : std::string();
}

// The model: [[id, [field, value, ...] or anything], ...]; an element of
// another shape is skipped, a field list of another type gives no fields,
// an odd last field is dropped, a non-string field or value reads as "".
void ModelEntries(int queue, const redisReply* entries,
                  std::vector<HeldJob>* out) {
  if (!IsArray(entries, 0)) return;
  for (size_t i = 0; i < entries->elements; ++i) {
    const redisReply* e = entries->element[i];
    if (!IsArray(e, 2) || !IsString(e->element[0])) continue;
    HeldJob job;
    job.queue = queue;
    job.id = Text(e->element[0]);
    const redisReply* kv = e->element[1];
    if (kv->type == REDIS_REPLY_ARRAY) {
      for (size_t k = 0; k + 1 < kv->elements; k += 2) {
        job.fields.emplace_back(Text(kv->element[k]), Text(kv->element[k + 1]));
      }
    }
    out->push_back(std::move(job));
  }
}

void CheckSame(const std::vector<HeldJob>& got,
               const std::vector<HeldJob>& want) {
  FUZZ_CHECK(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    FUZZ_CHECK(got[i].queue == want[i].queue);
    FUZZ_CHECK(got[i].id == want[i].id);
    FUZZ_CHECK(got[i].fields == want[i].fields);
    FUZZ_CHECK(got[i].deliveries == 1);
  }
}

// libFuzzer counts one allocation past -rss_limit_mb as out of memory even
// when its pages are never touched (ReplyArena::AllocZeroed calloc's a large
// array), and ASan poisons its shadow when it is freed; so element
// counts past 2^20 (8 MiB of pointers, still past the arena's blocks) fail
// here as a failed allocation would: hiredis reports "Out of memory".
void* (*arena_create_array)(const redisReadTask*, int) = nullptr;

void* CreateArrayBounded(const redisReadTask* task, int elements) {
  return elements > (1 << 20) ? nullptr : arena_create_array(task, elements);
}

// After ReplyArena::Install: the arena's functions, with that bound.
void BoundArrays(redisReader* reader) {
  static redisReplyObjectFunctions functions = [reader] {
    redisReplyObjectFunctions f = *reader->fn;
    arena_create_array = f.createArray;
    f.createArray = CreateArrayBounded;
    return f;
  }();
  reader->fn = &functions;
}

void Check(const redisReply* reply) {
  const StreamReply::QueueIndex queues = {{"a", 0}, {"qd:{s}:q:b", 1}};
  std::vector<HeldJob> got, want;
  StreamReply::ParseRead(reply, queues, &got);
  if (IsArray(reply, 0)) {
    for (size_t i = 0; i < reply->elements; ++i) {
      const redisReply* stream = reply->element[i];
      if (!IsArray(stream, 2) || !IsString(stream->element[0])) continue;
      auto it = queues.find(Text(stream->element[0]));
      if (it != queues.end())
        ModelEntries(it->second, stream->element[1], &want);
    }
  }
  CheckSame(got, want);

  got.clear();
  want.clear();
  StreamReply::ParseEntries(7, reply, &got);
  ModelEntries(7, reply, &want);
  if (IsArray(reply, 2)) {  // XAUTOCLAIM: [cursor, entries, deleted ids]
    StreamReply::ParseEntries(8, reply->element[1], &got);
    ModelEntries(8, reply->element[1], &want);
  }
  CheckSame(got, want);

  std::string id = "\x01untouched";
  int deliveries = -1;
  const bool pending = StreamReply::FirstPending(reply, &id, &deliveries);
  const redisReply* row = IsArray(reply, 1) ? reply->element[0] : nullptr;
  const bool want_pending = row != nullptr && IsArray(row, 4) &&
                            IsString(row->element[0]) &&
                            row->element[3]->type == REDIS_REPLY_INTEGER;
  FUZZ_CHECK(pending == want_pending);
  if (pending) {
    FUZZ_CHECK(id == Text(row->element[0]));
    long long count = row->element[3]->integer;
    FUZZ_CHECK(deliveries == std::clamp<long long>(count, 0, INT_MAX));
  } else {
    FUZZ_CHECK(id == "\x01untouched" && deliveries == -1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qd::ReplyArena arena;  // outlives the reader, as in RedisClient
  redisReader* reader = redisReaderCreate();
  arena.Install(reader);
  BoundArrays(reader);
  redisReaderFeed(reader, reinterpret_cast<const char*>(data), size);
  void* reply = nullptr;
  while (redisReaderGetReply(reader, &reply) == REDIS_OK && reply != nullptr) {
    Check(static_cast<const redisReply*>(reply));
    reader->fn->freeObject(reply);
    reply = nullptr;
  }
  redisReaderFree(reader);
  return 0;
}
