// queuectl: the operator's command-line tool.
//
//   queuectl [-c FILE] [--redis URL] [-i ID] COMMAND ...
//     status                                    is the daemon running
//     enqueue SITE QUEUE [PAYLOAD|-] [--delay D] [--bulk] [--jid J]
//             [--unique-key K [--unique-for D]]
//     stats [SITE] [--json]                     ready/pending/delayed/dead,
//                                               streams no queue serves
//     dead list|retry|purge SITE QUEUE ...      dead-lettered jobs
//     periodic [SITE] [--json]                  periodic entries, next and
//                                               last run
//     check [--site S] [--queue Q] [--ready-warn N] ...  Nagios plugin
//     reload|drain|resume [--site S]            to every live daemon (-i
//     restart | stop | ps [--json]              and --host H select some)
// Each command is a class in scripts/queuectl/; this file only parses the
// command line and dispatches. Exit codes: scripts/queuectl/exit_code.h.
#include <CLI/CLI.hpp>
#include <memory>
#include <vector>

#include "scripts/queuectl/check_command.h"
#include "scripts/queuectl/control_command.h"
#include "scripts/queuectl/ctl_context.h"
#include "scripts/queuectl/dead_command.h"
#include "scripts/queuectl/enqueue_command.h"
#include "scripts/queuectl/exit_code.h"
#include "scripts/queuectl/periodic_command.h"
#include "scripts/queuectl/stats_command.h"
#include "scripts/queuectl/status_command.h"

int main(int argc, char** argv) {
  using namespace qd::ctl;
  CLI::App app{"queuectl: operate queuedaemon"};
  CtlContext::Options options;
  app.add_option("-c,--config", options.config_path,
                 "the daemon's config file (default: built-in defaults)");
  app.add_option("--redis", options.redis_url,
                 "Redis url for the sites without their own redis");
  app.add_option("-i,--id", options.id,
                 "the daemon's id (control commands: only that daemon)");
  app.set_version_flag("--version", "queuectl 0.2.0");
  app.require_subcommand(1);
  app.fallthrough();  // global options after the command name, too

  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(std::make_unique<StatusCommand>(&app));
  commands.push_back(std::make_unique<EnqueueCommand>(&app));
  commands.push_back(std::make_unique<StatsCommand>(&app));
  commands.push_back(std::make_unique<DeadCommand>(&app));
  commands.push_back(std::make_unique<CheckCommand>(&app));
  commands.push_back(std::make_unique<PeriodicCommand>(&app));
  for (const std::string& name : ControlCommand::Names()) {
    commands.push_back(std::make_unique<ControlCommand>(&app, name));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  CtlContext ctx;
  qd::Status s = ctx.Load(options);
  if (!s.ok()) return Fail(kExitUsage, s);
  for (const auto& command : commands) {
    if (command->chosen()) return command->Run(&ctx);
  }
  return kExitUsage;
}
