// A site's `limits:` section and the queues' `limit:` references to it
// (declared in config_sections.h; the meaning is docs/limits.md):
//
//   limits:
//     github: { concurrency: 2 }
//     mailer: { rate: 5/1s }     # also 100/1m, 1000/1h, 5/2s, 5/s
#include <string>

#include "core/config/config_sections.h"
#include "queuedaemon/suggest.h"

namespace qd::config_detail {
namespace {

// Bounds that keep a limit's Redis keys small: at most this many members
// in its set of running jobs, or of starts within a window.
constexpr int kMaxConcurrency = 1000000;
constexpr int kMaxRate = 1000000;
constexpr Duration kMinWindow{1000};
constexpr Duration kMaxWindow{3600000};

constexpr const char* kRateHint =
    "a rate such as 5/1s, 100/1m or 1000/1h (starts per window)";

// "5/1s" -> (5, 1s). The window takes s, m or h, with a whole count before
// the unit or none ("5/s" is 5/1s); the message of a refusal says which
// part is wrong.
bool ParseRate(const std::string& text, int* rate, Duration* window,
               std::string* why) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) {
    *why = "expected " + std::string(kRateHint) + ", got '" + text + "'";
    return false;
  }
  std::string count = text.substr(0, slash);
  std::string span = text.substr(slash + 1);
  if (count.empty() || count.size() > 9 ||
      count.find_first_not_of("0123456789") != std::string::npos) {
    *why = "'" + count + "' is not a whole number of starts (expected " +
           kRateHint + ")";
    return false;
  }
  long n = std::stol(count);
  if (n < 1 || n > kMaxRate) {
    *why = "expected 1 to " + std::to_string(kMaxRate) +
           " starts per window, got " + count;
    return false;
  }
  size_t unit_at = span.find_first_not_of("0123456789");
  std::string unit = unit_at == std::string::npos ? "" : span.substr(unit_at);
  std::string digits = span.substr(0, unit_at);
  long per_unit = unit == "s"   ? 1000
                  : unit == "m" ? 60000
                  : unit == "h" ? 3600000
                                : 0;
  if (per_unit == 0 || digits.size() > 7) {
    *why =
        "the window of a rate is a whole number of s, m or h (1s to 1h), "
        "got '" +
        span + "'";
    return false;
  }
  Duration w(per_unit * (digits.empty() ? 1 : std::stol(digits)));
  if (w < kMinWindow || w > kMaxWindow) {
    *why = "the window of a rate must be 1s to 1h, got " + span;
    return false;
  }
  *rate = static_cast<int>(n);
  *window = w;
  return true;
}

void ReadLimit(ConfigReader& r, const Item& item, LimitConfig* limit) {
  limit->name = item.key.Scalar();
  r.ReadMap(item, {
                      {"concurrency",
                       [&](const Item& i) {
                         r.ReadInt(i, 1, kMaxConcurrency, &limit->concurrency);
                       }},
                      {"rate",
                       [&](const Item& i) {
                         std::string text, why;
                         if (!r.ReadScalar(i, kRateHint, &text)) return;
                         if (!ParseRate(text, &limit->rate, &limit->rate_window,
                                        &why)) {
                           r.Fail(i, why);
                         }
                       }},
                  });
  if (r.ok() && limit->concurrency == 0 && limit->rate == 0) {
    r.FailAtKey(item,
                "a limit needs concurrency, rate or both, such as { "
                "concurrency: 2 } or { rate: 5/1s }");
  }
}

}  // namespace

void ReadLimits(ConfigReader& r, const Item& item,
                std::map<std::string, LimitConfig>* limits) {
  r.ReadEntries(item, [&](const Item& limit) {
    // A limit's name is part of its Redis keys, where a colon separates it
    // from the job's limit_key (PREFIX:{SITE}:limit:NAME:KEY:run).
    if (!IsName(limit.key.Scalar(), "_.-")) {
      r.FailAtKey(limit,
                  "a limit name may only hold letters, digits and _ . -");
      return;
    }
    ReadLimit(r, limit, &(*limits)[limit.key.Scalar()]);
  });
}

void CheckLimitRefs(ConfigReader& r, const std::vector<Item>& refs,
                    const std::map<std::string, LimitConfig>& limits) {
  std::vector<std::string> names;
  for (const auto& [name, limit] : limits) names.push_back(name);
  for (const Item& ref : refs) {
    const std::string& name = ref.value.Scalar();
    if (limits.count(name) != 0) continue;
    std::string what = "unknown limit '" + name + "'";
    std::string suggestion = Suggest(name, names);
    if (!suggestion.empty()) {
      what += " (did you mean '" + suggestion + "'?)";
    } else if (names.empty()) {
      what += " (the site has no limits: define it under the site's limits:)";
    } else {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      what += " (limits of this site: " + known + ")";
    }
    r.Fail(ref, what);
    return;
  }
}

}  // namespace qd::config_detail
