// queuemon: shows what queuedaemon (and any other statsd client) sends over
// UDP, live (docs/architecture.md, "Monitoring").
//
//   queuemon [--listen HOST:PORT] [--interval DUR] [--json] [--once]
//            [--timeout DUR] [--prefix P]
// This file only parses the command line; scripts/queuemon/ holds the
// parts: UdpListener, Aggregator, the table and JSON views, MonitorLoop.
// Exit codes: scripts/queuemon/monitor_loop.h.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "core/util/units.h"
#include "scripts/queuemon/monitor_loop.h"

namespace {

using qd::mon::kExitUsage;

int Fail(const qd::Status& status) {
  std::fprintf(stderr, "queuemon: %s\n", status.message().c_str());
  return kExitUsage;
}

// --interval and --timeout: "250ms", "5s", ...; 0 only where allowed.
qd::Status ParseDurationOption(const std::string& name, const std::string& text,
                               bool zero_ok, qd::Duration* out) {
  qd::Status s = qd::ParseDuration(text, out);
  if (!s.ok()) return qd::Status::Error(name + ": " + s.message());
  if (out->count() < 0 || (!zero_ok && out->count() == 0)) {
    return qd::Status::Error(name + ": '" + text + "' must be more than 0");
  }
  return qd::Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"queuemon: live statsd metrics from queuedaemon"};
  qd::mon::MonitorLoop::Options options;
  std::string interval = "1s", timeout;
  app.add_option("-l,--listen", options.listen,
                 "UDP address to listen on: HOST:PORT or [IPV6]:PORT")
      ->capture_default_str();
  app.add_option("--interval", interval, "aggregation interval, e.g. 1s")
      ->capture_default_str();
  app.add_flag("--json", options.json,
               "one JSON object per interval per line, for scripts");
  app.add_flag("--once", options.once,
               "print the first interval that received something, then exit");
  app.add_option("--timeout", timeout,
                 "exit 1 if nothing is received by then (default: 10s with "
                 "--once, else none; 0 = none)");
  app.add_option("--prefix", options.prefix,
                 "the daemon's monitor.prefix (\"\" for none)")
      ->capture_default_str();
  app.set_version_flag("--version", "queuemon 0.1.0");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? qd::mon::kExitOk : kExitUsage;
  }

  qd::Status s =
      ParseDurationOption("--interval", interval, false, &options.interval);
  if (!s.ok()) return Fail(s);
  if (timeout.empty()) timeout = options.once ? "10s" : "0";
  s = ParseDurationOption("--timeout", timeout, true, &options.timeout);
  if (!s.ok()) return Fail(s);

  qd::mon::MonitorLoop loop(std::move(options));
  s = loop.Open();
  if (!s.ok()) return Fail(s);
  return loop.Run();
}
