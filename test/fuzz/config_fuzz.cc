// Fuzz target: the config loader (Config::LoadString) on any text, as if it
// were the file given with -c.
//
// Checks that nothing escapes as an exception, that a refusal is one line
// starting "fuzz.yaml:" (with the position when there is one) and leaves
// the output untouched, and that a config the loader accepts keeps the
// limits it promises (soft limit within memory_limit, terminators of 1..8
// bytes, max_frame within 64 MiB, every queue and listener with a handler,
// names matching their keys, retry_max >= retry_base, a url or Sentinels
// with a master for Redis, periodic entries with a zone, a queue of their
// site and a next tick, ...).
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config/config.h"
#include "core/schedule/cron_ticks.h"
#include "test/fuzz/fuzz_check.h"

namespace {

constexpr char kName[] = "fuzz.yaml";

// A url, or Sentinels (each a host and a port) with a master's name.
void CheckEndpoint(const qd::RedisEndpoint& e, bool site) {
  if (e.sentinels.empty()) {
    FUZZ_CHECK(site || !e.url.empty());
    return;
  }
  FUZZ_CHECK(e.url.empty() && !e.master.empty() && e.db >= 0);
  qd::RedisUrl url;
  FUZZ_CHECK(e.Resolve(&url).ok());
  FUZZ_CHECK(url.sentinels.size() == e.sentinels.size());
  for (const auto& s : url.sentinels) {
    FUZZ_CHECK(!s.host.empty() && s.port >= 1 && s.port <= 65535);
  }
}

void CheckLoaded(const qd::Config& c) {
  FUZZ_CHECK(c.file == kName);
  FUZZ_CHECK(c.daemon.memory_limit >= (16u << 20));
  FUZZ_CHECK(c.daemon.soft_limit <= c.daemon.memory_limit);
  FUZZ_CHECK(c.daemon.threads >= 0 && c.daemon.threads <= 1024);
  FUZZ_CHECK(!c.daemon.id.empty());
  CheckEndpoint(c.redis, false);
  FUZZ_CHECK(c.monitor.interval.count() > 0);
  for (const auto& [name, site] : c.sites) {
    FUZZ_CHECK(site.name == name && !name.empty());
    FUZZ_CHECK(name.find_first_of("{}") == std::string::npos);
    FUZZ_CHECK(site.poll_interval.count() > 0);
    FUZZ_CHECK(site.consumer_idle_limit.count() >= 0);
    FUZZ_CHECK(site.weight >= 1 && site.weight <= 1000);
    CheckEndpoint(site.redis, true);
    for (const auto& [qname, q] : site.queues) {
      FUZZ_CHECK(q.name == qname && !q.handler.empty());
      FUZZ_CHECK(q.max_attempts >= 1 && q.weight >= 1);
      FUZZ_CHECK(q.retry_max >= q.retry_base);
      FUZZ_CHECK(q.visibility_timeout.count() > 0);
      FUZZ_CHECK(q.timeout.count() >= 0 && q.max_payload > 0);
      FUZZ_CHECK(q.handler_options.IsMap());
    }
    for (const auto& [pname, p] : site.periodic) {
      FUZZ_CHECK(p.name == pname && p.zone != nullptr);
      FUZZ_CHECK(site.queues.count(p.queue) == 1);
      FUZZ_CHECK(NextAfter(
          p.cron, p.zone,
          date::floor<std::chrono::seconds>(std::chrono::system_clock::now())));
    }
  }
  for (const auto& [name, l] : c.listeners) {
    FUZZ_CHECK(l.name == name && !l.listen.empty() && !l.handler.empty());
    FUZZ_CHECK(!l.terminator.empty() && l.terminator.size() <= 8);
    FUZZ_CHECK(l.reply_terminator.size() <= 8);
    FUZZ_CHECK(l.max_frame > 0 && l.max_frame <= (64u << 20));
    FUZZ_CHECK(l.max_concurrent >= 1 && l.max_connections >= 1);
    FUZZ_CHECK(l.site.empty() || c.sites.count(l.site) == 1);
    for (const auto& [site, keepalive] : l.site_keepalive) {
      FUZZ_CHECK(c.sites.count(site) == 1 && keepalive.count() >= 0);
    }
    FUZZ_CHECK(l.handler_options.IsMap());
  }
  for (const auto& [name, a] : c.xmpp) {
    FUZZ_CHECK(a.name == name && !a.password.empty());
    FUZZ_CHECK(a.port >= 1 && a.port <= 65535);
    FUZZ_CHECK(a.site.empty() || c.sites.count(a.site) == 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  qd::Config c;
  c.file = "\x01untouched";
  qd::Status s = qd::Config::LoadString(text, kName, &c);
  if (!s.ok()) {
    FUZZ_CHECK(s.message().rfind(std::string(kName) + ":", 0) == 0);
    for (char ch : s.message()) {
      FUZZ_CHECK(static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f);
    }
    FUZZ_CHECK(c.file == "\x01untouched");
    return 0;
  }
  CheckLoaded(c);
  return 0;
}
