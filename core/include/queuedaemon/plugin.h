// The plugin interface: one C entry point per shared object.
//
// A plugin is a shared object in `plugins.dir`, named NAME.so, loaded by the
// master before the fork with dlopen(RTLD_NOW | RTLD_LOCAL). It exports
// exactly one symbol, `qd_plugin_entry`, best defined with QD_PLUGIN:
//
//   #include "queuedaemon/plugin.h"
//   static void Register(qd::Registry& r) {
//     r.AddQueueHandler("upper", [](const qd::HandlerConfig& c, std::string* e)
//         -> std::unique_ptr<qd::QueueHandler> { ... });
//   }
//   QD_PLUGIN("example", Register)
//
// ABI versions: 2 added Registry::AddRequestHandler. 3 added
// JobContext::Defer, QueueHandler::FetchOpen, HandlerConfig's `xmpp` and
// `fetch_again` (queuedaemon/xmpp_sender.h) and HandlerOptions, and took
// IoManager::io() away.
//
// The loader refuses, with one line naming the file, a plugin whose ABI
// version or signature (compiler, C++ ABI, queuedaemon major version) differs
// from the daemon's: C++ objects cross this boundary, so both sides must be
// built alike.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "queuedaemon/io_manager.h"
#include "queuedaemon/queue_handler.h"
#include "queuedaemon/request_handler.h"

// Bumped whenever a type a plugin sees changes layout or meaning.
#define QD_PLUGIN_ABI_VERSION 3
#define QD_VERSION_MAJOR 0

#define QD_STRINGIFY2(x) #x
#define QD_STRINGIFY(x) QD_STRINGIFY2(x)
#if defined(__clang__)
#define QD_COMPILER "clang-" __clang_version__
#elif defined(__GNUC__)
#define QD_COMPILER "gcc-" __VERSION__
#else
#define QD_COMPILER "unknown"
#endif
#if defined(_GLIBCXX_USE_CXX11_ABI)
#define QD_CXX_ABI "libstdc++-cxx11abi-" QD_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)
#else
#define QD_CXX_ABI "other-stdlib"
#endif
// What must match between the daemon and a plugin, besides the ABI version.
#define QD_PLUGIN_SIGNATURE \
  QD_COMPILER "/" QD_CXX_ABI "/queuedaemon-" QD_STRINGIFY(QD_VERSION_MAJOR)

namespace qd {

// Where a plugin registers what it provides. Names are global: registering
// a name twice is an error reported at load time.
class Registry {
 public:
  virtual ~Registry() = default;
  virtual void AddQueueHandler(const std::string& name,
                               QueueHandlerFactory factory) = 0;
  // A RequestHandler for listeners (`handler:` of a listener).
  virtual void AddRequestHandler(const std::string& name,
                                 RequestHandlerFactory factory) = 0;
  // An IoManager created in every worker, after the fork.
  virtual void AddIoManager(
      const std::string& name,
      std::function<std::unique_ptr<IoManager>()> factory) = 0;
};

}  // namespace qd

extern "C" {
struct QdPluginInfo {
  uint32_t abi_version;   // QD_PLUGIN_ABI_VERSION when built
  const char* signature;  // QD_PLUGIN_SIGNATURE when built
  const char* name;
  void (*register_fn)(qd::Registry& registry);
};
typedef const QdPluginInfo* (*QdPluginEntryFn)(void);
}

#define QD_PLUGIN(NAME, REGISTER_FN)                                     \
  extern "C" __attribute__((visibility("default"))) const QdPluginInfo*  \
  qd_plugin_entry(void) {                                                \
    static const QdPluginInfo info = {                                   \
        QD_PLUGIN_ABI_VERSION, QD_PLUGIN_SIGNATURE, NAME, &REGISTER_FN}; \
    return &info;                                                        \
  }
