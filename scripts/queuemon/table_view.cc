#include "scripts/queuemon/table_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <vector>

#include "core/util/units.h"

namespace qd::mon {
namespace {

// Cells wider than this are cut (a tag list can be long).
constexpr size_t kMaxCell = 60;

// Left-aligned text columns, two spaces apart.
class TextTable {
 public:
  void Add(std::vector<std::string> cells) {
    for (auto& cell : cells) {
      if (cell.size() > kMaxCell) cell = cell.substr(0, kMaxCell - 3) + "...";
    }
    widths_.resize(std::max(widths_.size(), cells.size()));
    for (size_t i = 0; i < cells.size(); ++i) {
      widths_[i] = std::max(widths_[i], cells[i].size());
    }
    lines_.push_back(std::move(cells));
  }

  std::string Render() const {
    std::string out;
    for (const auto& cells : lines_) {
      std::string line;
      for (size_t i = 0; i < cells.size(); ++i) {
        line += cells[i];
        if (i + 1 < cells.size())
          line.append(widths_[i] - cells[i].size() + 2, ' ');
      }
      out += line + "\n";
    }
    return out;
  }

 private:
  std::vector<size_t> widths_;
  std::vector<std::vector<std::string>> lines_;
};

std::string Dash(const std::string& s) { return s.empty() ? "-" : s; }

std::string Fixed(const std::optional<double>& v, int decimals) {
  return v ? fmt::format("{:.{}f}", *v, decimals) : "-";
}

std::string Shortest(const std::optional<double>& v) {
  return v ? fmt::format("{}", *v) : "-";
}

std::string Bytes(const std::optional<double>& v) {
  if (!v) return "-";
  return *v < 0 ? Shortest(v) : FormatSize(static_cast<uint64_t>(*v));
}

std::string Tags(const TagList& tags) {
  std::string out;
  for (const auto& [key, value] : tags) {
    if (!out.empty()) out += ',';
    out += value.empty() ? key : key + ":" + value;
  }
  return Dash(out);
}

std::string Title(const Report& report, const std::string& listen) {
  std::time_t seconds = static_cast<std::time_t>(report.ts_ms / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char clock[16];
  std::strftime(clock, sizeof(clock), "%H:%M:%S", &local);
  std::string title =
      fmt::format("queuemon {}  {}  interval {}  datagrams {}  bad lines: {}",
                  listen, clock, FormatDuration(Duration(report.interval_ms)),
                  report.datagrams, report.bad_lines);
  if (!report.last_error.empty()) {
    title += " (last: " + report.last_error + ")";
  }
  return title + "\n";
}

std::string Rows(const Report& report) {
  if (report.rows.empty()) return "(no queuedaemon metrics yet)\n";
  TextTable table;
  table.Add({"HOST", "ID", "SLOT", "SITE", "QUEUE", "JOBS/S", "FAIL/S", "P50MS",
             "P99MS", "RSS", "STATE"});
  for (const WorkerRow& r : report.rows) {
    table.Add({Dash(r.host), Dash(r.id), Dash(r.slot), Dash(r.site),
               Dash(r.queue), Fixed(r.jobs_per_s, 1),
               Fixed(r.failures_per_s, 1), Fixed(r.p50_ms, 1),
               Fixed(r.p99_ms, 1), Bytes(r.rss), Dash(r.state)});
  }
  return table.Render();
}

std::string Other(const Report& report) {
  if (report.other.empty()) return "";
  TextTable table;
  table.Add({"NAME", "TYPE", "TAGS", "RATE/S", "VALUE", "COUNT", "P50", "P99"});
  for (const OtherMetric& m : report.other) {
    table.Add({m.name, StatsdTypeName(m.type), Tags(m.tags), Fixed(m.rate, 2),
               Shortest(m.value), Shortest(m.count), Shortest(m.p50),
               Shortest(m.p99)});
  }
  return "\nother metrics\n" + table.Render();
}

}  // namespace

std::string RenderTable(const Report& report, const std::string& listen) {
  return Title(report, listen) + "\n" + Rows(report) + Other(report);
}

}  // namespace qd::mon
