#include "queuedaemon/job.h"

#include <charconv>

namespace qd {
namespace {
int64_t ToInt(std::string_view s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}
}  // namespace

Job::Job(std::string_view site, std::string_view queue, std::string_view id,
         std::vector<Field> fields)
    : site_(site),
      queue_(queue),
      id_(id),
      jid_(id),
      fields_(std::move(fields)) {
  for (const auto& [name, value] : fields_) {
    if (name == "payload") {
      payload_ = value;
    } else if (name == "jid" && !value.empty()) {
      jid_ = value;
    } else if (name == "attempt") {
      attempt_ = static_cast<int>(ToInt(value));
    } else if (name == "enqueued_at") {
      enqueued_at_ms_ = ToInt(value);
    }
  }
}

}  // namespace qd
