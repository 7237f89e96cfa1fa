#include "scripts/queuemon/json_view.h"

namespace qd::mon {
namespace {

using Json = nlohmann::json;

Json OrNull(const std::optional<double>& v) {
  return v ? Json(*v) : Json(nullptr);
}

Json RowJson(const WorkerRow& row) {
  return {{"host", row.host},
          {"id", row.id},
          {"slot", row.slot},
          {"site", row.site},
          {"queue", row.queue},
          {"jobs_per_s", row.jobs_per_s},
          {"failures_per_s", row.failures_per_s},
          {"p50_ms", OrNull(row.p50_ms)},
          {"p99_ms", OrNull(row.p99_ms)},
          {"rss", OrNull(row.rss)},
          {"state", row.state.empty() ? Json(nullptr) : Json(row.state)}};
}

Json OtherJson(const OtherMetric& metric) {
  Json tags = Json::object();
  for (const auto& [key, value] : metric.tags) tags[key] = value;
  return {
      {"name", metric.name},           {"type", StatsdTypeName(metric.type)},
      {"tags", std::move(tags)},       {"rate", OrNull(metric.rate)},
      {"value", OrNull(metric.value)}, {"count", OrNull(metric.count)},
      {"p50", OrNull(metric.p50)},     {"p99", OrNull(metric.p99)}};
}

}  // namespace

nlohmann::json RenderJson(const Report& report) {
  Json rows = Json::array();
  for (const WorkerRow& row : report.rows) rows.push_back(RowJson(row));
  Json other = Json::array();
  for (const OtherMetric& m : report.other) other.push_back(OtherJson(m));
  return {{"ts", report.ts_ms},
          {"interval_ms", report.interval_ms},
          {"datagrams", report.datagrams},
          {"rows", std::move(rows)},
          {"other", std::move(other)},
          {"bad_lines", report.bad_lines},
          {"last_error", report.last_error.empty() ? Json(nullptr)
                                                   : Json(report.last_error)}};
}

}  // namespace qd::mon
