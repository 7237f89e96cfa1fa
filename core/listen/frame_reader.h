// FrameReader: cuts a byte stream into requests at a terminator.
//
// Works on a libevent evbuffer, so the master's bufferevents and the fork
// personality's blocking loop share one framer. A frame is the bytes before
// the terminator; the terminator is consumed and not returned. A frame
// longer than max_frame (counted without the terminator) is an error the
// caller must treat as fatal for the connection: kTooLong is reported as
// soon as max_frame + terminator bytes are buffered without a terminator, so
// a client cannot make the master buffer more than that.
#pragma once

#include <cstddef>
#include <string>

struct evbuffer;

namespace qd {

class FrameReader {
 public:
  enum class Result { kFrame, kNeedMore, kTooLong };

  // REQUIRES: !terminator.empty(), max_frame > 0.
  FrameReader(std::string terminator, size_t max_frame);

  // Takes the next frame out of `in` into *frame (replacing its contents).
  // kNeedMore leaves `in` untouched; kTooLong leaves it untouched too.
  Result Next(evbuffer* in, std::string* frame);

  const std::string& terminator() const { return terminator_; }
  size_t max_frame() const { return max_frame_; }

 private:
  std::string terminator_;
  size_t max_frame_;
  size_t searched_ = 0;  // bytes of `in` known to hold no terminator start
};

}  // namespace qd
