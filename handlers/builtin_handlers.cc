#include "handlers/builtin_handlers.h"

#include "handlers/exec_handler.h"
#include "handlers/log_handler.h"
#include "handlers/noop_handler.h"
#include "handlers/xmpp_handler.h"

namespace qd {

void RegisterBuiltinHandlers(Registry& registry) {
  registry.AddQueueHandler("noop", &NoopHandler::Create);
  registry.AddQueueHandler("log", &LogHandler::Create);
  registry.AddQueueHandler("exec", &ExecHandler::Create);
  registry.AddQueueHandler("xmpp", &XmppHandler::Create);
}

}  // namespace qd
