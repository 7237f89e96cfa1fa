#include "core/request_worker.h"

#include <event2/buffer.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/frame_reader.h"
#include "core/request_wire.h"
#include "core/units.h"

namespace qd {
namespace {

volatile sig_atomic_t g_stop = 0;

void OnStopSignal(int) { g_stop = 1; }

struct Buffer {
  evbuffer* b = evbuffer_new();
  ~Buffer() { evbuffer_free(b); }
};

// Writes all of `data` to a blocking socket; false when the peer is gone.
bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string JsonString(const nlohmann::json& header, const char* key) {
  auto it = header.find(key);
  return it != header.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

int ServeChannel(RequestRunner& runner, int channel_fd) {
  Buffer in;
  WireMessage message;
  std::string error;
  for (;;) {
    RequestWire::Result r =
        RequestWire::Read(channel_fd, in.b, &message, &error);
    if (r != RequestWire::Result::kMessage) {
      if (error.empty()) return 0;  // the master closed the channel
      spdlog::error("channel from the master: {}", error);
      return 1;
    }
    const nlohmann::json& h = message.header;
    if (JsonString(h, "t") != "request") {
      spdlog::error("channel from the master: unexpected message {}", h.dump());
      return 1;
    }
    bool login = JsonString(h, "kind") == "login";
    RequestRunner::Outcome out =
        runner.Run(login, message.body, JsonString(h, "site"),
                   JsonString(h, "account"), message.Flag("saved"));
    if (out.reply.size() > RequestWire::kMaxBody) {
      spdlog::error("reply of {} exceeds {}: sending the error reply instead",
                    FormatSize(out.reply.size()),
                    FormatSize(RequestWire::kMaxBody));
      out.reply = runner.ErrorReply();
    }
    nlohmann::json reply = {{"t", "reply"}, {"saved", out.saved}};
    if (login) {
      reply["login"] = {{"ok", out.login.ok},
                        {"site", out.login.site},
                        {"account", out.login.account}};
    }
    // Write-behind: the client has its reply before the session is saved,
    // unless this is the worker's last request (the master then does not
    // wait for it to exit before the connection's next worker).
    bool last = message.Flag("last");
    if (last) runner.Flush();
    reply["saving"] = !last && out.saving;
    if (!RequestWire::Write(channel_fd, reply, out.reply)) return 0;
    runner.Flush();
  }
}

int ServeClient(RequestRunner& runner, const ListenerConfig& config,
                RequestHandler& handler, int client_fd) {
  struct sigaction sa = {};
  sa.sa_handler = &OnStopSignal;  // no SA_RESTART: poll() returns EINTR
  sigaction(SIGTERM, &sa, nullptr);
  int flags = fcntl(client_fd, F_GETFL);
  fcntl(client_fd, F_SETFL, flags & ~O_NONBLOCK);
  timeval send_timeout = {30, 0};  // a client that never reads
  setsockopt(client_fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
             sizeof(send_timeout));

  const std::string& term = config.ReplyTerminator();
  FrameReader framer(config.terminator, config.max_frame);
  Buffer in;
  bool need_login = config.login == "required";
  std::string site = config.site, account, frame;
  bool saved = false;
  int idle_ms = config.idle_timeout.count() > 0
                    ? static_cast<int>(config.idle_timeout.count())
                    : -1;
  while (!g_stop) {
    switch (framer.Next(in.b, &frame)) {
      case FrameReader::Result::kFrame: {
        RequestRunner::Outcome out =
            runner.Run(need_login, frame, site, account, saved);
        saved = out.saved;
        if (!SendAll(client_fd, out.reply + term)) return 0;
        runner.Flush();
        if (need_login) {
          if (!out.login.ok) return 0;
          need_login = false;
          site = out.login.site;
          account = out.login.account;
        }
        continue;
      }
      case FrameReader::Result::kTooLong:
        spdlog::warn("request over max_frame {}: closing",
                     FormatSize(config.max_frame));
        (void)SendAll(client_fd, handler.TooLongReply() + term);
        return 0;
      case FrameReader::Result::kNeedMore:
        break;
    }
    pollfd p = {client_fd, POLLIN, 0};
    int n = poll(&p, 1, idle_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      spdlog::info("idle for {}: closing", FormatDuration(config.idle_timeout));
      return 0;
    }
    int got = n < 0 ? -1 : evbuffer_read(in.b, client_fd, 65536);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return 0;  // the client left
  }
  return 0;
}

}  // namespace qd
