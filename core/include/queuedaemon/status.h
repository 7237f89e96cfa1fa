// Status: the outcome of an operation that can fail, as a value.
//
// Modelled on LevelDB's Status: cheap to return when ok (no allocation), and
// carries one human-readable line otherwise ("what, where, why"). Used on
// every path where failure is expected (config, start-up, I/O); exceptions
// are left to code that cannot return a value (constructors, handlers).
// A Status is a plain value: safe to copy and to use from any thread.
#pragma once

#include <string>
#include <utility>

namespace qd {

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok

  static Status Ok() { return Status(); }
  static Status Error(std::string message) {
    Status s;
    s.ok_ = false;
    s.message_ = std::move(message);
    return s;
  }

  bool ok() const { return ok_; }
  // REQUIRES: !ok(). One line, no trailing newline.
  const std::string& message() const { return message_; }

 private:
  bool ok_ = true;
  std::string message_;
};

}  // namespace qd
