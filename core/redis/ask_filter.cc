#include "core/redis/ask_filter.h"

#include <algorithm>
#include <cctype>
#include <iterator>

namespace qd {
namespace {

// `upper` is in capitals.
bool Same(std::string_view text, std::string_view upper) {
  return text.size() == upper.size() &&
         std::equal(text.begin(), text.end(), upper.begin(),
                    [](char a, char b) {
                      return std::toupper(static_cast<unsigned char>(a)) == b;
                    });
}

}  // namespace

bool AskFilter::Followable(std::string_view command) {
  bool multi = Same(command, "MULTI");
  if (multi || Same(command, "EXEC") || Same(command, "DISCARD")) {
    in_multi_ = multi;
    return false;
  }
  static constexpr std::string_view kScripts[] = {
      "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"};
  return !in_multi_ &&
         std::none_of(std::begin(kScripts), std::end(kScripts),
                      [&](std::string_view s) { return Same(command, s); });
}

}  // namespace qd
