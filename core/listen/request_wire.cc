#include "core/listen/request_wire.h"

#include <errno.h>
#include <event2/buffer.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <utility>

namespace qd {

bool WireMessage::State(SessionState* out) const {
  auto it = header.find("state");
  if (it == header.end() || !it->is_object()) return false;
  out->clear();
  for (auto v = it->begin(); v != it->end(); ++v) {
    if (v->is_string()) (*out)[v.key()] = v->get<std::string>();
  }
  return true;
}

// A field of another type reads as absent, never throws: json::value()
// would, and the master would die of a worker's bad reply.
bool WireMessage::Login(WireLogin* out) const {
  auto it = header.find("login");
  if (it == header.end() || !it->is_object()) return false;
  auto text = [&](const char* key) {
    auto v = it->find(key);
    return v != it->end() && v->is_string() ? v->get<std::string>() : "";
  };
  auto ok = it->find("ok");
  out->ok = ok != it->end() && ok->is_boolean() && ok->get<bool>();
  out->site = text("site");
  out->account = text("account");
  return true;
}

namespace {

constexpr size_t kPrefix = 8;  // two big-endian u32: header, body length

void PutU32(uint32_t v, unsigned char* out) {
  out[0] = static_cast<unsigned char>(v >> 24);
  out[1] = static_cast<unsigned char>(v >> 16);
  out[2] = static_cast<unsigned char>(v >> 8);
  out[3] = static_cast<unsigned char>(v);
}

uint32_t GetU32(const unsigned char* in) {
  return (uint32_t{in[0]} << 24) | (uint32_t{in[1]} << 16) |
         (uint32_t{in[2]} << 8) | uint32_t{in[3]};
}

// The header's text. Invalid UTF-8 in its strings is replaced, never
// thrown: headers carry client-chosen bytes (site, account).
std::string HeaderText(const nlohmann::json& header) {
  return header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Prefix(size_t header_size, size_t body_size, unsigned char* out) {
  PutU32(static_cast<uint32_t>(header_size), out);
  PutU32(static_cast<uint32_t>(body_size), out + 4);
}

// Writes all of [data, data + size) to a blocking socket. MSG_NOSIGNAL: a
// peer that is gone is an ordinary false, not a SIGPIPE.
bool SendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

std::string TooLarge(const char* what, uint32_t size, size_t max) {
  return std::string(what) + " of " + std::to_string(size) + " bytes exceeds " +
         std::to_string(max);
}

}  // namespace

void RequestWire::Encode(const nlohmann::json& header, std::string_view body,
                         evbuffer* out) {
  EncodeText(HeaderText(header), body, out);
}

void RequestWire::EncodeText(std::string_view header, std::string_view body,
                             evbuffer* out) {
  unsigned char prefix[kPrefix];
  Prefix(header.size(), body.size(), prefix);
  evbuffer_add(out, prefix, kPrefix);
  evbuffer_add(out, header.data(), header.size());
  evbuffer_add(out, body.data(), body.size());
}

RequestWire::Result RequestWire::Decode(evbuffer* in, WireMessage* out,
                                        std::string* error) {
  const size_t length = evbuffer_get_length(in);
  if (length < kPrefix) return Result::kNeedMore;
  unsigned char prefix[kPrefix];
  evbuffer_copyout(in, prefix, kPrefix);
  const uint32_t header_size = GetU32(prefix);
  const uint32_t body_size = GetU32(prefix + 4);
  // Checked before waiting for the rest, so a bad peer cannot make us
  // buffer gigabytes.
  if (header_size > kMaxHeader) {
    *error = TooLarge("header", header_size, kMaxHeader);
    return Result::kError;
  }
  if (body_size > kMaxBody) {
    *error = TooLarge("body", body_size, kMaxBody);
    return Result::kError;
  }
  if (length - kPrefix < size_t{header_size} + body_size) {
    return Result::kNeedMore;
  }

  evbuffer_drain(in, kPrefix);
  std::string text(header_size, '\0');
  evbuffer_remove(in, text.data(), header_size);
  std::string body(body_size, '\0');
  evbuffer_remove(in, body.data(), body_size);
  nlohmann::json header = nlohmann::json::parse(text, nullptr, false);
  if (header.is_discarded()) {
    *error = "header is not valid JSON";
    return Result::kError;
  }
  if (!header.is_object()) {
    *error = std::string("header is a JSON ") + header.type_name() +
             ", not an object";
    return Result::kError;
  }
  out->header = std::move(header);
  out->body = std::move(body);
  return Result::kMessage;
}

bool RequestWire::Write(int fd, const nlohmann::json& header,
                        std::string_view body) {
  return WriteText(fd, HeaderText(header), body);
}

bool RequestWire::WriteText(int fd, std::string_view header,
                            std::string_view body) {
  if (header.size() > kMaxHeader || body.size() > kMaxBody) {
    return false;  // the peer would refuse it and drop us
  }
  // One buffer, one send() in the common case: the reader wakes once.
  std::string message(kPrefix, '\0');
  Prefix(header.size(), body.size(),
         reinterpret_cast<unsigned char*>(message.data()));
  message.reserve(kPrefix + header.size() + body.size());
  message.append(header);
  message.append(body);
  return SendAll(fd, message.data(), message.size());
}

// Waits in poll() for input, not in recv(): when the master reads this
// worker's reply, a unix socket wakes every task waiting on the worker's end
// (the writer may have room now), and one sleeping in recv() would wake,
// find nothing and sleep again, once per request. poll() asked for POLLIN
// lets that wake-up pass.
RequestWire::Result RequestWire::Read(int fd, evbuffer* buffer,
                                      WireMessage* out, std::string* error) {
  bool drained = true;  // the last recv() took all there was
  for (;;) {
    Result result = Decode(buffer, out, error);
    if (result != Result::kNeedMore) return result;
    if (drained) {
      pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, -1) < 0) {
        if (errno == EINTR) continue;
        *error = std::string("poll: ") + std::strerror(errno);
        return Result::kError;
      }
    }
    char chunk[16384];  // no ioctl(FIONREAD) as evbuffer_read() makes
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n > 0) {
      drained = static_cast<size_t>(n) < sizeof chunk;
      evbuffer_add(buffer, chunk, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      if (evbuffer_get_length(buffer) == 0) {
        error->clear();
      } else {
        *error = "EOF inside a message";
      }
      return Result::kError;
    }
    if (errno == EINTR) continue;
    *error = std::string("read: ") + std::strerror(errno);
    return Result::kError;
  }
}

}  // namespace qd
