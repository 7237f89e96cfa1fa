#include "core/queue/dead_entry.h"

#include "core/queue/delayed_job.h"

namespace qd {
namespace {

std::string Str(const redisReply* r) {
  return r != nullptr && r->type == REDIS_REPLY_STRING
             ? std::string(r->str, r->len)
             : std::string();
}

}  // namespace

std::string_view DeadEntry::Field(std::string_view name) const {
  for (const auto& [key, value] : fields) {
    if (key == name) return value;
  }
  return {};
}

bool DeadEntry::IsDeadField(std::string_view name) {
  return name == "error" || name == "failed_at" || name == "attempts" ||
         name == "origin_queue" || name == "origin_id";
}

void DeadEntry::FromRange(const redisReply& reply,
                          std::vector<DeadEntry>* out) {
  if (reply.type != REDIS_REPLY_ARRAY) return;
  for (size_t i = 0; i < reply.elements; ++i) {
    const redisReply* e = reply.element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) continue;
    DeadEntry entry;
    entry.id = Str(e->element[0]);
    const redisReply* f = e->element[1];
    for (size_t k = 0; f->type == REDIS_REPLY_ARRAY && k + 1 < f->elements;
         k += 2) {
      entry.fields.emplace_back(Str(f->element[k]), Str(f->element[k + 1]));
    }
    out->push_back(std::move(entry));
  }
}

nlohmann::ordered_json DeadEntry::ToJson() const {
  nlohmann::ordered_json f = nlohmann::ordered_json::object();
  for (const auto& [key, value] : fields) {
    if (IsValidUtf8(value)) {
      f[key] = value;
    } else {
      f[key + "_b64"] = Base64Encode(value);
    }
  }
  return {{"id", id}, {"fields", f}};
}

}  // namespace qd
