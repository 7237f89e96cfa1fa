// Fuzz target: the multiplex framer (FrameReader) on any byte stream cut
// into any chunks.
//
// Input: byte 0 sets the terminator length (1..8), the next bytes are the
// terminator, then one byte sets max_frame (1..254, or a value near
// SIZE_MAX for the saturating limit), four bytes set the chunk sizes in turn
// (1..32, 0 = all the rest; the high bit appends the chunk as a chain of its
// own, so a terminator can straddle libevent's chains), and the rest is the
// stream.
// Checks that every frame is at most max_frame bytes and holds no
// terminator, that kNeedMore and kTooLong take nothing out of the buffer,
// and that the chunked stream and the whole stream in one append give the
// same frames and the same end as a plain model of the contract in
// frame_reader.h.
#include <event2/buffer.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/listen/frame_reader.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using qd::FrameReader;
using Result = FrameReader::Result;

struct Outcome {
  std::vector<std::string> frames;
  Result end = Result::kNeedMore;
  size_t left = 0;  // bytes still buffered at kNeedMore
};

// What frame_reader.h promises for `stream` as a whole.
Outcome Model(std::string_view stream, std::string_view terminator,
              size_t max_frame) {
  const size_t kMax = std::numeric_limits<size_t>::max();
  const size_t limit = max_frame > kMax - terminator.size()
                           ? kMax
                           : max_frame + terminator.size();
  Outcome out;
  while (true) {
    size_t at = stream.find(terminator);
    if (at != std::string_view::npos && at <= max_frame) {
      out.frames.emplace_back(stream.substr(0, at));
      stream.remove_prefix(at + terminator.size());
    } else {
      out.end = stream.size() >= limit ? Result::kTooLong : Result::kNeedMore;
      out.left = stream.size();
      return out;
    }
  }
}

// Feeds `stream` in chunks of the sizes in `chunks` (in turn, 0 = all the
// rest), taking every frame after each append as the master does.
Outcome Feed(std::string_view stream, std::string_view terminator,
             size_t max_frame, const uint8_t* chunks, size_t num_chunks) {
  std::unique_ptr<evbuffer, decltype(&evbuffer_free)> in(evbuffer_new(),
                                                         evbuffer_free);
  FrameReader reader{std::string(terminator), max_frame};
  Outcome out;
  std::string frame;
  for (size_t i = 0; !stream.empty(); ++i) {
    uint8_t chunk = num_chunks == 0 ? 0 : chunks[i % num_chunks];
    size_t size = chunk == 0 ? stream.size() : (chunk & 31u) + 1;
    if (size > stream.size()) size = stream.size();
    if (chunk & 0x80u) {
      evbuffer_add_reference(in.get(), stream.data(), size, nullptr, nullptr);
    } else {
      evbuffer_add(in.get(), stream.data(), size);
    }
    stream.remove_prefix(size);
    while (true) {
      const size_t before = evbuffer_get_length(in.get());
      Result r = reader.Next(in.get(), &frame);
      const size_t after = evbuffer_get_length(in.get());
      if (r != Result::kFrame) {
        FUZZ_CHECK(after == before);
        out.end = r;
        out.left = after;
        if (r == Result::kTooLong) return out;  // the connection is closed
        break;
      }
      FUZZ_CHECK(frame.size() <= max_frame);
      FUZZ_CHECK(frame.find(terminator) == std::string::npos);
      FUZZ_CHECK(before - after == frame.size() + terminator.size());
      out.frames.push_back(frame);
    }
  }
  return out;
}

void CheckSame(const Outcome& got, const Outcome& want) {
  FUZZ_CHECK(got.frames == want.frames);
  FUZZ_CHECK(got.end == want.end);
  if (want.end == Result::kNeedMore) FUZZ_CHECK(got.left == want.left);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kChunks = 4;
  if (size < 1) return 0;
  const size_t term_size = (data[0] & 7u) + 1;
  if (size < 1 + term_size + 1 + kChunks) return 0;
  std::string_view terminator(reinterpret_cast<const char*>(data + 1),
                              term_size);
  const uint8_t max_byte = data[1 + term_size];
  const size_t max_frame = max_byte == 255 ? std::numeric_limits<size_t>::max()
                           : max_byte == 254
                               ? std::numeric_limits<size_t>::max() - 4
                               : size_t{max_byte} + 1;
  const uint8_t* chunks = data + 2 + term_size;
  const size_t header = 2 + term_size + kChunks;
  std::string_view stream(reinterpret_cast<const char*>(data + header),
                          size - header);

  Outcome want = Model(stream, terminator, max_frame);
  CheckSame(Feed(stream, terminator, max_frame, chunks, kChunks), want);
  CheckSame(Feed(stream, terminator, max_frame, nullptr, 0), want);
  return 0;
}
