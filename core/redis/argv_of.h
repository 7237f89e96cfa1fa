// ArgvOf: a command's arguments as hiredis takes them (argv pointers and
// their lengths) for redisCommandArgv, redisAppendCommandArgv and
// redisAsyncCommandArgv. It points into the arguments' characters, which
// must outlive it.
#pragma once

#include <cstddef>
#include <vector>

namespace qd {

struct ArgvOf {
  // `args`: any sequence of strings or string views.
  template <typename Args>
  explicit ArgvOf(const Args& args) {
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
  }
  int argc() const { return static_cast<int>(argv.size()); }

  std::vector<const char*> argv;
  std::vector<size_t> lens;
};

}  // namespace qd
