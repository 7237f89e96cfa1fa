#include "core/stats/statsd_sink.h"

#include <fmt/format.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iterator>

#include "core/config/config.h"
#include "core/util/host_port.h"

namespace qd {

// One metric of one tag set. Its text (name, tags) is built when the series
// is first seen; recording only touches the numbers.
struct StatsdSink::Series {
  char type = 'c';   // 'c' counter, 'g' gauge, 't' timer
  std::string name;  // prefix (and folded tags in plain mode) included
  std::string tags;  // "|#k:v,..." (dogstatsd) or ""
  int64_t count = 0;
  double gauge = 0;
  bool gauge_set = false;
  std::vector<double> samples;  // capacity kMaxSamples, reserved up front
  uint64_t seen = 0;            // timer samples this interval, kept or not
  int idle = 0;                 // flushes in a row without a value
};

namespace {

// A series idle for this many flushes is forgotten, so that tag values that
// come and go (a queue removed by a reload) do not hold memory forever.
constexpr int kForgetAfterFlushes = 600;
constexpr int64_t kDropLogIntervalMs = 60000;

// Appends `in` with every byte outside [A-Za-z0-9_.-] replaced by '_' (and
// '.' too unless `keep_dots`: in plain mode a tag is exactly one name part).
void AppendClean(std::string_view in, bool keep_dots, std::string* out) {
  if (in.empty()) in = "_";
  for (char c : in) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              (c == '.' && keep_dots);
    out->push_back(ok ? c : '_');
  }
}

// The shortest text that reads back as `v`; integral values without ".0".
std::string FormatNumber(double v) { return fmt::format("{}", v); }

// `rate` in (0, 1) with 4 significant digits and no exponent (0.01231), so
// that kept / rate is within 0.05% of the number of samples.
std::string FormatRate(double rate) {
  int decimals = 3 - static_cast<int>(std::floor(std::log10(rate)));
  std::string text = fmt::format("{:.{}f}", rate, decimals);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

// splitmix64: small, fast and good enough to pick reservoir slots.
uint64_t NextRandom(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A non-blocking UDP socket connected to the first usable address of
// host:port. IPv4 addresses are tried first: "localhost" often resolves to
// ::1 first while statsd servers (Datadog agent, Telegraf, etsy statsd)
// listen on IPv4 by default, and UDP would not tell us we were wrong.
Status Connect(const std::string& host, const std::string& port, int* fd) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  int err = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (err != 0) {
    return Status::Error("cannot resolve " + host + ": " + gai_strerror(err));
  }
  std::string first_error;
  for (int pass = 0; pass < 2 && *fd < 0; ++pass) {
    for (addrinfo* ai = found; ai != nullptr && *fd < 0; ai = ai->ai_next) {
      if ((ai->ai_family == AF_INET) != (pass == 0)) continue;
      int s = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                     ai->ai_protocol);
      if (s >= 0 && connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
        *fd = s;
      } else {
        if (first_error.empty()) first_error = std::strerror(errno);
        if (s >= 0) close(s);
      }
    }
  }
  freeaddrinfo(found);
  if (*fd < 0) return Status::Error("cannot send there: " + first_error);
  return Status::Ok();
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status StatsdSink::Open(const MonitorConfig& config, Tags base_tags,
                        std::unique_ptr<StatsdSink>* out) {
  std::unique_ptr<StatsdSink> sink(new StatsdSink());
  if (config.udp.empty()) {
    *out = std::move(sink);
    return Status::Ok();
  }
  if (config.tags != "dogstatsd" && config.tags != "plain") {
    return Status::Error("monitor.tags: expected dogstatsd or plain, got \"" +
                         config.tags + "\"");
  }
  sink->where_ = "monitor.udp " + config.udp;
  std::string host, port;
  if (!SplitHostPort(config.udp, &host, &port) || std::stoi(port) == 0) {
    return Status::Error(sink->where_ +
                         ": expected host:port such as 127.0.0.1:8125 or "
                         "[::1]:8125");
  }
  Status connected = Connect(host, port, &sink->fd_);
  if (!connected.ok()) {
    return Status::Error(sink->where_ + ": " + connected.message());
  }
  sink->plain_ = config.tags == "plain";
  std::string_view prefix = config.prefix;
  while (!prefix.empty() && prefix.front() == '.') prefix.remove_prefix(1);
  while (!prefix.empty() && prefix.back() == '.') prefix.remove_suffix(1);
  if (!prefix.empty()) {
    AppendClean(prefix, true, &sink->prefix_);
    sink->prefix_ += '.';
  }
  sink->AppendTags(base_tags, &sink->base_tags_);
  sink->datagram_.reserve(kMaxDatagram);
  *out = std::move(sink);
  return Status::Ok();
}

StatsdSink::~StatsdSink() {
  if (fd_ >= 0) close(fd_);
}

void StatsdSink::Count(std::string_view name, const Tags& tags, int64_t n) {
  if (!enabled()) return;
  Find('c', name, tags).count += n;
}

void StatsdSink::Gauge(std::string_view name, const Tags& tags, double value) {
  if (!enabled() || !std::isfinite(value)) return;
  Series& s = Find('g', name, tags);
  s.gauge = value == 0 ? 0.0 : value;  // no "-0"
  s.gauge_set = true;
}

// Algorithm R: after n samples, each one is kept with probability k/n.
void StatsdSink::Timing(std::string_view name, const Tags& tags, double ms) {
  if (!enabled() || !std::isfinite(ms)) return;
  Series& s = Find('t', name, tags);
  ++s.seen;
  if (s.samples.size() < kMaxSamples) {
    s.samples.push_back(ms);
    return;
  }
  uint64_t slot = NextRandom(&rng_) % s.seen;
  if (slot < kMaxSamples) s.samples[slot] = ms;
}

void StatsdSink::Event(std::string_view state, const Tags& tags) {
  if (!enabled()) return;
  std::string text;
  AppendClean(state, !plain_, &text);
  if (plain_) {
    Count("state." + text, tags, 1);
    return;
  }
  std::string title = prefix_ + "state";
  std::string line =
      fmt::format("_e{{{},{}}}:{}|{}", title.size(), text.size(), title, text);
  std::string tag_text = base_tags_;
  AppendTags(tags, &tag_text);
  if (!tag_text.empty()) line += "|#" + tag_text;
  events_.push_back(std::move(line));
}

int StatsdSink::Flush() {
  if (!enabled()) return 0;
  int written = 0;
  datagram_.clear();
  ForEachUnit([&](std::string_view unit) { Pack(unit, &written); });
  if (!datagram_.empty() && Send(datagram_)) ++written;
  StartInterval();
  return written;
}

std::vector<std::string> StatsdSink::PendingLines() const {
  std::vector<std::string> lines;
  ForEachUnit([&](std::string_view unit) {
    size_t start = 0;
    for (size_t nl; (nl = unit.find('\n', start)) != unit.npos;) {
      lines.emplace_back(unit.substr(start, nl - start));
      start = nl + 1;
    }
    lines.emplace_back(unit.substr(start));
  });
  return lines;
}

StatsdSink::Series& StatsdSink::Find(char type, std::string_view name,
                                     const Tags& tags) {
  key_scratch_.clear();
  key_scratch_ += type;
  key_scratch_ += name;
  for (const auto& [key, value] : tags) {
    key_scratch_ += '\0';
    key_scratch_ += key;
    key_scratch_ += '\0';
    key_scratch_ += value;
  }
  auto it = series_.find(key_scratch_);
  if (it == series_.end()) {
    it = series_.emplace(key_scratch_, NewSeries(type, name, tags)).first;
  }
  return *it->second;
}

std::unique_ptr<StatsdSink::Series> StatsdSink::NewSeries(
    char type, std::string_view name, const Tags& tags) const {
  auto s = std::make_unique<Series>();
  s->type = type;
  s->name = prefix_;
  if (plain_) {
    s->name += base_tags_;
    AppendTags(tags, &s->name);
  } else {
    s->tags = base_tags_;
    AppendTags(tags, &s->tags);
    if (!s->tags.empty()) s->tags.insert(0, "|#");
  }
  AppendClean(name, true, &s->name);
  if (type == 't') s->samples.reserve(kMaxSamples);
  return s;
}

// dogstatsd: ",k:v" per tag (no leading comma on an empty `out`); plain:
// "k.v." per tag, each key and value one name part.
void StatsdSink::AppendTags(const Tags& tags, std::string* out) const {
  for (const auto& [key, value] : tags) {
    if (!plain_ && !out->empty()) *out += ',';
    AppendClean(key, !plain_, out);
    *out += plain_ ? '.' : ':';
    AppendClean(value, !plain_, out);
    if (plain_) *out += '.';
  }
}

void StatsdSink::ForEachUnit(
    const std::function<void(std::string_view)>& emit) const {
  std::string unit;
  auto line = [&unit](const Series& s, std::string_view value,
                      std::string_view type) {
    unit += s.name;
    unit += ':';
    unit += value;
    unit += '|';
    unit += type;
    unit += s.tags;
  };
  for (const auto& entry : series_) {
    const Series& s = *entry.second;
    unit.clear();
    if (s.type == 'c' && s.count != 0) {
      line(s, fmt::format("{}", s.count), "c");
    } else if (s.type == 'g' && s.gauge_set) {
      // A signed gauge value is a change, not a value, to statsd and
      // Telegraf: a negative one is sent after a reset to 0.
      if (s.gauge < 0) {
        line(s, "0", "g");
        unit += '\n';
      }
      line(s, FormatNumber(s.gauge), "g");
    } else if (s.type == 't' && s.seen > 0) {
      std::string type = "ms";
      if (s.seen > s.samples.size()) {
        type += "|@" + FormatRate(static_cast<double>(s.samples.size()) /
                                  static_cast<double>(s.seen));
      }
      for (double sample : s.samples) {
        unit.clear();
        line(s, FormatNumber(sample), type);
        emit(unit);
      }
      continue;
    }
    if (!unit.empty()) emit(unit);
  }
  for (const std::string& event : events_) emit(event);
}

// Appends `unit` to the datagram being built, sending that first when the
// unit would not fit: a line never spans two datagrams.
void StatsdSink::Pack(std::string_view unit, int* written) {
  if (unit.size() > kMaxDatagram) {
    NoteDrop("a line longer than a datagram");
    return;
  }
  if (!datagram_.empty() && datagram_.size() + 1 + unit.size() > kMaxDatagram) {
    if (Send(datagram_)) ++*written;
    datagram_.clear();
  }
  if (!datagram_.empty()) datagram_ += '\n';
  datagram_ += unit;
}

// One try: a datagram that cannot go now (socket buffer full, receiver
// gone) is dropped, since monitoring must never delay the loop.
bool StatsdSink::Send(std::string_view datagram) {
  ssize_t n;
  do {
    n = send(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) {
    ++sent_;
    return true;
  }
  NoteDrop(std::strerror(errno));
  return false;
}

void StatsdSink::NoteDrop(const char* why) {
  ++dropped_;
  ++drops_unlogged_;
  int64_t now = SteadyMs();
  if (last_drop_log_ms_ >= 0 && now - last_drop_log_ms_ < kDropLogIntervalMs) {
    return;
  }
  spdlog::warn(
      "{}: {} statsd datagram(s) dropped ({}); reported at most once "
      "a minute",
      where_, drops_unlogged_, why);
  drops_unlogged_ = 0;
  last_drop_log_ms_ = now;
}

// Counters, gauges and samples restart at nothing; the series stay, so the
// next interval records without allocating.
void StatsdSink::StartInterval() {
  for (auto it = series_.begin(); it != series_.end();) {
    Series& s = *it->second;
    bool recorded = s.count != 0 || s.gauge_set || s.seen > 0;
    s.count = 0;
    s.gauge_set = false;
    s.samples.clear();
    s.seen = 0;
    s.idle = recorded ? 0 : s.idle + 1;
    it = s.idle > kForgetAfterFlushes ? series_.erase(it) : std::next(it);
  }
  events_.clear();
}

}  // namespace qd
