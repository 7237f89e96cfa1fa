// ApiCall: one /api/v1 request being answered later, on the loop: its
// completion (http_completion.h) and the JSON replies every endpoint
// sends, and the Redis helpers that turn an unconnected client or a lost
// reply into 503 and an error reply into 500. Copyable and cheap (the
// completion is shared): Redis callbacks capture it by value, never a
// pointer to the Api, so a callback that runs after the Api or the
// connection is gone does nothing harmful. Single-threaded: the loop.
#pragma once

#include <hiredis/hiredis.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/monitor/http_completion.h"
#include "core/monitor/http_response.h"
#include "core/redis/redis_client.h"

namespace qd {

// `body` as the reply, Content-Type application/json, Cache-Control:
// no-store; strings that are not UTF-8 are replaced, never a throw.
HttpResponse ApiJson(int status, const nlohmann::json& body);
// {"error": why}.
HttpResponse ApiError(int status, const std::string& why);

class ApiCall {
 public:
  explicit ApiCall(HttpCompletion done) : done_(std::move(done)) {}

  void Reply(const nlohmann::json& body) const {
    done_.Complete(ApiJson(200, body));
  }
  void Fail(int status, const std::string& why) const {
    done_.Complete(ApiError(status, why));
  }
  // Whether the client still waits (a callback may stop early when not).
  bool waiting() const { return done_.waiting(); }

  // Sends `args` on `redis`; when it is not connected answers 503 and
  // returns false (`cb` is then never called).
  bool Send(RedisClient* redis, const std::vector<std::string>& args,
            RedisClient::Callback cb) const;
  // Answers for a reply that is no answer: null (the connection dropped:
  // 503) or an error (500, with Redis's words). True when it answered.
  bool Failed(const redisReply* reply) const;

 private:
  HttpCompletion done_;
};

}  // namespace qd
