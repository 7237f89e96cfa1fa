// HandlerOptions: reads and checks the options of a built-in handler.
//
// A queue's keys that the framework does not know reach its handler as a
// YAML map (HandlerConfig::options). Built-in handlers reject keys they do
// not know, with a "did you mean" when a known key is close, so that a typo
// stops start-up instead of being ignored. Handlers only see the public
// headers, so this is their own small copy of the config loader's rule.
// A plain value over a YAML node: use it in a factory, on one thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "queuedaemon/status.h"

namespace qd {

class HandlerOptions {
 public:
  // `handler` is the handler's name, for messages; `known` its option keys.
  HandlerOptions(std::string handler, YAML::Node options,
                 std::vector<std::string> known);

  // Ok when `options` is a map (or empty) whose keys are all known, else
  // one line: "unknown option 'comand' (did you mean 'command'?)".
  Status CheckKeys() const;

  // The value of option `name`, or a null node when absent.
  YAML::Node Get(const std::string& name) const;

  // An optional scalar option: leaves `*out` alone when absent.
  Status GetString(const std::string& name, std::string* out) const;

  // The known key closest to `key`, or "" when none is close (at most two
  // edits, fewer than the known key has letters, case ignored).
  static std::string Suggest(const std::string& key,
                             const std::vector<std::string>& known);

 private:
  std::string handler_;
  YAML::Node options_;
  std::vector<std::string> known_;
};

}  // namespace qd
