// A plugin built by another compiler: the loader must refuse it by name.
#include "queuedaemon/plugin.h"

namespace {
void Register(qd::Registry&) {}
}  // namespace

extern "C" __attribute__((visibility("default"))) const QdPluginInfo*
qd_plugin_entry(void) {
  static const QdPluginInfo info = {QD_PLUGIN_ABI_VERSION,
                                    "othercc-1.0/other-stdlib/queuedaemon-0",
                                    "bad_signature", &Register};
  return &info;
}
