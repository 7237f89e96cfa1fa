#include "builtin_handlers.h"

#include "exec_handler.h"
#include "log_handler.h"
#include "noop_handler.h"
#include "xmpp_handler.h"

namespace qd {

void RegisterBuiltinHandlers(Registry& registry) {
  registry.AddQueueHandler("noop", &NoopHandler::Create);
  registry.AddQueueHandler("log", &LogHandler::Create);
  registry.AddQueueHandler("exec", &ExecHandler::Create);
  registry.AddQueueHandler("xmpp", &XmppHandler::Create);
}

}  // namespace qd
