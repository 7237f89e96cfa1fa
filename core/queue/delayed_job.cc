#include "core/queue/delayed_job.h"

#include <nlohmann/json.hpp>

namespace qd {
namespace {

constexpr std::string_view kBase64Suffix = "_b64";

// NAME_b64 (NAME not empty) carries field NAME in base64.
bool EndsWithBase64Suffix(std::string_view name) {
  return name.size() > kBase64Suffix.size() &&
         name.substr(name.size() - kBase64Suffix.size()) == kBase64Suffix;
}

}  // namespace

std::string DelayedJob::Encode(std::string_view queue, const Fields& fields) {
  nlohmann::ordered_json j;
  j["queue"] = std::string(queue);
  for (const auto& [name, value] : fields) {
    // A name ending in _b64 is encoded too, or the promoter would decode it.
    if (!IsValidUtf8(value) || EndsWithBase64Suffix(name)) {
      j[name + std::string(kBase64Suffix)] = Base64Encode(value);
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
    std::string name = it.key();
    if (EndsWithBase64Suffix(name)) {
      name.resize(name.size() - kBase64Suffix.size());
      std::string raw;
      if (!Base64Decode(value, &raw)) {
        return Status::Error("delayed job has a bad " + it.key());
      }
      value = std::move(raw);
    }
    for (const auto& field : d.fields) {
      if (field.first == name) {
        return Status::Error("delayed job gives field \"" + name + "\" twice");
      }
    }
    d.fields.emplace_back(std::move(name), std::move(value));
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
