#include "core/queue/unserved_scan.h"

#include <cstring>

#include "core/queue/queue_keys.h"

namespace qd {
namespace {

// Redis glob patterns give * ? [ ] and \ a meaning; site and prefix names
// cannot hold them today (the config loader allows letters, digits and
// "_.:-"), but the pattern must not depend on that.
std::string GlobEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::strchr("*?[]\\", c) != nullptr) out += '\\';
    out += c;
  }
  return out;
}

// The part of `key` after `prefix` (PREFIX:{SITE}:q:), the queue name; ""
// when `key` is not under `prefix` or names no queue.
std::string_view QueuePart(std::string_view prefix, std::string_view key) {
  if (key.size() <= prefix.size() || key.substr(0, prefix.size()) != prefix) {
    return {};
  }
  return key.substr(prefix.size());
}

std::string Text(const redisReply* r) {
  return r != nullptr && r->str != nullptr ? std::string(r->str, r->len) : "";
}

}  // namespace

UnservedScan::UnservedScan(const SiteConfig& site, Clock::time_point now)
    : stream_prefix_(QueueKeys::Stream(site.prefix, site.name, "")),
      pattern_(Pattern(site)),
      deadline_(now + kDeadline) {
  for (const auto& [name, queue] : site.queues) queues_.insert(name);
}

bool UnservedScan::IsUnserved(const SiteConfig& site, std::string_view key,
                              std::string* queue) {
  std::string name(
      QueuePart(QueueKeys::Stream(site.prefix, site.name, ""), key));
  if (name.empty() || site.queues.count(name) != 0) return false;
  if (queue != nullptr) *queue = std::move(name);
  return true;
}

std::string UnservedScan::Pattern(const SiteConfig& site) {
  return GlobEscape(QueueKeys::Stream(site.prefix, site.name, "")) + "*";
}

std::vector<std::string> UnservedScan::Command() const {
  return {"SCAN", cursor_, "MATCH", pattern_, "COUNT", std::to_string(kCount),
          "TYPE", "stream"};
}

Status UnservedScan::Take(const redisReply* reply, Clock::time_point now) {
  done_ = true;  // until the reply proves otherwise
  if (reply == nullptr) return Status::Error("connection lost");
  if (reply->type == REDIS_REPLY_ERROR) return Status::Error(Text(reply));
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_STRING ||
      reply->element[1]->type != REDIS_REPLY_ARRAY) {
    return Status::Error("SCAN replied with an unexpected shape");
  }
  const redisReply* keys = reply->element[1];
  for (size_t i = 0; i < keys->elements; ++i) {
    if (keys->element[i]->type != REDIS_REPLY_STRING) continue;
    std::string key = Text(keys->element[i]);
    // SCAN may return a key twice; the set keeps it once.
    if (!Unserved(key) || keys_.count(key) != 0) continue;
    if (keys_.size() < kMaxStreams) {
      keys_.insert(std::move(key));
    } else {
      more_ = true;
    }
  }
  cursor_ = Text(reply->element[0]);
  ++calls_;
  if (cursor_ == "0") return Status::Ok();
  if (calls_ >= kMaxCalls) {
    cut_short_ = "stopped after " + std::to_string(calls_) + " SCAN calls";
  } else if (now >= deadline_) {
    cut_short_ = "stopped after " + std::to_string(kDeadline.count()) + "s";
  } else {
    done_ = false;
  }
  return Status::Ok();
}

std::string UnservedScan::QueueOf(const std::string& key) const {
  return std::string(QueuePart(stream_prefix_, key));
}

bool UnservedScan::Unserved(std::string_view key) const {
  std::string_view name = QueuePart(stream_prefix_, key);
  return !name.empty() && queues_.count(std::string(name)) == 0;
}

}  // namespace qd
