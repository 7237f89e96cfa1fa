// The built-in queue handlers: noop, log, exec and xmpp
// (handlers/*_handler.h).
// The entry points register them before loading plugins; core/ never
// includes handlers/ (docs/architecture.md: core is the framework, handlers use
// only its public headers).
#pragma once

#include "queuedaemon/plugin.h"

namespace qd {

// Registers "noop", "log", "exec" and "xmpp" into `registry`.
void RegisterBuiltinHandlers(Registry& registry);

}  // namespace qd
