#include "handlers/handler_options.h"

#include <algorithm>
#include <cctype>

namespace qd {
namespace {

constexpr size_t kMaxSuggestDistance = 2;

std::string Lower(const std::string& text) {
  std::string out;
  for (char c : text) out += std::tolower(static_cast<unsigned char>(c));
  return out;
}

// Levenshtein distance, an adjacent swap counting as one edit.
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1,
                                     std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

HandlerOptions::HandlerOptions(std::string handler, YAML::Node options,
                               std::vector<std::string> known)
    : handler_(std::move(handler)),
      options_(std::move(options)),
      known_(std::move(known)) {}

Status HandlerOptions::CheckKeys() const {
  if (!options_.IsDefined() || options_.IsNull()) return Status::Ok();
  if (!options_.IsMap()) return Status::Error("options must be a map");
  for (const auto& entry : options_) {
    std::string key = entry.first.as<std::string>("");
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::string message = "unknown option '" + key + "'";
    std::string suggestion = Suggest(key, known_);
    if (!suggestion.empty()) {
      message += " (did you mean '" + suggestion + "'?)";
    } else if (known_.empty()) {
      message += " (" + handler_ + " takes no options)";
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

std::string HandlerOptions::Suggest(const std::string& key,
                                    const std::vector<std::string>& known) {
  std::string best;
  size_t best_distance = kMaxSuggestDistance + 1;
  for (const auto& name : known) {
    size_t distance = EditDistance(Lower(key), Lower(name));
    if (distance < best_distance && distance < name.size()) {
      best = name;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace qd
