#include "core/stats/statsd_line.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include "core/util/text_quote.h"

namespace qd {
namespace {

// How much of a line an error message quotes: enough to recognise it, not
// enough to flood a log with a 64 KiB datagram.
constexpr size_t kMaxQuoted = 100;

// "WHAT 'PART' in 'LINE'", or "WHAT in 'LINE'" when PART is not given.
Status Bad(std::string_view what, std::string_view line) {
  return Status::Error(std::string(what) + " in '" + Quote(line, kMaxQuoted) +
                       "'");
}

Status Bad(std::string_view what, std::string_view part,
           std::string_view line) {
  return Bad(std::string(what) + " '" + Quote(part, kMaxQuoted) + "'", line);
}

// Printable ASCII and UTF-8 bytes: no spaces, no control bytes.
bool PlainText(std::string_view text) {
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

// A finite decimal number, the whole of `text` (no '+', no hex).
bool ParseNumber(std::string_view text, double* out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [at, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && at == end && std::isfinite(*out);
}

// Up to 18 decimal digits, the whole of `text`, at most `max`.
bool ParseDigits(std::string_view text, uint64_t max, uint64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = n;
  return n <= max;
}

// Calls `parse(piece)` for each `sep`-separated piece of `text`, empty
// pieces included ("a,,b" and "a," have an empty one), until one fails.
template <typename Parse>
Status ForEachPiece(std::string_view text, char sep, Parse parse) {
  while (true) {
    size_t at = text.find(sep);
    Status s = parse(text.substr(0, at));
    if (!s.ok() || at == std::string_view::npos) return s;
    text.remove_prefix(at + 1);
  }
}

bool ParseType(std::string_view text, StatsdType* out) {
  static constexpr std::pair<std::string_view, StatsdType> kTypes[] = {
      {"c", StatsdType::kCounter}, {"g", StatsdType::kGauge},
      {"ms", StatsdType::kTimer},  {"h", StatsdType::kHistogram},
      {"s", StatsdType::kSet},     {"d", StatsdType::kDistribution},
  };
  for (const auto& [name, type] : kTypes) {
    if (text == name) {
      *out = type;
      return true;
    }
  }
  return false;
}

// One value of a (possibly packed) metric line, for `out->type`.
Status ParseValue(std::string_view text, std::string_view line,
                  StatsdLine* out) {
  StatsdValue& value = out->values.emplace_back();
  value.text = text;
  if (text.empty()) return Bad("empty value", line);
  if (out->type == StatsdType::kSet) {
    return PlainText(text) ? Status::Ok() : Bad("bad set member", text, line);
  }
  std::string_view number = text;
  if (out->type == StatsdType::kGauge && (text[0] == '+' || text[0] == '-')) {
    value.delta = true;
    if (text[0] == '+') number.remove_prefix(1);  // from_chars takes no '+'
    if (!number.empty() && number[0] == '-' && text[0] == '+') number = {};
  }
  if (!ParseNumber(number, &value.number)) return Bad("bad value", text, line);
  if (out->type == StatsdType::kTimer && value.number < 0) {
    return Bad("negative timing", text, line);
  }
  return Status::Ok();
}

// `text` is what follows '#'.
Status ParseTags(std::string_view text, std::string_view line,
                 StatsdLine* out) {
  if (!out->tags.empty()) return Bad("tags given twice", line);
  if (text.empty()) return Bad("empty tags", line);
  return ForEachPiece(text, ',', [&](std::string_view tag) {
    if (tag.empty()) return Bad("empty tag", line);
    if (!PlainText(tag)) return Bad("bad tag", tag, line);
    size_t colon = tag.find(':');
    StatsdTag& parsed = out->tags.emplace_back();
    parsed.key = tag.substr(0, colon);
    if (colon != std::string_view::npos) parsed.value = tag.substr(colon + 1);
    return parsed.key.empty() ? Bad("empty tag key", tag, line) : Status::Ok();
  });
}

// The fields after a metric's type: |@RATE, |#TAGS, |c:CONTAINER, |TSECS.
// The container id and the timestamp are checked and dropped.
Status ParseMetricField(std::string_view field, std::string_view line,
                        bool* rate_seen, StatsdLine* out) {
  if (field.empty()) return Bad("empty field", line);
  uint64_t unused;
  switch (field[0]) {
    case '@':
      if (*rate_seen) return Bad("sample rate given twice", line);
      *rate_seen = true;
      if (!ParseNumber(field.substr(1), &out->sample_rate) ||
          out->sample_rate <= 0 || out->sample_rate > 1) {
        return Bad("bad sample rate", field, line);
      }
      return Status::Ok();
    case '#':
      return ParseTags(field.substr(1), line, out);
    case 'c':
      if (field.size() > 2 && field[1] == ':') return Status::Ok();
      break;
    case 'T':
      if (ParseDigits(field.substr(1), UINT32_MAX, &unused)) {
        return Status::Ok();
      }
      break;
  }
  return Bad("unknown field", field, line);
}

Status ParseMetric(std::string_view line, StatsdLine* out) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return Bad("missing ':'", line);
  out->name = line.substr(0, colon);
  if (out->name.empty()) return Bad("empty name", line);
  if (!PlainText(out->name) || out->name.find('|') != std::string_view::npos) {
    return Bad("bad name", out->name, line);
  }
  std::string_view rest = line.substr(colon + 1);
  size_t bar = rest.find('|');
  if (bar == std::string_view::npos) return Bad("missing type", line);
  std::string_view values = rest.substr(0, bar);
  rest.remove_prefix(bar + 1);
  bar = rest.find('|');
  std::string_view type = rest.substr(0, bar);
  if (type.empty()) return Bad("missing type", line);
  if (!ParseType(type, &out->type)) return Bad("unknown type", type, line);
  Status s = ForEachPiece(values, ':', [&](std::string_view value) {
    return ParseValue(value, line, out);
  });
  if (!s.ok() || bar == std::string_view::npos) return s;
  bool rate_seen = false;
  return ForEachPiece(rest.substr(bar + 1), '|', [&](std::string_view field) {
    return ParseMetricField(field, line, &rate_seen, out);
  });
}

// An event's optional fields: |d:TS |h:HOST |k:KEY |p:PRIO |s:SRC |t:ALERT
// |#TAGS. They are checked, and only the tags kept.
Status ParseEventField(std::string_view field, std::string_view line,
                       StatsdLine* out) {
  if (field.empty()) return Bad("empty field", line);
  if (field[0] == '#') return ParseTags(field.substr(1), line, out);
  if (field.size() < 3 || field[1] != ':') {
    return Bad("unknown event field", field, line);
  }
  std::string_view value = field.substr(2);
  uint64_t unused;
  switch (field[0]) {
    case 'd':
      if (ParseDigits(value, UINT32_MAX, &unused)) return Status::Ok();
      break;
    case 'p':
      if (value == "normal" || value == "low") return Status::Ok();
      break;
    case 't':
      if (value == "error" || value == "warning" || value == "info" ||
          value == "success") {
        return Status::Ok();
      }
      break;
    case 'h':
    case 'k':
    case 's':
      return Status::Ok();
    default:
      return Bad("unknown event field", field, line);
  }
  return Bad("bad event field", field, line);
}

// _e{TITLE_LEN,TEXT_LEN}:TITLE|TEXT[|FIELD...]: the lengths, not the '|',
// delimit title and text (both may contain '|').
Status ParseEvent(std::string_view line, StatsdLine* out) {
  out->type = StatsdType::kEvent;
  size_t close = line.find('}');
  size_t comma = line.find(',');
  uint64_t title_len = 0, text_len = 0;
  if (close == std::string_view::npos || comma > close ||
      !ParseDigits(line.substr(3, comma - 3), kMaxStatsdLine, &title_len) ||
      !ParseDigits(line.substr(comma + 1, close - comma - 1), kMaxStatsdLine,
                   &text_len)) {
    return Bad("bad event header", line);
  }
  std::string_view header = line.substr(0, close + 1);
  std::string_view rest = line.substr(close + 1);
  if (rest.empty() || rest[0] != ':') {
    return Bad("missing ':' after", header, line);
  }
  rest.remove_prefix(1);
  if (title_len == 0) return Bad("empty event title", line);
  if (title_len + 1 + text_len > rest.size()) {
    return Bad("event lengths longer than the line:", header, line);
  }
  out->name = rest.substr(0, title_len);
  if (rest[title_len] != '|') {
    return Bad("event title is not " + std::to_string(title_len) + " bytes",
               line);
  }
  out->text = rest.substr(title_len + 1, text_len);
  rest.remove_prefix(title_len + 1 + text_len);
  if (rest.empty()) return Status::Ok();
  if (rest[0] != '|') {
    return Bad("event text is not " + std::to_string(text_len) + " bytes",
               line);
  }
  return ForEachPiece(rest.substr(1), '|', [&](std::string_view field) {
    return ParseEventField(field, line, out);
  });
}

}  // namespace

const char* StatsdTypeName(StatsdType type) {
  switch (type) {
    case StatsdType::kCounter:
      return "counter";
    case StatsdType::kGauge:
      return "gauge";
    case StatsdType::kTimer:
      return "timer";
    case StatsdType::kHistogram:
      return "histogram";
    case StatsdType::kSet:
      return "set";
    case StatsdType::kDistribution:
      return "distribution";
    case StatsdType::kEvent:
      return "event";
  }
  return "unknown";
}

Status ParseStatsdLine(std::string_view line, StatsdLine* out) {
  out->name = {};
  out->text = {};
  out->values.clear();
  out->sample_rate = 1;
  out->tags.clear();
  if (line.size() > kMaxStatsdLine) {
    return Bad("line too long (" + std::to_string(line.size()) +
                   " bytes, at most " + std::to_string(kMaxStatsdLine) + ")",
               line);
  }
  if (line.empty()) return Status::Error("empty line");
  if (line.substr(0, 3) == "_e{") return ParseEvent(line, out);
  if (line.substr(0, 4) == "_sc|") {
    return Bad("service checks are not supported", line);
  }
  return ParseMetric(line, out);
}

size_t ParseStatsdDatagram(
    std::string_view datagram, StatsdLine* scratch,
    const std::function<void(const StatsdLine&)>& on_line,
    const std::function<void(const Status&)>& on_error) {
  size_t bad = 0;
  while (!datagram.empty()) {
    size_t at = datagram.find('\n');
    std::string_view line = datagram.substr(0, at);
    datagram.remove_prefix(at == std::string_view::npos ? datagram.size()
                                                        : at + 1);
    if (line.empty()) continue;
    Status s = ParseStatsdLine(line, scratch);
    if (s.ok()) {
      on_line(*scratch);
    } else {
      ++bad;
      if (on_error) on_error(s);
    }
  }
  return bad;
}

}  // namespace qd
