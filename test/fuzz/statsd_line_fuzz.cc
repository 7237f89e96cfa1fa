// Fuzz target: the statsd line parser (ParseStatsdLine, ParseStatsdDatagram)
// on any bytes, as queuemon's UDP socket receives them.
//
// Checks that a parsed line keeps its promises (a metric has a plain name
// without ':' or '|', at least one finite value, no negative timing, deltas
// only on gauges, 0 < rate <= 1, non-empty tag keys; every view points into
// the line), that printing a parsed line and parsing it again gives the
// same line, that an error is one bounded line, and that a datagram's good
// and bad lines add up to its non-empty lines.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/stats/statsd_line.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using qd::StatsdLine;
using qd::StatsdType;

// An error message quotes at most ~100 bytes of the line and of the part,
// each byte at most 4 ("\xNN").
constexpr size_t kMaxMessage = 2048;

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() &&
          part.data() + part.size() <= whole.data() + whole.size());
}

bool Plain(std::string_view text) {
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

const char* TypeCode(StatsdType type) {
  switch (type) {
    case StatsdType::kCounter:
      return "c";
    case StatsdType::kGauge:
      return "g";
    case StatsdType::kTimer:
      return "ms";
    case StatsdType::kHistogram:
      return "h";
    case StatsdType::kSet:
      return "s";
    case StatsdType::kDistribution:
      return "d";
    case StatsdType::kEvent:
      break;
  }
  return "?";
}

// `line` printed back in the canonical form (fields the parser drops, such
// as a container id, are left out).
std::string Print(const StatsdLine& line) {
  std::string out;
  if (line.type == StatsdType::kEvent) {
    out = "_e{" + std::to_string(line.name.size()) + "," +
          std::to_string(line.text.size()) + "}:" + std::string(line.name) +
          "|" + std::string(line.text);
  } else {
    out = std::string(line.name);
    for (const auto& v : line.values) out += ":" + std::string(v.text);
    out += "|";
    out += TypeCode(line.type);
    if (line.sample_rate != 1) {
      char rate[32];
      std::snprintf(rate, sizeof(rate), "|@%.17g", line.sample_rate);
      out += rate;
    }
  }
  for (size_t i = 0; i < line.tags.size(); ++i) {
    out += i == 0 ? "|#" : ",";
    out += std::string(line.tags[i].key);
    if (!line.tags[i].value.empty())
      out += ":" + std::string(line.tags[i].value);
  }
  return out;
}

bool Same(const StatsdLine& a, const StatsdLine& b) {
  if (a.type != b.type || a.name != b.name || a.text != b.text ||
      a.sample_rate != b.sample_rate || a.values.size() != b.values.size() ||
      a.tags.size() != b.tags.size()) {
    return false;
  }
  for (size_t i = 0; i < a.values.size(); ++i) {
    if (a.values[i].text != b.values[i].text ||
        a.values[i].number != b.values[i].number ||
        a.values[i].delta != b.values[i].delta) {
      return false;
    }
  }
  for (size_t i = 0; i < a.tags.size(); ++i) {
    if (a.tags[i].key != b.tags[i].key || a.tags[i].value != b.tags[i].value) {
      return false;
    }
  }
  return true;
}

void CheckError(const qd::Status& s) {
  FUZZ_CHECK(!s.ok());
  FUZZ_CHECK(!s.message().empty() && s.message().size() <= kMaxMessage);
  FUZZ_CHECK(s.message().find('\n') == std::string::npos);
}

void CheckParsed(std::string_view text, const StatsdLine& line) {
  FUZZ_CHECK(text.size() <= qd::kMaxStatsdLine);
  FUZZ_CHECK(!line.name.empty() && Inside(line.name, text));
  FUZZ_CHECK(Inside(line.text, text));
  FUZZ_CHECK(line.sample_rate > 0 && line.sample_rate <= 1);
  for (const auto& tag : line.tags) {
    FUZZ_CHECK(!tag.key.empty() && Plain(tag.key) && Plain(tag.value));
    FUZZ_CHECK(tag.key.find_first_of(",|") == std::string_view::npos);
    FUZZ_CHECK(tag.value.find_first_of(",|") == std::string_view::npos);
    FUZZ_CHECK(Inside(tag.key, text) && Inside(tag.value, text));
  }
  if (line.type == StatsdType::kEvent) {
    FUZZ_CHECK(line.values.empty() && line.sample_rate == 1);
    return;
  }
  FUZZ_CHECK(line.text.empty() && !line.values.empty());
  FUZZ_CHECK(Plain(line.name));
  FUZZ_CHECK(line.name.find_first_of(":|") == std::string_view::npos);
  for (const auto& v : line.values) {
    FUZZ_CHECK(!v.text.empty() && Inside(v.text, text));
    FUZZ_CHECK(v.text.find_first_of(":|") == std::string_view::npos);
    FUZZ_CHECK(v.number - v.number == 0);  // finite
    FUZZ_CHECK(!v.delta || line.type == StatsdType::kGauge);
    if (line.type == StatsdType::kTimer) FUZZ_CHECK(v.number >= 0);
    if (line.type == StatsdType::kSet) {
      FUZZ_CHECK(v.number == 0 && Plain(v.text));
    }
  }
}

// Parses `text` as one line; a good line must print and parse back the same.
void CheckLine(std::string_view text) {
  StatsdLine line;
  qd::Status s = ParseStatsdLine(text, &line);
  if (!s.ok()) {
    CheckError(s);
    return;
  }
  CheckParsed(text, line);
  const std::string printed = Print(line);
  StatsdLine again;
  qd::Status s2 = ParseStatsdLine(printed, &again);
  FUZZ_CHECK(s2.ok());
  FUZZ_CHECK(Same(line, again));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  StatsdLine scratch;
  size_t good = 0;
  size_t errors = 0;
  size_t bad = ParseStatsdDatagram(
      text, &scratch,
      [&](const StatsdLine& line) {
        ++good;
        FUZZ_CHECK(Inside(line.name, text));
      },
      [&](const qd::Status& s) {
        ++errors;
        CheckError(s);
      });
  FUZZ_CHECK(bad == errors);

  size_t lines = 0;
  for (std::string_view rest = text; !rest.empty();) {
    size_t at = rest.find('\n');
    std::string_view line = rest.substr(0, at);
    rest.remove_prefix(at == std::string_view::npos ? rest.size() : at + 1);
    if (line.empty()) continue;
    ++lines;
    CheckLine(line);
  }
  FUZZ_CHECK(good + bad == lines);
  if (text.find('\n') != std::string_view::npos) CheckLine(text);
  return 0;
}
