#include "core/plugin/plugin_loader.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

#include "core/os/process.h"
#include "queuedaemon/plugin.h"

namespace qd {
namespace {

// Collects what one plugin registers, so that it reaches the real registry
// all or nothing: a plugin whose register function throws halfway, or that
// reuses a name, adds none of its names.
class PendingRegistry : public Registry {
 public:
  void AddQueueHandler(const std::string& name,
                       QueueHandlerFactory factory) override {
    handlers_.emplace_back(name, std::move(factory));
  }
  void AddRequestHandler(const std::string& name,
                         RequestHandlerFactory factory) override {
    request_handlers_.emplace_back(name, std::move(factory));
  }
  void AddIoManager(
      const std::string& name,
      std::function<std::unique_ptr<IoManager>()> factory) override {
    managers_.emplace_back(name, std::move(factory));
  }

  // Adds everything to `target`, or nothing when a name is empty, has no
  // factory, repeats within the plugin or is already registered.
  Status CommitTo(HandlerRegistry& target) {
    Status s = Check("queue handler", handlers_, target.HandlerNames());
    if (s.ok()) {
      s = Check("request handler", request_handlers_,
                target.RequestHandlerNames());
    }
    if (s.ok()) s = Check("io manager", managers_, target.IoManagerNames());
    if (!s.ok()) return s;
    for (auto& [name, f] : handlers_) target.AddQueueHandler(name, f);
    for (auto& [name, f] : request_handlers_) target.AddRequestHandler(name, f);
    for (auto& [name, f] : managers_) target.AddIoManager(name, f);
    return Status::Ok();
  }

 private:
  template <typename Factory>
  static Status Check(const std::string& kind,
                      const std::vector<std::pair<std::string, Factory>>& added,
                      std::vector<std::string> taken) {
    for (const auto& [name, factory] : added) {
      if (name.empty() || !factory) {
        return Status::Error(kind + " '" + name +
                             "' has an empty name or no factory");
      }
      if (std::find(taken.begin(), taken.end(), name) != taken.end()) {
        return Status::Error(kind + " '" + name + "' is already registered");
      }
      taken.push_back(name);
    }
    return Status::Ok();
  }

  std::vector<std::pair<std::string, QueueHandlerFactory>> handlers_;
  std::vector<std::pair<std::string, RequestHandlerFactory>> request_handlers_;
  std::vector<std::pair<std::string, HandlerRegistry::IoManagerFactory>>
      managers_;
};

// "" when `path` is safe to load code from, else why not.
std::string CheckNotShared(const std::string& path, const struct stat& st) {
  mode_t w = st.st_mode & (S_IWGRP | S_IWOTH);
  if (w == 0) return "";
  const char* who = (w & S_IWOTH) != 0 ? "others" : "its group";
  return path + " is writable by " + who +
         ": refusing to load code anyone could replace (chmod go-w)";
}

std::string Dir(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Checks the plugin file and its directory before dlopen.
Status CheckFile(const std::string& path) {
  std::string dir = Dir(path);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    return Status::Error(path + ": plugin directory " + dir + ": " +
                         std::strerror(errno));
  }
  std::string why = CheckNotShared(dir, st);
  if (!why.empty()) return Status::Error(why);
  if (stat(path.c_str(), &st) != 0) {
    return Status::Error(path + ": " + std::strerror(errno) +
                         " (is it in plugins.dir, named NAME.so?)");
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::Error(path + ": not a regular file");
  }
  why = CheckNotShared(path, st);
  return why.empty() ? Status::Ok() : Status::Error(why);
}

// dlopen(3) and returns the plugin's info, checked against this daemon.
Status OpenAndCheck(const std::string& path, const QdPluginInfo** out) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    return Status::Error("cannot load " + path + ": " +
                         (error != nullptr ? error : "unknown dlopen error"));
  }
  dlerror();
  auto entry =
      reinterpret_cast<QdPluginEntryFn>(dlsym(handle, "qd_plugin_entry"));
  if (entry == nullptr) {
    return Status::Error(path +
                         " has no qd_plugin_entry symbol: not a queuedaemon "
                         "plugin (define the entry point with QD_PLUGIN)");
  }
  const QdPluginInfo* info = entry();
  if (info == nullptr) {
    return Status::Error(path + ": qd_plugin_entry returned no plugin info");
  }
  if (info->abi_version != QD_PLUGIN_ABI_VERSION) {
    return Status::Error(path + " was built for plugin ABI " +
                         std::to_string(info->abi_version) +
                         ", this daemon has " +
                         std::to_string(QD_PLUGIN_ABI_VERSION) +
                         ": rebuild it against this queuedaemon's headers");
  }
  const char* signature = info->signature != nullptr ? info->signature : "";
  if (std::strcmp(signature, QD_PLUGIN_SIGNATURE) != 0) {
    return Status::Error(path + " was built as '" + signature +
                         "', this daemon is '" QD_PLUGIN_SIGNATURE
                         "': rebuild it with the same compiler and "
                         "queuedaemon version");
  }
  if (info->register_fn == nullptr) {
    return Status::Error(path + ": its plugin info has no register function");
  }
  *out = info;
  return Status::Ok();
}

// A plugin name is a file name: no path, no extension games.
bool PlainName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

}  // namespace

Status PluginLoader::Load(const std::string& dir,
                          const std::vector<std::string>& names,
                          HandlerRegistry& registry) {
  for (const auto& name : names) {
    if (!PlainName(name)) {
      return Status::Error("plugin '" + name +
                           "': plugins.load takes plain names (NAME for "
                           "plugins.dir/NAME.so)");
    }
    std::string path = Process::Absolute(dir + "/" + name + ".so");
    if (loaded_.count(path) != 0) continue;
    Status s = LoadOne(path, registry);
    if (!s.ok()) return Status::Error("plugin '" + name + "': " + s.message());
    loaded_.insert(path);
  }
  return Status::Ok();
}

Status PluginLoader::LoadOne(const std::string& path,
                             HandlerRegistry& registry) {
  Status s = CheckFile(path);
  const QdPluginInfo* info = nullptr;
  if (s.ok()) s = OpenAndCheck(path, &info);
  if (!s.ok()) return s;
  PendingRegistry pending;
  try {
    info->register_fn(pending);
  } catch (const std::exception& e) {
    return Status::Error(path + ": its register function threw: " + e.what());
  } catch (...) {
    return Status::Error(path + ": its register function threw");
  }
  s = pending.CommitTo(registry);
  if (!s.ok()) return Status::Error(path + ": " + s.message());
  return Status::Ok();
}

}  // namespace qd
