// Suggest: the "did you mean" of every error about an unknown name (config
// keys, handler names, handler options), so that all of them agree on what
// counts as close. Header-only: plugins and built-in handlers use it too.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace qd {

// Edit distance counting a swap of two neighbours as one edit ("optimal
// string alignment"), so "thraeds" is as close to "threads" as "treads".
inline size_t EditDistance(std::string_view a, std::string_view b) {
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

// The candidate closest to `name` ignoring case, or "" when none is close:
// within 2 edits, and fewer edits than the candidate has letters (so "xx"
// does not suggest "id").
inline std::string Suggest(std::string_view name,
                           const std::vector<std::string>& candidates) {
  auto lower = [](std::string_view text) {
    std::string out;
    for (char c : text) out += std::tolower(static_cast<unsigned char>(c));
    return out;
  };
  std::string best;
  size_t best_distance = 3;
  for (const auto& candidate : candidates) {
    size_t distance = EditDistance(lower(name), lower(candidate));
    if (distance < best_distance && distance < candidate.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace qd
