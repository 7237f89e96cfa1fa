// The built-in queue handlers: noop, log and exec (handlers/*_handler.h).
// The entry points register them before loading plugins; core/ never
// includes handlers/ (docs/architecture.md: core is the framework, handlers use
// only its public headers).
#pragma once

#include "queuedaemon/plugin.h"

namespace qd {

// Registers "noop", "log" and "exec" into `registry`.
void RegisterBuiltinHandlers(Registry& registry);

}  // namespace qd
