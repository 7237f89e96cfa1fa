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
#include <cstdlib>
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

  // For tests: blocks held, their bytes, and bytes in use by the reply
  // being built.
  size_t blocks() const { return blocks_.size(); }
  size_t held() const {
    size_t n = 0;
    for (const auto& b : blocks_) n += b.size;
    return n;
  }
  size_t used() const { return used_; }

  // The allocator itself (public for the reader callbacks): 16-aligned
  // memory valid until Reset(), or nullptr when there is none to be had
  // (the callbacks then fail and hiredis reports "Out of memory").
  void* Alloc(size_t n);
  // Zeroed memory, for an array's elements. A reply names its element
  // count before it sends them, so past a block's size this is calloc'd
  // on its own (pages the kernel zeroes when they are first touched, as
  // with hiredis' own functions) and freed by Reset, never kept: 13 bytes
  // ("*2000000000\r\n") must not cost 16 GB of zeroing.
  void* AllocZeroed(size_t n);
  void Reset();

 private:
  static constexpr size_t kBlock = 64 << 10;
  static constexpr size_t kKeepBlocks = 16;  // of kBlock: 1 MiB kept
  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::vector<Block> blocks_;
  std::vector<std::unique_ptr<void, Free>> large_;  // from AllocZeroed
  size_t current_ = 0;                              // block being filled
  size_t offset_ = 0;                               // in that block
  size_t used_ = 0;
};

}  // namespace qd
