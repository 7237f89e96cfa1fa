#include "core/monitor/http_completion.h"

#include "core/monitor/http_connection.h"

namespace qd {

void HttpCompletion::Complete(const HttpResponse& response) const {
  if (waiting()) (*target_)->Answer(response);
}

HttpCompletion HttpDeferral::Defer(HttpResponse on_deadline) {
  if (deferred_) return HttpCompletion();
  deferred_ = true;
  return connection_->BeginWait(std::move(on_deadline));
}

}  // namespace qd
