// A plugin built for another plugin ABI: the loader must refuse it by name.
#include "queuedaemon/plugin.h"

namespace {
void Register(qd::Registry&) {}
}  // namespace

extern "C" __attribute__((visibility("default"))) const QdPluginInfo*
qd_plugin_entry(void) {
  static const QdPluginInfo info = {999, QD_PLUGIN_SIGNATURE, "bad_abi",
                                    &Register};
  return &info;
}
