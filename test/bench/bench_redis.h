// BenchRedis: one synchronous hiredis connection to 127.0.0.1, for the
// benchmark programs (queue_bench, soak). Every connection failure is
// sticky: Ok() turns false and stays false. Not thread-safe: one per thread.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdio>
#include <string>
#include <vector>

namespace qd::bench {

using Args = std::vector<std::string>;

class BenchRedis {
 public:
  explicit BenchRedis(int port) {
    timeval tv = {5, 0};
    c_ = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c_ != nullptr && c_->err == 0) redisSetTimeout(c_, tv);
  }
  ~BenchRedis() {
    if (c_ != nullptr) redisFree(c_);
  }
  BenchRedis(const BenchRedis&) = delete;
  BenchRedis& operator=(const BenchRedis&) = delete;

  bool Ok() const { return c_ != nullptr && c_->err == 0 && !failed_; }

  void Append(const Args& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (Ok()) {
      redisAppendCommandArgv(c_, static_cast<int>(argv.size()), argv.data(),
                             lens.data());
    }
  }
  // The next reply, nullptr (and !Ok()) on a connection error; an error
  // reply is returned (and logged unless `quiet`). The caller frees it.
  redisReply* Get(bool quiet = false) {
    void* r = nullptr;
    if (!Ok() || redisGetReply(c_, &r) != REDIS_OK || r == nullptr) {
      failed_ = true;
      std::fprintf(stderr, "redis: %s\n",
                   c_ != nullptr && c_->errstr[0] ? c_->errstr : "no reply");
      return nullptr;
    }
    auto* reply = static_cast<redisReply*>(r);
    if (reply->type == REDIS_REPLY_ERROR && !quiet) {
      std::fprintf(stderr, "redis error: %.*s\n", static_cast<int>(reply->len),
                   reply->str);
    }
    return reply;
  }
  // Reads `n` replies; false if any was missing or an error.
  bool Drop(size_t n) {
    bool ok = true;
    for (size_t i = 0; i < n; ++i) {
      redisReply* r = Get();
      if (r == nullptr) return false;
      ok = ok && r->type != REDIS_REPLY_ERROR;
      freeReplyObject(r);
    }
    return ok;
  }
  // Reads `n` replies; how many were not errors (fewer when the connection
  // failed).
  long Replies(long n) {
    long ok = 0;
    for (long i = 0; i < n; ++i) {
      redisReply* r = Get(true);
      if (r == nullptr) break;
      ok += r->type != REDIS_REPLY_ERROR;
      freeReplyObject(r);
    }
    return ok;
  }
  // An integer reply, -1 on error.
  long long Int(const Args& args) {
    Append(args);
    redisReply* r = Get();
    long long out =
        r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r != nullptr) freeReplyObject(r);
    return out;
  }
  // XPENDING summary count, -1 on error.
  long long Pending(const std::string& key, const std::string& group) {
    Append({"XPENDING", key, group});
    redisReply* r = Get();
    long long out = -1;
    if (r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
        r->element[0]->type == REDIS_REPLY_INTEGER) {
      out = r->element[0]->integer;
    }
    if (r != nullptr) freeReplyObject(r);
    return out;
  }

 private:
  redisContext* c_ = nullptr;
  bool failed_ = false;
};

}  // namespace qd::bench
