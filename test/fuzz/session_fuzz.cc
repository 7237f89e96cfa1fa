// Fuzz target: login and session decoding. The whole input is decoded as a
// session record (SessionRecord::Decode, JSON from Redis), as a message
// header (its "state" and "login" as the master reads them) and as a stream
// of master <-> request worker messages (RequestWire::Decode, then the
// header's fields).
//
// Checks: a refused record leaves the output untouched and says why in one
// bounded line; a decoded record encodes and decodes back to itself. Each
// message takes exactly its length prefix's bytes, kNeedMore takes none, a
// header is always a JSON object, a message encodes and decodes back to
// itself, and the state and login read from a header match its fields.
#include <event2/buffer.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/listen/request_wire.h"
#include "core/listen/session_record.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using qd::RequestWire;
using qd::SessionRecord;
using Buffer = std::unique_ptr<evbuffer, decltype(&evbuffer_free)>;

constexpr size_t kMaxMessage = 1024;

bool OneLine(const std::string& message) {
  return !message.empty() && message.size() <= kMaxMessage &&
         message.find('\n') == std::string::npos;
}

bool SameRecord(const SessionRecord& a, const SessionRecord& b) {
  return a.listener == b.listener && a.ok == b.ok && a.site == b.site &&
         a.account == b.account && a.state == b.state &&
         a.updated_ms == b.updated_ms;
}

void CheckRecord(std::string_view text) {
  SessionRecord out;
  out.site = "\x01untouched";
  qd::Status s = SessionRecord::Decode(text, &out);
  if (!s.ok()) {
    FUZZ_CHECK(OneLine(s.message()));
    FUZZ_CHECK(out.site == "\x01untouched");
    return;
  }
  const std::string encoded = out.Encode();
  SessionRecord again;
  FUZZ_CHECK(SessionRecord::Decode(encoded, &again).ok());
  FUZZ_CHECK(SameRecord(out, again));
  FUZZ_CHECK(again.Encode() == encoded);
}

uint32_t U32(const unsigned char* in) {
  return (uint32_t{in[0]} << 24) | (uint32_t{in[1]} << 16) |
         (uint32_t{in[2]} << 8) | uint32_t{in[3]};
}

// What the master and a worker read from a decoded header.
void CheckFields(const qd::WireMessage& m) {
  qd::SessionState state = {{"\x01stale", "x"}};
  auto it = m.header.find("state");
  if (m.State(&state)) {
    FUZZ_CHECK(it != m.header.end() && it->is_object());
    size_t strings = 0;
    for (const auto& [key, value] : it->items()) {
      if (!value.is_string()) continue;
      ++strings;
      auto got = state.find(key);
      FUZZ_CHECK(got != state.end() && got->second == value);
    }
    FUZZ_CHECK(state.size() == strings);
  } else {
    FUZZ_CHECK(it == m.header.end() || !it->is_object());
    FUZZ_CHECK(state.size() == 1 && state.count("\x01stale") == 1);
  }

  qd::WireLogin login;
  auto l = m.header.find("login");
  if (m.Login(&login)) {
    FUZZ_CHECK(l != m.header.end() && l->is_object());
    auto ok = l->find("ok");
    FUZZ_CHECK(login.ok == (ok != l->end() && *ok == true));
    auto site = l->find("site");
    if (site != l->end() && site->is_string()) FUZZ_CHECK(*site == login.site);
    auto account = l->find("account");
    if (account != l->end() && account->is_string()) {
      FUZZ_CHECK(*account == login.account);
    }
  } else {
    FUZZ_CHECK(l == m.header.end() || !l->is_object());
  }
}

// Encodes `m` again and decodes it: the same header and body. (A header
// re-encoded past kMaxHeader, "1E2" becoming "100.0", is not comparable.)
void CheckRoundTrip(const qd::WireMessage& m) {
  Buffer out(evbuffer_new(), evbuffer_free);
  RequestWire::Encode(m.header, m.body, out.get());
  unsigned char prefix[8];
  FUZZ_CHECK(evbuffer_copyout(out.get(), prefix, 8) == 8);
  if (U32(prefix) > RequestWire::kMaxHeader) return;
  qd::WireMessage again;
  std::string error;
  FUZZ_CHECK(RequestWire::Decode(out.get(), &again, &error) ==
             RequestWire::Result::kMessage);
  FUZZ_CHECK(evbuffer_get_length(out.get()) == 0);
  FUZZ_CHECK(again.header.dump() == m.header.dump());
  FUZZ_CHECK(again.body == m.body);
}

// The header fields without the framing: the input as a header's JSON.
void CheckHeader(std::string_view text) {
  qd::WireMessage m;
  m.header = nlohmann::json::parse(text, nullptr, false);
  if (!m.header.is_object()) return;  // discarded or another type
  CheckFields(m);
}

void CheckWire(const uint8_t* data, size_t size) {
  // Two chains, so a length prefix or a header can straddle them.
  Buffer in(evbuffer_new(), evbuffer_free);
  evbuffer_add_reference(in.get(), data, size / 2, nullptr, nullptr);
  evbuffer_add_reference(in.get(), data + size / 2, size - size / 2, nullptr,
                         nullptr);
  while (true) {
    const size_t before = evbuffer_get_length(in.get());
    unsigned char prefix[8] = {};
    evbuffer_copyout(in.get(), prefix, sizeof(prefix));
    qd::WireMessage m;
    std::string error;
    RequestWire::Result r = RequestWire::Decode(in.get(), &m, &error);
    const size_t after = evbuffer_get_length(in.get());
    if (r == RequestWire::Result::kError) {
      FUZZ_CHECK(OneLine(error));
      return;
    }
    if (r == RequestWire::Result::kNeedMore) {
      FUZZ_CHECK(after == before);
      return;
    }
    FUZZ_CHECK(before - after == 8 + size_t{U32(prefix)} + U32(prefix + 4));
    FUZZ_CHECK(m.header.is_object());
    FUZZ_CHECK(m.body.size() == U32(prefix + 4));
    CheckFields(m);
    CheckRoundTrip(m);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckRecord(text);
  CheckHeader(text);
  CheckWire(data, size);
  return 0;
}
