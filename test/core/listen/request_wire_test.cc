#include "core/listen/request_wire.h"

#include <event2/buffer.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

namespace qd {
namespace {

using Result = RequestWire::Result;
using Buffer = std::unique_ptr<evbuffer, decltype(&evbuffer_free)>;

Buffer NewBuffer() { return Buffer(evbuffer_new(), evbuffer_free); }

std::string Drain(evbuffer* buf) {
  std::string bytes(evbuffer_get_length(buf), '\0');
  evbuffer_remove(buf, bytes.data(), bytes.size());
  return bytes;
}

// A raw message with the given prefix lengths and bytes after them.
std::string Raw(uint32_t header_size, uint32_t body_size,
                const std::string& rest) {
  std::string out;
  for (uint32_t v : {header_size, body_size}) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      out += static_cast<char>((v >> shift) & 0xff);
    }
  }
  return out + rest;
}

class RequestWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    master_ = fds[0];
    worker_ = fds[1];
  }
  void TearDown() override {
    CloseMaster();
    CloseWorker();
  }
  void CloseMaster() {
    if (master_ >= 0) close(master_);
    master_ = -1;
  }
  void CloseWorker() {
    if (worker_ >= 0) close(worker_);
    worker_ = -1;
  }
  void Put(const std::string& bytes) {
    evbuffer_add(in_.get(), bytes.data(), bytes.size());
  }

  int master_ = -1;
  int worker_ = -1;
  Buffer in_ = NewBuffer();
  WireMessage msg_;
  std::string error_;
};

TEST(WireMessageTest, StateTakesStringsAndSkipsTheRest) {
  WireMessage m;
  SessionState state = {{"stale", "x"}};
  EXPECT_FALSE(m.State(&state));
  EXPECT_EQ(state.size(), 1u) << "untouched without a state";
  m.header = nlohmann::json::parse(
      R"({"t":"reply","state":{"requests":"3","n":4,"list":[1],"k":"v"}})");
  ASSERT_TRUE(m.State(&state));
  EXPECT_EQ(state, (SessionState{{"requests", "3"}, {"k", "v"}}));
  m.header = nlohmann::json::parse(R"({"t":"reply","state":"no"})");
  EXPECT_FALSE(m.State(&state));
}

TEST(WireMessageTest, LoginReadsItsFields) {
  WireMessage m;
  WireLogin login;
  EXPECT_FALSE(m.Login(&login));
  m.header = nlohmann::json::parse(
      R"({"t":"reply","login":{"ok":true,"site":"a","account":"alice"}})");
  ASSERT_TRUE(m.Login(&login));
  EXPECT_TRUE(login.ok);
  EXPECT_EQ(login.site, "a");
  EXPECT_EQ(login.account, "alice");
  m.header = nlohmann::json::parse(R"({"t":"reply","login":[true]})");
  EXPECT_FALSE(m.Login(&login));
}

// Listener::OnReply read these with json::value(), which throws on a type
// mismatch: one bad reply from a worker ended the master (the reason the
// reading moved here, where the session fuzz target reaches it).
TEST(WireMessageTest, LoginFieldsOfAnotherTypeReadAsAbsent) {
  WireMessage m;
  m.header = nlohmann::json::parse(
      R"({"t":"reply","login":{"ok":1,"site":5,"account":null}})");
  WireLogin login;
  login.site = "stale";
  ASSERT_TRUE(m.Login(&login));
  EXPECT_FALSE(login.ok);
  EXPECT_EQ(login.site, "");
  EXPECT_EQ(login.account, "");
}

TEST_F(RequestWireTest, RoundTripWithBinaryBody) {
  const std::string body("\0\xff\r\n\x80 frame", 11);
  nlohmann::json header = {{"t", "request"}, {"kind", "login"},
                           {"conn", "c1"},   {"site", "a"},
                           {"account", ""},  {"saved", false}};
  RequestWire::Encode(header, body, in_.get());
  RequestWire::Encode({{"t", "reply"}}, "", in_.get());
  ASSERT_EQ(RequestWire::Decode(in_.get(), &msg_, &error_), Result::kMessage);
  EXPECT_EQ(msg_.header, header);
  EXPECT_EQ(msg_.body, body);
  ASSERT_EQ(RequestWire::Decode(in_.get(), &msg_, &error_), Result::kMessage);
  EXPECT_EQ(msg_.header["t"], "reply");
  EXPECT_EQ(msg_.body, "");
  EXPECT_EQ(RequestWire::Decode(in_.get(), &msg_, &error_), Result::kNeedMore);
}

TEST_F(RequestWireTest, InvalidUtf8InHeaderIsReplacedNotThrown) {
  nlohmann::json header = {{"t", "request"}, {"account", "al\xff\xfeice"}};
  RequestWire::Encode(header, "x", in_.get());
  ASSERT_EQ(RequestWire::Decode(in_.get(), &msg_, &error_), Result::kMessage);
  EXPECT_EQ(msg_.header["account"], "al\xef\xbf\xbd\xef\xbf\xbdice");
}

TEST_F(RequestWireTest, PartialDeliveryByteByByte) {
  Buffer encoded = NewBuffer();
  RequestWire::Encode({{"t", "reply"}, {"saved", true}}, "hello\r",
                      encoded.get());
  const std::string bytes = Drain(encoded.get());
  for (size_t i = 0; i + 1 < bytes.size(); ++i) {
    Put(bytes.substr(i, 1));
    ASSERT_EQ(RequestWire::Decode(in_.get(), &msg_, &error_), Result::kNeedMore)
        << "after " << i + 1 << " bytes";
    ASSERT_EQ(evbuffer_get_length(in_.get()), i + 1);  // left untouched
  }
  Put(bytes.substr(bytes.size() - 1));
  ASSERT_EQ(RequestWire::Decode(in_.get(), &msg_, &error_), Result::kMessage);
  EXPECT_EQ(msg_.header["saved"], true);
  EXPECT_EQ(msg_.body, "hello\r");
  EXPECT_EQ(evbuffer_get_length(in_.get()), 0u);
}

TEST_F(RequestWireTest, OversizeHeaderLengthIsAnErrorAtOnce) {
  Put(Raw(9000000, 0, ""));  // no need to wait for 9 MB that never come
  ASSERT_EQ(RequestWire::Decode(in_.get(), &msg_, &error_), Result::kError);
  EXPECT_EQ(error_, "header of 9000000 bytes exceeds 65536");
}

TEST_F(RequestWireTest, OversizeBodyLengthIsAnErrorAtOnce) {
  Put(Raw(2, 0xffffffff, "{}"));
  ASSERT_EQ(RequestWire::Decode(in_.get(), &msg_, &error_), Result::kError);
  EXPECT_EQ(error_, "body of 4294967295 bytes exceeds 67108864");
}

TEST_F(RequestWireTest, LimitsThemselvesAreAccepted) {
  Put(Raw(RequestWire::kMaxHeader, RequestWire::kMaxBody, ""));
  EXPECT_EQ(RequestWire::Decode(in_.get(), &msg_, &error_), Result::kNeedMore);
}

TEST_F(RequestWireTest, HeaderMustBeAJsonObject) {
  Put(Raw(5, 1, "[1,2]x"));
  ASSERT_EQ(RequestWire::Decode(in_.get(), &msg_, &error_), Result::kError);
  EXPECT_EQ(error_, "header is a JSON array, not an object");
  evbuffer_drain(in_.get(), evbuffer_get_length(in_.get()));
  Put(Raw(4, 0, "{\"t\""));
  ASSERT_EQ(RequestWire::Decode(in_.get(), &msg_, &error_), Result::kError);
  EXPECT_EQ(error_, "header is not valid JSON");
  evbuffer_drain(in_.get(), evbuffer_get_length(in_.get()));
  Put(Raw(0, 0, ""));
  ASSERT_EQ(RequestWire::Decode(in_.get(), &msg_, &error_), Result::kError);
  EXPECT_EQ(error_, "header is not valid JSON");
}

TEST_F(RequestWireTest, WriteThenReadOverASocketPair) {
  ASSERT_TRUE(RequestWire::Write(master_, {{"t", "request"}}, "one"));
  ASSERT_TRUE(RequestWire::Write(master_, {{"t", "request"}}, "two"));
  Buffer buffer = NewBuffer();
  ASSERT_EQ(RequestWire::Read(worker_, buffer.get(), &msg_, &error_),
            Result::kMessage);
  EXPECT_EQ(msg_.body, "one");
  ASSERT_EQ(RequestWire::Read(worker_, buffer.get(), &msg_, &error_),
            Result::kMessage);
  EXPECT_EQ(msg_.body, "two");
}

TEST_F(RequestWireTest, LargeBodyCrossesInManyReads) {
  std::string body(3 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7);
  bool written = false;
  std::thread writer([&] {
    written = RequestWire::Write(master_, {{"t", "reply"}}, body);
  });
  Buffer buffer = NewBuffer();
  Result result = RequestWire::Read(worker_, buffer.get(), &msg_, &error_);
  writer.join();
  ASSERT_EQ(result, Result::kMessage) << error_;
  EXPECT_TRUE(written);
  EXPECT_TRUE(msg_.body == body);
}

TEST_F(RequestWireTest, CleanEofBetweenMessagesHasNoError) {
  ASSERT_TRUE(RequestWire::Write(master_, {{"t", "request"}}, "last"));
  CloseMaster();
  Buffer buffer = NewBuffer();
  ASSERT_EQ(RequestWire::Read(worker_, buffer.get(), &msg_, &error_),
            Result::kMessage);
  error_ = "stale";
  EXPECT_EQ(RequestWire::Read(worker_, buffer.get(), &msg_, &error_),
            Result::kError);
  EXPECT_EQ(error_, "");
}

TEST_F(RequestWireTest, EofInsideAMessageIsAnError) {
  std::string partial = Raw(2, 10, "{}abc");
  ASSERT_EQ(write(master_, partial.data(), partial.size()),
            static_cast<ssize_t>(partial.size()));
  CloseMaster();
  Buffer buffer = NewBuffer();
  EXPECT_EQ(RequestWire::Read(worker_, buffer.get(), &msg_, &error_),
            Result::kError);
  EXPECT_EQ(error_, "EOF inside a message");
}

TEST_F(RequestWireTest, WriteToAGonePeerIsFalseNotSigpipe) {
  CloseWorker();
  EXPECT_FALSE(RequestWire::Write(master_, {{"t", "reply"}}, "x"));
}

TEST_F(RequestWireTest, WriteRefusesAnOversizeBody) {
  std::string body(RequestWire::kMaxBody + 1, 'x');
  EXPECT_FALSE(RequestWire::Write(master_, {{"t", "reply"}}, body));
}

}  // namespace
}  // namespace qd
