// OutputLogger: turns what a command writes into log lines.
//
// Chunks of a command's stdout and stderr arrive as they are read; each
// complete line is logged through the job's logger (stdout at info, stderr
// at warn), escaped to one line and cut at kMaxLine bytes. At most
// `max_logged` bytes are logged per job: beyond that the output is still
// read (the command must not block on a full pipe) but only counted, and
// Finish() says how much was left out. The last non-empty stderr line is
// kept for the job's failure reason. One per job run, one thread.
#pragma once

#include <spdlog/logger.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace qd {

class OutputLogger {
 public:
  enum class Stream { kStdout, kStderr };
  static constexpr size_t kMaxLine = 4096;

  OutputLogger(spdlog::logger& log, size_t max_logged);

  // Takes the next `chunk` of `stream`; logs the lines it completes.
  void Add(Stream stream, std::string_view chunk);
  // Logs unfinished last lines and, when the cap was hit, how many bytes
  // were not logged. Call once, after the command is done.
  void Finish();

  // The last non-empty line of stderr ("" when none), escaped, at most
  // kMaxReasonLine bytes of it: for the job's reason.
  static constexpr size_t kMaxReasonLine = 200;
  const std::string& last_error_line() const { return last_error_line_; }

 private:
  void Line(Stream stream, std::string_view line);
  // The unfinished line of `stream`.
  std::string& pending(Stream stream) {
    return stream == Stream::kStdout ? out_ : err_;
  }

  spdlog::logger& log_;
  size_t max_logged_;
  size_t logged_ = 0;
  size_t dropped_ = 0;
  std::string out_, err_;
  std::string last_error_line_;
};

}  // namespace qd
