// A plugin whose register function registers one handler, then throws: the
// loader must report it and register nothing of it.
#include <stdexcept>

#include "queuedaemon/plugin.h"

namespace {
void Register(qd::Registry& registry) {
  registry.AddQueueHandler("throws-half",
                           [](const qd::HandlerConfig&, std::string*) {
                             return std::unique_ptr<qd::QueueHandler>();
                           });
  throw std::runtime_error("cannot find its license file");
}
}  // namespace

QD_PLUGIN("throws", Register)
