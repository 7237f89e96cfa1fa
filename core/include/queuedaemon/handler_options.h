// HandlerOptions: reads and checks the options a handler is given.
//
// A queue's keys that the framework does not know reach its handler as a
// YAML map (HandlerConfig::options; a listener's as
// RequestHandlerConfig::options). A handler rejects keys it does not know,
// with a "did you mean" when a known key is close, so that a typo stops
// start-up instead of being ignored. The built-in handlers and plugins use
// this one rule, so that every handler's messages read alike:
//
//   HandlerOptions options("example-upper", config.options, {"fail_on"});
//   std::string fail_on;
//   Status s = options.CheckKeys();
//   if (s.ok()) s = options.GetString("fail_on", &fail_on);
//   if (!s.ok()) { *error = s.message(); return nullptr; }
//
// Implemented in the daemon (core/plugin/handler_options.cc), which exports
// it to plugins. A plain value over a YAML node: use it in a factory, on
// one thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "queuedaemon/status.h"

namespace qd {

class HandlerOptions {
 public:
  // `handler` is the handler's name, for messages; `known` its option keys.
  // `noun` names a key in messages: "option" for a handler's options, e.g.
  // "key" for a map nested in one (an account's keys).
  HandlerOptions(std::string handler, YAML::Node options,
                 std::vector<std::string> known, std::string noun = "option");

  // Ok when `options` is a map (or absent, or null) whose keys are all
  // known, else one line: "unknown option 'comand' (did you mean
  // 'command'?)", "unknown option 'x' (exec knows: command, env)" or
  // "unknown option 'x' (noop takes no options)"; "options must be a map"
  // when it is not a map.
  Status CheckKeys() const;

  // The value of option `name`, or a null node when absent.
  YAML::Node Get(const std::string& name) const;

  // An optional scalar option: leaves `*out` alone when absent.
  Status GetString(const std::string& name, std::string* out) const;

 private:
  std::string handler_;
  YAML::Node options_;
  std::vector<std::string> known_;
  std::string noun_;
};

}  // namespace qd
