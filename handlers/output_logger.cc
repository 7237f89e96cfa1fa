#include "output_logger.h"

#include "printable.h"

namespace qd {

OutputLogger::OutputLogger(spdlog::logger& log, size_t max_logged)
    : log_(log), max_logged_(max_logged) {}

void OutputLogger::Add(Stream stream, std::string_view chunk) {
  std::string& text = pending(stream);
  while (!chunk.empty()) {
    size_t newline = chunk.find('\n');
    size_t room = kMaxLine - text.size();
    if (newline == std::string_view::npos && chunk.size() < room) {
      text.append(chunk);
      return;
    }
    // A line ends at the newline, or is cut when it would pass kMaxLine.
    size_t take =
        newline == std::string_view::npos || newline > room ? room : newline;
    text.append(chunk.substr(0, take));
    chunk.remove_prefix(take < chunk.size() && chunk[take] == '\n' ? take + 1
                                                                   : take);
    Line(stream, text);
    text.clear();
  }
}

void OutputLogger::Finish() {
  if (!out_.empty()) Line(Stream::kStdout, out_);
  if (!err_.empty()) Line(Stream::kStderr, err_);
  out_.clear();
  err_.clear();
  if (dropped_ > 0) {
    log_.warn("output truncated: {} more bytes not logged (limit {} bytes)",
              dropped_, max_logged_);
  }
}

void OutputLogger::Line(Stream stream, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (stream == Stream::kStderr && !line.empty()) {
    last_error_line_ = Printable(line, kMaxReasonLine);
  }
  if (logged_ + line.size() > max_logged_) {
    dropped_ += line.size() + 1;
    return;
  }
  logged_ += line.size() + 1;
  if (stream == Stream::kStdout) {
    log_.info("stdout: {}", Printable(line, kMaxLine));
  } else {
    log_.warn("stderr: {}", Printable(line, kMaxLine));
  }
}

}  // namespace qd
