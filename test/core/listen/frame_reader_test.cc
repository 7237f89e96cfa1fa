#include "core/listen/frame_reader.h"

#include <event2/buffer.h>
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

namespace qd {
namespace {

using Result = FrameReader::Result;

class FrameReaderTest : public ::testing::Test {
 protected:
  void Add(std::string_view bytes) {
    evbuffer_add(in_.get(), bytes.data(), bytes.size());
  }
  // Appends `bytes` as a chain of its own (the caller keeps them alive), so
  // a terminator can straddle libevent's chains, not just our calls.
  void AddChain(std::string_view bytes) {
    evbuffer_add_reference(in_.get(), bytes.data(), bytes.size(), nullptr,
                           nullptr);
  }
  size_t Buffered() const { return evbuffer_get_length(in_.get()); }

  std::unique_ptr<evbuffer, decltype(&evbuffer_free)> in_{evbuffer_new(),
                                                          evbuffer_free};
  std::string frame_;
};

TEST_F(FrameReaderTest, FrameSplitAcrossManySmallAppends) {
  FrameReader reader("\r", 100);
  for (char c : std::string("hello world")) {
    Add(std::string(1, c));
    EXPECT_EQ(reader.Next(in_.get(), &frame_), Result::kNeedMore);
  }
  EXPECT_EQ(Buffered(), 11u);  // kNeedMore took nothing
  Add("\r");
  ASSERT_EQ(reader.Next(in_.get(), &frame_), Result::kFrame);
  EXPECT_EQ(frame_, "hello world");
  EXPECT_EQ(Buffered(), 0u);
}

TEST_F(FrameReaderTest, TerminatorStraddlingAppends) {
  FrameReader reader("\r\n", 100);
  Add("abc\r");
  EXPECT_EQ(reader.Next(in_.get(), &frame_), Result::kNeedMore);
  Add("\ndef\r");
  ASSERT_EQ(reader.Next(in_.get(), &frame_), Result::kFrame);
  EXPECT_EQ(frame_, "abc");
  EXPECT_EQ(reader.Next(in_.get(), &frame_), Result::kNeedMore);
  Add("\n");
  ASSERT_EQ(reader.Next(in_.get(), &frame_), Result::kFrame);
  EXPECT_EQ(frame_, "def");
}

TEST_F(FrameReaderTest, TerminatorStraddlingChains) {
  FrameReader reader("\r\n", 100);
  static const char kFirst[] = "abc\r";
  static const char kSecond[] = "\nxyz";
  AddChain(kFirst);
  EXPECT_EQ(reader.Next(in_.get(), &frame_), Result::kNeedMore);
  AddChain(kSecond);
  ASSERT_EQ(reader.Next(in_.get(), &frame_), Result::kFrame);
  EXPECT_EQ(frame_, "abc");
  EXPECT_EQ(reader.Next(in_.get(), &frame_), Result::kNeedMore);
  EXPECT_EQ(Buffered(), 3u);
}

TEST_F(FrameReaderTest, LongTerminatorAddedByteByByte) {
  FrameReader reader("<END>", 100);
  for (char c : std::string("a<EN<END")) {
    Add(std::string(1, c));
    EXPECT_EQ(reader.Next(in_.get(), &frame_), Result::kNeedMore);
  }
  Add(">");
  ASSERT_EQ(reader.Next(in_.get(), &frame_), Result::kFrame);
  EXPECT_EQ(frame_, "a<EN");
}

TEST_F(FrameReaderTest, MultipleFramesInOneBuffer) {
  FrameReader reader("\r", 100);
  Add("one\rtwo\r\rthree\rfour");
  std::vector<std::string> frames;
  while (reader.Next(in_.get(), &frame_) == Result::kFrame) {
    frames.push_back(frame_);
  }
  EXPECT_EQ(frames, (std::vector<std::string>{"one", "two", "", "three"}));
  EXPECT_EQ(Buffered(), 4u);  // "four" waits for its terminator
}

TEST_F(FrameReaderTest, EmptyFrame) {
  FrameReader reader("\r\n", 10);
  frame_ = "stale";
  Add("\r\n");
  ASSERT_EQ(reader.Next(in_.get(), &frame_), Result::kFrame);
  EXPECT_EQ(frame_, "");
  EXPECT_EQ(Buffered(), 0u);
}

TEST_F(FrameReaderTest, ExactlyMaxFrameIsAccepted) {
  FrameReader reader("\r\n", 5);
  Add("12345\r");
  EXPECT_EQ(reader.Next(in_.get(), &frame_), Result::kNeedMore);
  Add("\n");
  ASSERT_EQ(reader.Next(in_.get(), &frame_), Result::kFrame);
  EXPECT_EQ(frame_, "12345");
}

TEST_F(FrameReaderTest, OneByteOverMaxFrameIsTooLong) {
  FrameReader reader("\r\n", 5);
  Add("123456\r");
  EXPECT_EQ(reader.Next(in_.get(), &frame_), Result::kTooLong);
  EXPECT_EQ(Buffered(), 7u);  // kTooLong took nothing either
  // Too long before the terminator even arrives: max_frame + terminator
  // bytes without one are enough to know.
  FrameReader other("\r\n", 5);
  evbuffer_drain(in_.get(), Buffered());
  Add("123456");
  EXPECT_EQ(other.Next(in_.get(), &frame_), Result::kNeedMore);
  Add("7");
  EXPECT_EQ(other.Next(in_.get(), &frame_), Result::kTooLong);
}

TEST_F(FrameReaderTest, TooLongAfterGoodFrames) {
  FrameReader reader("\r", 3);
  Add("abc\rabcd\r");
  ASSERT_EQ(reader.Next(in_.get(), &frame_), Result::kFrame);
  EXPECT_EQ(frame_, "abc");
  EXPECT_EQ(reader.Next(in_.get(), &frame_), Result::kTooLong);
}

TEST_F(FrameReaderTest, BinaryBytesInFrames) {
  FrameReader reader("\r\n", 100);
  const std::string binary("\0\xff\n\r\x01\0", 6);
  Add(binary + "\r\n" + std::string("\0", 1) + "\r\n");
  ASSERT_EQ(reader.Next(in_.get(), &frame_), Result::kFrame);
  EXPECT_EQ(frame_, binary);
  ASSERT_EQ(reader.Next(in_.get(), &frame_), Result::kFrame);
  EXPECT_EQ(frame_, std::string("\0", 1));
}

TEST_F(FrameReaderTest, HugeMaxFrameDoesNotOverflow) {
  FrameReader reader("\r\n", static_cast<size_t>(-1));
  Add("abc");
  EXPECT_EQ(reader.Next(in_.get(), &frame_), Result::kNeedMore);
  Add("\r\n");
  ASSERT_EQ(reader.Next(in_.get(), &frame_), Result::kFrame);
  EXPECT_EQ(frame_, "abc");
}

// The straightforward model: the whole input as a string, searched from 0.
Result Model(std::string* data, const std::string& term, size_t max_frame,
             std::string* frame) {
  size_t at = data->find(term);
  if (at != std::string::npos && at <= max_frame) {
    *frame = data->substr(0, at);
    data->erase(0, at + term.size());
    return Result::kFrame;
  }
  return data->size() >= max_frame + term.size() ? Result::kTooLong
                                                 : Result::kNeedMore;
}

// Random input over a tiny alphabet (so self-overlapping terminators such as
// "aab" and "aa" often half-match), added in random pieces, sometimes as
// separate chains: the reader must agree with the model at every step.
TEST_F(FrameReaderTest, AgreesWithModelOnRandomSplits) {
  std::mt19937 rng(12345);
  const std::vector<std::string> terminators = {"\r", "\r\n", "aa", "aab",
                                                "aba"};
  std::vector<std::string> keep;  // bytes added by reference
  for (int round = 0; round < 400; ++round) {
    const std::string& term = terminators[round % terminators.size()];
    const size_t max_frame = 1 + rng() % 12;
    FrameReader reader(term, max_frame);
    evbuffer_drain(in_.get(), Buffered());
    keep.clear();
    keep.reserve(64);
    std::string model;
    std::string input;
    for (int i = 0; i < 60; ++i) input += "ab\r\nc"[rng() % 5];
    size_t used = 0;
    while (used < input.size()) {
      size_t n = std::min<size_t>(1 + rng() % 4, input.size() - used);
      std::string piece = input.substr(used, n);
      used += n;
      model += piece;
      if (rng() % 2) {
        keep.push_back(piece);
        AddChain(keep.back());
      } else {
        Add(piece);
      }
      for (;;) {
        std::string expected_frame;
        Result expected = Model(&model, term, max_frame, &expected_frame);
        Result got = reader.Next(in_.get(), &frame_);
        ASSERT_EQ(got, expected) << "round " << round << " input " << input;
        ASSERT_EQ(Buffered(), model.size());
        if (got != Result::kFrame) break;
        ASSERT_EQ(frame_, expected_frame);
      }
      if (Buffered() >= max_frame + term.size()) break;  // too long: done
    }
  }
}

}  // namespace
}  // namespace qd
