// ReplyArena: hiredis reply objects built in a bump allocator instead of one
// calloc/malloc per element.
//
// A stream read of 128 entries is ~900 reply objects; hiredis' default
// functions allocate each (and its string) and free them one by one after
// the callback, which was a third of a worker's CPU in a no-op drain. Here
// every object of a reply comes from the arena's blocks, freeing is a no-op,
// and the arena rewinds when the reader starts its next reply (hiredis
// parses it only after the previous reply's callback and freeObject). The
// objects are ordinary redisReply structs, so callbacks read them as before;
// they must not keep a reply after the callback (nothing in the daemon does:
// hiredis frees it then anyway).
//
// One arena per reader (a reader holds at most one reply at a time: the
// next one is parsed only after the previous was freed). Install it on an
// async context's reader right after connecting; the arena must outlive the
// reader (RedisClient owns both and frees the context first).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

struct redisReader;

namespace qd {

class ReplyArena {
 public:
  ReplyArena() = default;
  ReplyArena(const ReplyArena&) = delete;
  ReplyArena& operator=(const ReplyArena&) = delete;

  // Makes `reader` build its replies here.
  void Install(redisReader* reader);

  // For tests: blocks held and bytes in use by the reply being built.
  size_t blocks() const { return blocks_.size(); }
  size_t used() const { return used_; }

  // The allocator itself (public for the reader callbacks): 16-aligned
  // memory valid until Reset().
  void* Alloc(size_t n);
  void Reset();

 private:
  static constexpr size_t kBlock = 64 << 10;
  static constexpr size_t kKeepBlocks = 16;  // 1 MiB kept between replies
  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  std::vector<Block> blocks_;
  size_t current_ = 0;  // block being filled
  size_t offset_ = 0;   // in that block
  size_t used_ = 0;
};

}  // namespace qd
