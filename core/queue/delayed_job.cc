#include "core/queue/delayed_job.h"

#include <nlohmann/json.hpp>

namespace qd {

std::string DelayedJob::Encode(std::string_view queue, const Fields& fields) {
  nlohmann::ordered_json j;
  j["queue"] = std::string(queue);
  for (const auto& [name, value] : fields) {
    if (name == "payload" && !IsValidUtf8(value)) {
      j["payload_b64"] = Base64Encode(value);
    } else {
      j[name] = value;
    }
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status DelayedJob::Decode(std::string_view member, DelayedJob* out) {
  auto j = nlohmann::ordered_json::parse(member, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Error("delayed job is not a JSON object");
  }
  auto q = j.find("queue");
  if (q == j.end() || !q->is_string()) {
    return Status::Error("delayed job has no \"queue\" string");
  }
  DelayedJob d;
  d.queue = q->get<std::string>();
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "queue") continue;
    std::string value = it->is_string() ? it->get<std::string>() : it->dump();
    if (it.key() == "payload_b64") {
      std::string raw;
      if (!Base64Decode(value, &raw)) {
        return Status::Error("delayed job has a bad payload_b64");
      }
      d.fields.emplace_back("payload", std::move(raw));
    } else {
      d.fields.emplace_back(it.key(), std::move(value));
    }
  }
  *out = std::move(d);
  return Status::Ok();
}

// RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint8_t c = s[i];
    int n;
    uint8_t lo = 0x80, hi = 0xBF;  // the second byte's range
    if (c < 0x80) {
      n = 0;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      uint8_t b = s[i + k];
      if (k == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

}  // namespace qd
