// Command: one queuectl subcommand. Its constructor registers the
// subcommand, its arguments and options on the CLI11 app; after parsing,
// main() calls Run() on the one the user chose.
//
// Run() prints its own results (stdout) and errors (stderr, one line
// prefixed "queuectl: ") and returns an exit code from exit_code.h.
#pragma once

#include <CLI/CLI.hpp>

#include "scripts/queuectl/ctl_context.h"

namespace qd::ctl {

class Command {
 public:
  virtual ~Command() = default;

  // True when the user chose this command on the command line.
  bool chosen() const { return app_ != nullptr && app_->parsed(); }
  virtual int Run(CtlContext* ctx) = 0;

 protected:
  CLI::App* app_ = nullptr;  // owned by the parent app
};

// Prints "queuectl: <message>" to stderr and returns `code`.
int Fail(int code, const Status& status);

}  // namespace qd::ctl
