#include "core/listen/session_record.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "core/config/own_keys.h"

namespace qd {
namespace {

using Json = nlohmann::json;

constexpr int64_t kVersion = 1;

// Keys come from Redis, so untrusted: quoted, escaped and shortened, a
// message stays one short line whatever they hold.
std::string Quote(const std::string& key) {
  constexpr size_t kShown = 64;
  std::string shown = key.size() > kShown ? key.substr(0, kShown) + "..." : key;
  return Json(shown).dump(-1, ' ', false, Json::error_handler_t::replace);
}

Status NotA(const char* field, const char* expected) {
  return Status::Error(std::string("session record: \"") + field +
                       "\" is not " + expected);
}

// Points *value at `field` of `j`; a missing field is an error.
Status Lookup(const Json& j, const char* field, const Json** value) {
  auto it = j.find(field);
  if (it == j.end()) {
    return Status::Error(std::string("session record: no \"") + field + "\"");
  }
  *value = &*it;
  return Status::Ok();
}

Status DecodeVersion(const Json& j) {
  const Json* v = nullptr;
  Status s = Lookup(j, "v", &v);
  if (!s.ok()) return s;
  if (!v->is_number_integer()) return NotA("v", "an integer");
  if (*v != kVersion) {
    return Status::Error("session record: version " + v->dump() +
                         " is not supported (expected 1)");
  }
  return Status::Ok();
}

Status DecodeString(const Json& j, const char* field, std::string* out) {
  const Json* v = nullptr;
  Status s = Lookup(j, field, &v);
  if (!s.ok()) return s;
  if (!v->is_string()) return NotA(field, "a string");
  *out = v->get<std::string>();
  return Status::Ok();
}

Status DecodeBool(const Json& j, const char* field, bool* out) {
  const Json* v = nullptr;
  Status s = Lookup(j, field, &v);
  if (!s.ok()) return s;
  if (!v->is_boolean()) return NotA(field, "a boolean");
  *out = v->get<bool>();
  return Status::Ok();
}

Status DecodeInt64(const Json& j, const char* field, int64_t* out) {
  const Json* v = nullptr;
  Status s = Lookup(j, field, &v);
  if (!s.ok()) return s;
  constexpr auto kMax = static_cast<uint64_t>(INT64_MAX);
  if (!v->is_number_integer() ||
      (v->is_number_unsigned() && v->get<uint64_t>() > kMax)) {
    return NotA(field, "a 64-bit integer");
  }
  *out = v->get<int64_t>();
  return Status::Ok();
}

Status DecodeState(const Json& j, SessionState* out) {
  const Json* v = nullptr;
  Status s = Lookup(j, "state", &v);
  if (!s.ok()) return s;
  if (!v->is_object()) return NotA("state", "an object");
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it->is_string()) {
      return Status::Error("session record: state " + Quote(it.key()) +
                           " is a " + it->type_name() + ", not a string");
    }
    (*out)[it.key()] = it->get<std::string>();
  }
  return Status::Ok();
}

}  // namespace

std::string SessionRecord::Encode() const {
  nlohmann::ordered_json j;
  j["v"] = kVersion;
  j["listener"] = listener;
  j["ok"] = ok;
  j["site"] = site;
  j["account"] = account;
  j["state"] = state;
  j["updated_ms"] = updated_ms;
  // Replace, not throw: state is whatever the handler stored.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Unknown top-level fields are ignored, so a newer writer may add some.
Status SessionRecord::Decode(std::string_view text, SessionRecord* out) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    return Status::Error("session record is not valid JSON");
  }
  if (!j.is_object()) {
    return Status::Error(std::string("session record is a JSON ") +
                         j.type_name() + ", not an object");
  }
  SessionRecord r;
  Status s = DecodeVersion(j);
  if (s.ok()) s = DecodeString(j, "listener", &r.listener);
  if (s.ok()) s = DecodeBool(j, "ok", &r.ok);
  if (s.ok()) s = DecodeString(j, "site", &r.site);
  if (s.ok()) s = DecodeString(j, "account", &r.account);
  if (s.ok()) s = DecodeState(j, &r.state);
  if (s.ok()) s = DecodeInt64(j, "updated_ms", &r.updated_ms);
  if (s.ok()) *out = std::move(r);
  return s;
}

std::string SessionRecord::Key(std::string_view prefix, std::string_view conn) {
  return OwnKeys::Session(prefix, conn);
}

}  // namespace qd
