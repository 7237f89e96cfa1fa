// Fuzz target: the Redis Cluster slot map (ClusterSlots::Parse) and the
// MOVED/ASK parsing (ParseRedirect) on anything a node could send. The input
// is RESP: hiredis' reader parses it with the daemon's own reply objects
// (ReplyArena, as RedisClient installs it); every complete reply goes to
// Parse, every error or status text (and the whole input) to ParseRedirect.
//
// Checks Parse against a plain model that marks each slot in a 16384-entry
// table (where ClusterSlots sorts ranges and searches them): the reply is
// accepted exactly when the model accepts it, then every slot has the
// model's master; a refused reply leaves the previous map as it was. A
// redirect that parses has a slot and port in range and reads back the same
// from its own text.
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/redis/cluster_slots.h"
#include "core/redis/reply_arena.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using qd::ClusterNode;
using qd::ClusterRedirect;
using qd::ClusterSlots;
using qd::kClusterSlotCount;

constexpr char kAsked[] = "asked.example";

// Element counts past 2^20 fail as an allocation would (see
// stream_reply_fuzz.cc: libFuzzer's -rss_limit_mb counts the calloc).
void* (*arena_create_array)(const redisReadTask*, int) = nullptr;

void* CreateArrayBounded(const redisReadTask* task, int elements) {
  return elements > (1 << 20) ? nullptr : arena_create_array(task, elements);
}

void BoundArrays(redisReader* reader) {
  static redisReplyObjectFunctions functions = [reader] {
    redisReplyObjectFunctions f = *reader->fn;
    arena_create_array = f.createArray;
    f.createArray = CreateArrayBounded;
    return f;
  }();
  reader->fn = &functions;
}

std::string_view Text(const redisReply* r) {
  return r->str != nullptr ? std::string_view(r->str, r->len)
                           : std::string_view();
}

bool HostOk(std::string_view h) {
  if (h.size() > ClusterSlots::kMaxHost) return false;
  for (char c : h) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '[' ||
        c == ']') {
      return false;
    }
  }
  return true;
}

// 1: a node, 0: unknown endpoint ("?"), -1: malformed.
int ModelNode(const redisReply* n, ClusterNode* out) {
  if (n->type != REDIS_REPLY_ARRAY || n->elements < 2) return -1;
  const redisReply* host = n->element[0];
  const redisReply* port = n->element[1];
  if (port->type != REDIS_REPLY_INTEGER || port->integer < 1 ||
      port->integer > 65535) {
    return -1;
  }
  std::string_view h;
  if (host->type == REDIS_REPLY_STRING) {
    h = Text(host);
  } else if (host->type != REDIS_REPLY_NIL) {
    return -1;
  }
  if (h == "?") return 0;
  if (!HostOk(h)) return -1;
  out->host = h.empty() ? kAsked : std::string(h);
  out->port = static_cast<int>(port->integer);
  return 1;
}

bool InSlots(const redisReply* r) {
  return r->type == REDIS_REPLY_INTEGER && r->integer >= 0 &&
         r->integer < kClusterSlotCount;
}

constexpr int kUncovered = -1;
constexpr int kUnserved = -2;

// The model: each slot's master as an index into `masters` in `table`
// (kUncovered, kUnserved); false when the reply is refused.
bool Model(const redisReply* reply, std::vector<int>* table,
           std::vector<ClusterNode>* masters) {
  table->assign(kClusterSlotCount, kUncovered);
  masters->clear();
  if (reply->type != REDIS_REPLY_ARRAY ||
      reply->elements > static_cast<size_t>(kClusterSlotCount)) {
    return false;
  }
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* e = reply->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
        e->elements > 3 + ClusterSlots::kMaxReplicas) {
      return false;
    }
    if (!InSlots(e->element[0]) || !InSlots(e->element[1]) ||
        e->element[0]->integer > e->element[1]->integer) {
      return false;
    }
    ClusterNode master;
    int m = ModelNode(e->element[2], &master);
    if (m < 0) return false;
    for (size_t k = 3; k < e->elements; ++k) {
      ClusterNode replica;
      if (ModelNode(e->element[k], &replica) < 0) return false;
    }
    int index = kUnserved;
    if (m == 1) {
      index = static_cast<int>(masters->size());
      masters->push_back(std::move(master));
    }
    for (long long s = e->element[0]->integer; s <= e->element[1]->integer;
         ++s) {
      if ((*table)[s] != kUncovered) return false;  // overlap
      (*table)[s] = index;
    }
  }
  return true;
}

// The map every refused reply must leave in place: slots 0..99 on one node.
const ClusterSlots& Baseline() {
  static const ClusterSlots map = [] {
    static const char kReply[] =
        "*1\r\n*3\r\n:0\r\n:99\r\n*2\r\n$4\r\nbase\r\n:7000\r\n";
    redisReader* reader = redisReaderCreate();
    redisReaderFeed(reader, kReply, sizeof(kReply) - 1);
    void* reply = nullptr;
    redisReaderGetReply(reader, &reply);
    ClusterSlots m;
    FUZZ_CHECK(m.Parse(static_cast<redisReply*>(reply), kAsked).ok());
    freeReplyObject(reply);
    redisReaderFree(reader);
    return m;
  }();
  return map;
}

void CheckRedirect(std::string_view text) {
  ClusterRedirect r;
  r.slot = -7;
  if (!qd::ParseRedirect(text, kAsked, &r)) {
    FUZZ_CHECK(r.slot == -7);
    return;
  }
  const bool ask = r.kind == ClusterRedirect::Kind::kAsk;
  FUZZ_CHECK(r.slot >= 0 && r.slot < kClusterSlotCount);
  FUZZ_CHECK(r.node.port >= 1 && r.node.port <= 65535);
  FUZZ_CHECK(!r.node.host.empty() && HostOk(r.node.host));
  FUZZ_CHECK(text.substr(0, ask ? 4 : 6) == (ask ? "ASK " : "MOVED "));
  std::string again = std::string(ask ? "ASK " : "MOVED ") +
                      std::to_string(r.slot) + " " + r.node.Describe();
  ClusterRedirect back;
  FUZZ_CHECK(qd::ParseRedirect(again, "other", &back));
  FUZZ_CHECK(back.kind == r.kind && back.slot == r.slot && back.node == r.node);
}

void Check(const redisReply* reply) {
  if (reply->type == REDIS_REPLY_ERROR || reply->type == REDIS_REPLY_STATUS) {
    CheckRedirect(Text(reply));
  }
  static std::vector<int> table;
  static std::vector<ClusterNode> masters;
  const bool accept = Model(reply, &table, &masters);
  ClusterSlots map = Baseline();
  FUZZ_CHECK(map.Parse(reply, kAsked).ok() == accept);
  if (!accept) {  // the baseline, untouched
    FUZZ_CHECK(map.MasterOf(0) != nullptr && map.MasterOf(0)->host == "base");
    FUZZ_CHECK(map.MasterOf(99) != nullptr && map.MasterOf(100) == nullptr);
    return;
  }
  for (int s = 0; s < kClusterSlotCount; ++s) {
    const ClusterNode* got = map.MasterOf(s);
    if (table[s] < 0) {
      FUZZ_CHECK(got == nullptr);
    } else {
      FUZZ_CHECK(got != nullptr && *got == masters[table[s]]);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckRedirect(std::string_view(reinterpret_cast<const char*>(data), size));
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
