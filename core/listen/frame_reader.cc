#include "core/listen/frame_reader.h"

#include <event2/buffer.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace qd {

FrameReader::FrameReader(std::string terminator, size_t max_frame)
    : terminator_(std::move(terminator)), max_frame_(max_frame) {}

// Why the search is bounded and incremental: a client may trickle bytes in,
// so each call only looks at positions not ruled out before (searched_), and
// never past the first max_frame + terminator bytes, so one call costs at most
// what arrived since the previous one (plus terminator - 1 bytes of overlap,
// for a terminator that straddles two appends).
FrameReader::Result FrameReader::Next(evbuffer* in, std::string* frame) {
  const size_t length = evbuffer_get_length(in);
  const size_t term = terminator_.size();
  // The terminator must start at or before max_frame_ (saturating: a huge
  // max_frame must not wrap around).
  const size_t limit = max_frame_ > std::numeric_limits<size_t>::max() - term
                           ? std::numeric_limits<size_t>::max()
                           : max_frame_ + term;
  const size_t window = std::min(length, limit);
  // A buffer shorter than what we searched was drained behind our back:
  // searched_ no longer describes it.
  if (searched_ > length) searched_ = 0;

  if (window >= term && searched_ <= window - term) {
    evbuffer_ptr start;
    evbuffer_ptr end;
    // Both positions lie within the buffer, so neither call can fail.
    evbuffer_ptr_set(in, &start, searched_, EVBUFFER_PTR_SET);
    evbuffer_ptr_set(in, &end, window, EVBUFFER_PTR_SET);
    // Finds only a terminator that ends at or before `end`.
    evbuffer_ptr found =
        evbuffer_search_range(in, terminator_.data(), term, &start, &end);
    if (found.pos >= 0) {
      const size_t at = static_cast<size_t>(found.pos);
      frame->resize(at);
      if (at > 0) evbuffer_remove(in, frame->data(), at);
      evbuffer_drain(in, term);
      searched_ = 0;
      return Result::kFrame;
    }
    // Every start position whose terminator would fit in the window is
    // ruled out.
    searched_ = window - term + 1;
  }
  return length >= limit ? Result::kTooLong : Result::kNeedMore;
}

}  // namespace qd
