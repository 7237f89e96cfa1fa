#include "core/monitor/api_call.h"

namespace qd {

HttpResponse ApiJson(int status, const nlohmann::json& body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.headers.emplace_back("Cache-Control", "no-store");
  response.body =
      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
      "\n";
  return response;
}

HttpResponse ApiError(int status, const std::string& why) {
  return ApiJson(status, {{"error", why}});
}

bool ApiCall::Send(RedisClient* redis, const std::vector<std::string>& args,
                   RedisClient::Callback cb) const {
  if (redis != nullptr &&
      redis->Command({args.begin(), args.end()}, std::move(cb))) {
    return true;
  }
  std::string why = redis == nullptr || redis->last_error().empty()
                        ? "not connected"
                        : redis->last_error();
  Fail(503, "redis: " + why);
  return false;
}

bool ApiCall::Failed(const redisReply* reply) const {
  if (reply == nullptr) {
    Fail(503, "redis: connection lost");
    return true;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    Fail(500, "redis: " + std::string(reply->str, reply->len));
    return true;
  }
  return false;
}

}  // namespace qd
