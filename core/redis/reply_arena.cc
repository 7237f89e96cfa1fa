#include "core/redis/reply_arena.h"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace qd {
namespace {

ReplyArena* ArenaOf(const redisReadTask* task) {
  return static_cast<ReplyArena*>(task->privdata);
}

// A zeroed redisReply of `type`, linked into its parent array.
redisReply* NewObject(const redisReadTask* task, int type, size_t extra,
                      void** extra_out) {
  ReplyArena* arena = ArenaOf(task);
  // A new reply: the previous one was freed already (hiredis parses the
  // next reply only after the previous one's callback and freeObject).
  if (task->parent == nullptr) arena->Reset();
  auto* r = static_cast<redisReply*>(arena->Alloc(sizeof(redisReply) + extra));
  if (r == nullptr) return nullptr;
  std::memset(r, 0, sizeof(redisReply));
  r->type = type;
  if (extra_out != nullptr) *extra_out = reinterpret_cast<char*>(r + 1);
  if (task->parent != nullptr) {
    auto* parent = static_cast<redisReply*>(task->parent->obj);
    parent->element[task->idx] = r;
  }
  return r;
}

void* CreateString(const redisReadTask* task, char* str, size_t len) {
  void* buf = nullptr;
  redisReply* r = NewObject(task, task->type, len + 1, &buf);
  if (r == nullptr) return nullptr;
  auto* s = static_cast<char*>(buf);
  std::memcpy(s, str, len);
  s[len] = '\0';
  r->str = s;
  r->len = len;
  return r;
}

void* CreateArray(const redisReadTask* task, int elements) {
  redisReply* r = NewObject(task, REDIS_REPLY_ARRAY, 0, nullptr);
  if (r == nullptr) return nullptr;
  if (elements > 0) {
    size_t bytes = sizeof(redisReply*) * static_cast<size_t>(elements);
    r->element = static_cast<redisReply**>(ArenaOf(task)->AllocZeroed(bytes));
    if (r->element == nullptr) return nullptr;
  }
  r->elements = static_cast<size_t>(elements);
  return r;
}

void* CreateInteger(const redisReadTask* task, long long value) {
  redisReply* r = NewObject(task, REDIS_REPLY_INTEGER, 0, nullptr);
  if (r == nullptr) return nullptr;
  r->integer = value;
  return r;
}

void* CreateNil(const redisReadTask* task) {
  return NewObject(task, REDIS_REPLY_NIL, 0, nullptr);
}

// Nothing to free: the arena rewinds when the next reply starts, and its
// blocks belong to the RedisClient.
void FreeObject(void*) {}

}  // namespace

void ReplyArena::Install(redisReader* reader) {
  static redisReplyObjectFunctions functions = {
      CreateString, CreateArray, CreateInteger, CreateNil, FreeObject};
  reader->fn = &functions;
  reader->privdata = this;
  Reset();
}

void* ReplyArena::Alloc(size_t n) {
  n = (n + 15) & ~static_cast<size_t>(15);
  used_ += n;
  while (current_ < blocks_.size() && offset_ + n > blocks_[current_].size) {
    ++current_;
    offset_ = 0;
  }
  if (current_ == blocks_.size()) {
    size_t size = std::max(kBlock, n);
    // nothrow: an exception must not cross hiredis' C frames.
    std::unique_ptr<char[]> data(new (std::nothrow) char[size]);
    if (data == nullptr) return nullptr;
    blocks_.push_back({std::move(data), size});
    offset_ = 0;
  }
  void* p = blocks_[current_].data.get() + offset_;
  offset_ += n;
  return p;
}

void* ReplyArena::AllocZeroed(size_t n) {
  if (n <= kBlock) {
    void* p = Alloc(n);
    if (p != nullptr) std::memset(p, 0, n);
    return p;
  }
  void* p = std::calloc(1, n);
  if (p == nullptr) return nullptr;
  large_.emplace_back(p);
  used_ += n;
  return p;
}

void ReplyArena::Reset() {
  large_.clear();
  // Only standard blocks are kept: one large value (a 500 MB payload) must
  // not stay with the connection for its life.
  blocks_.erase(std::remove_if(blocks_.begin(), blocks_.end(),
                               [](const Block& b) { return b.size > kBlock; }),
                blocks_.end());
  if (blocks_.size() > kKeepBlocks) blocks_.resize(kKeepBlocks);
  current_ = 0;
  offset_ = 0;
  used_ = 0;
}

}  // namespace qd
