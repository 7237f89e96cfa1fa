// The example plugin's entry point: what `plugins.load: [example]` loads
// from plugins.dir/example.so. It registers one queue handler,
// "example-upper" (upper_handler.h), and one request handler for listeners,
// "example-line" (line_handler.h).
#include "line_handler.h"
#include "queuedaemon/plugin.h"
#include "upper_handler.h"

namespace {

void Register(qd::Registry& registry) {
  registry.AddQueueHandler("example-upper", &example::UpperHandler::Create);
  registry.AddRequestHandler("example-line", &example::LineHandler::Create);
}

}  // namespace

QD_PLUGIN("example", Register)
