// Resp(): a hiredis reply parsed from RESP text, as hiredis reads one off
// the wire, for unit tests of code that reads replies.
#pragma once

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>

namespace qd::test {

inline std::unique_ptr<redisReply, void (*)(void*)> Resp(
    const std::string& text) {
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, text.data(), text.size());
  void* reply = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader, &reply), REDIS_OK);
  redisReaderFree(reader);
  return {static_cast<redisReply*>(reply), freeReplyObject};
}

}  // namespace qd::test
