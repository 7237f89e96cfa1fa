// PluginLoader: loads the plugins a config names and registers what they
// provide.
//
// A plugin is DIR/NAME.so with one C entry point, `qd_plugin_entry`
// (queuedaemon/plugin.h). The master loads plugins before the fork, so every
// worker shares their code pages. Each is opened with
// dlopen(RTLD_NOW | RTLD_LOCAL): an unresolved symbol fails now, not in the
// middle of a job, and plugins cannot see each other's symbols. A plugin is
// refused, with one line naming its file, when the file is missing, when it
// or its directory is writable by its group or others (anyone who can
// replace it can run code as the daemon), when dlopen fails, when it lacks
// the entry point, or when its ABI version or signature differ from the
// daemon's.
//
// Handles stay open for the life of the process (never dlclose): handlers
// and their vtables live in the plugin's code. Load() may be called again
// (SIGHUP): a plugin already loaded by this loader is skipped, so a changed
// .so file takes effect only on restart. What one plugin registers is added
// all or nothing. Master main thread only.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/plugin/handler_registry.h"
#include "queuedaemon/status.h"

namespace qd {

class PluginLoader {
 public:
  PluginLoader() = default;
  PluginLoader(const PluginLoader&) = delete;
  PluginLoader& operator=(const PluginLoader&) = delete;

  // Loads DIR/NAME.so for each of `names` in order and registers what it
  // provides into `registry`. Stops at the first error, returning one line
  // "plugin 'NAME': PATH ...: why"; plugins loaded before it stay loaded.
  Status Load(const std::string& dir, const std::vector<std::string>& names,
              HandlerRegistry& registry);

  // The absolute paths of the plugins loaded so far, sorted.
  const std::set<std::string>& loaded() const { return loaded_; }

 private:
  Status LoadOne(const std::string& path, HandlerRegistry& registry);

  std::set<std::string> loaded_;
};

}  // namespace qd
