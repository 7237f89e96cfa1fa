// A site's `periodic:` section: the cron entries that put a job in one of
// the site's queues at each tick (docs/periodic.md). Everything that can be
// checked without Redis is checked here, at load: the expression (with the
// column of the error inside it), the time zone, that the expression has a
// next tick at all, and that the queue is the site's.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config_sections.h"
#include "core/schedule/cron_ticks.h"
#include "queuedaemon/suggest.h"

namespace qd::config_detail {
namespace {

const std::vector<std::string> kMissed = {"skip", "run_once"};

void ReadCron(ConfigReader& r, const Item& item, PeriodicConfig* p) {
  std::string text;
  if (!r.ReadScalar(item, "a cron expression such as '0 30 2 * * *'", &text)) {
    return;
  }
  CronError error;
  std::optional<CronExpr> cron = CronExpr::Parse(text, &error);
  if (!cron) {
    size_t offset =
        error.column > 0 ? static_cast<size_t>(error.column - 1) : 0;
    return r.FailWithin(item, offset, error.message);
  }
  p->cron = *cron;
}

void ReadTimeZone(ConfigReader& r, const Item& item, PeriodicConfig* p) {
  std::string name;
  if (!r.ReadString(item, &name)) return;
  Status s = FindTimeZone(name, &p->zone);
  if (!s.ok()) return r.Fail(item, s.message());
  p->timezone = name;
}

void ReadPayload(ConfigReader& r, const Item& item, PeriodicConfig* p) {
  if (item.value.IsMap() || item.value.IsSequence()) {
    // `payload: {"kind":"nightly"}` is YAML for a map, not the JSON text.
    return r.Fail(
        item, "expected a string, got " + ConfigReader::Describe(item.value) +
                  " (quote a JSON payload: '{\"kind\":\"nightly\"}')");
  }
  if (item.value.IsNull()) return;  // `payload:` alone: empty
  (void)r.ReadScalar(item, "a string", &p->payload);
}

// An expression that matches no date (30 February) would never run: refused
// rather than kept as a job that silently does nothing.
void CheckHasNextTick(ConfigReader& r, const Item& cron,
                      const PeriodicConfig& p) {
  auto now =
      date::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  if (NextAfter(p.cron, p.zone, now)) return;
  r.Fail(cron, "'" + p.cron.text() + "' has no tick in the next " +
                   std::to_string(kSearchHorizon.count()) +
                   " days: it never matches (a date that does not exist?)");
}

void ReadEntry(ConfigReader& r, const Item& item, const std::string& site,
               PeriodicConfig* p, std::vector<QueueRef>* refs) {
  p->name = item.key.Scalar();
  p->line = item.key.Mark().line + 1;
  if (item.value.IsScalar()) {  // "nightly: 0 30 2 * * *"
    return r.Fail(item,
                  "expected a map such as { cron: '0 30 2 * * *', queue: "
                  "reports }, got " +
                      ConfigReader::Describe(item.value));
  }
  std::optional<Item> cron, queue;
  r.ReadMap(item,
            {
                {"cron",
                 [&](const Item& i) {
                   cron = i;
                   ReadCron(r, i, p);
                 }},
                {"timezone", [&](const Item& i) { ReadTimeZone(r, i, p); }},
                {"queue",
                 [&](const Item& i) {
                   queue = i;
                   r.ReadString(i, &p->queue);
                 }},
                {"payload", [&](const Item& i) { ReadPayload(r, i, p); }},
                {"missed",
                 [&](const Item& i) {
                   std::string text;
                   if (!r.ReadChoice(i, kMissed, &text)) return;
                   p->missed = text == "run_once"
                                   ? PeriodicConfig::Missed::kRunOnce
                                   : PeriodicConfig::Missed::kSkip;
                 }},
            });
  if (!r.ok()) return;
  if (!cron) return r.FailAtKey(item, "missing required key 'cron'");
  if (!queue) return r.FailAtKey(item, "missing required key 'queue'");
  if (p->zone == nullptr) {
    Status s = FindTimeZone(p->timezone, &p->zone);
    if (!s.ok()) return r.FailAtKey(item, s.message());
  }
  CheckHasNextTick(r, *cron, *p);
  refs->push_back({*queue, site});
}

}  // namespace

void ReadPeriodic(ConfigReader& r, const Item& item, SiteConfig* site,
                  std::vector<QueueRef>* refs) {
  r.ReadEntries(item, [&](const Item& entry) {
    CheckName(r, entry, "periodic entry");
    ReadEntry(r, entry, site->name, &site->periodic[entry.key.Scalar()], refs);
  });
}

void CheckQueueRefs(ConfigReader& r, const std::vector<QueueRef>& refs,
                    const std::map<std::string, SiteConfig>& sites) {
  for (const QueueRef& ref : refs) {
    const SiteConfig& site = sites.at(ref.site);
    const std::string& queue = ref.item.value.Scalar();
    if (site.queues.count(queue) != 0) continue;
    std::vector<std::string> names;
    for (const auto& [name, q] : site.queues) names.push_back(name);
    std::string what = "unknown queue '" + queue + "' of site " + site.name;
    std::string suggestion = Suggest(queue, names);
    if (!suggestion.empty()) {
      what += " (did you mean '" + suggestion + "'?)";
    } else if (names.empty()) {
      what += " (the site has no queues)";
    } else {
      std::string known;
      for (const auto& name : names)
        known += (known.empty() ? "" : ", ") + name;
      what += " (its queues: " + known + ")";
    }
    return r.Fail(ref.item, what);
  }
}

}  // namespace qd::config_detail
