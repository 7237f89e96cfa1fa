#include "queuedaemon/handler_options.h"

#include <algorithm>

#include "queuedaemon/suggest.h"

namespace qd {
namespace {

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

HandlerOptions::HandlerOptions(std::string handler, YAML::Node options,
                               std::vector<std::string> known, std::string noun)
    : handler_(std::move(handler)),
      options_(std::move(options)),
      known_(std::move(known)),
      noun_(std::move(noun)) {}

Status HandlerOptions::CheckKeys() const {
  if (!options_.IsDefined() || options_.IsNull()) return Status::Ok();
  if (!options_.IsMap()) return Status::Error("options must be a map");
  for (const auto& entry : options_) {
    std::string key = entry.first.as<std::string>("");
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::string message = "unknown " + noun_ + " '" + key + "'";
    std::string suggestion = Suggest(key, known_);
    if (!suggestion.empty()) {
      message += " (did you mean '" + suggestion + "'?)";
    } else if (known_.empty()) {
      message += " (" + handler_ + " takes no " + noun_ + "s)";
    } else {
      message += " (" + handler_ + " knows: " + Join(known_) + ")";
    }
    return Status::Error(message);
  }
  return Status::Ok();
}

YAML::Node HandlerOptions::Get(const std::string& name) const {
  if (!options_.IsMap()) return YAML::Node();
  for (const auto& entry : options_) {
    if (entry.first.as<std::string>("") == name) return entry.second;
  }
  return YAML::Node();
}

Status HandlerOptions::GetString(const std::string& name,
                                 std::string* out) const {
  YAML::Node value = Get(name);
  if (!value.IsDefined() || value.IsNull()) return Status::Ok();
  if (!value.IsScalar()) {
    return Status::Error("option '" + name + "': expected a string");
  }
  *out = value.Scalar();
  return Status::Ok();
}

}  // namespace qd
