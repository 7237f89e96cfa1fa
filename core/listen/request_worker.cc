#include "core/listen/request_worker.h"

#include <event2/buffer.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "core/config/redis_url.h"
#include "core/listen/frame_reader.h"
#include "core/listen/request_wire.h"
#include "core/listen/session_record.h"
#include "core/listen/wire_header.h"
#include "core/os/fork_child.h"
#include "core/redis/redis_conn.h"
#include "core/util/units.h"

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

// A fork-personality worker's session in Redis, for whoever looks: saved
// after each request that changed it (blocking), deleted at the end. Redis
// trouble is logged and costs the copy only.
class SessionSaver {
 public:
  SessionSaver(std::string key, RedisUrl redis, std::chrono::milliseconds ttl)
      : key_(std::move(key)), url_(std::move(redis)), ttl_(ttl) {}

  void Save(SessionRecord& record) {
    RedisConn* redis = Redis();
    if (redis == nullptr) return;
    record.updated_ms = EpochMs();
    std::string ttl = std::to_string(ttl_.count());
    Status s = redis->Call({"SET", key_, record.Encode(), "PX", ttl});
    if (!s.ok()) {
      spdlog::error("cannot save session {}: {}", key_, s.message());
      redis_.reset();
      return;
    }
    saved_ = true;
  }

  void Forget() {
    if (!saved_) return;
    if (RedisConn* redis = Redis()) {
      Status s = redis->Call({"DEL", key_});
      if (!s.ok())
        spdlog::warn("cannot delete session {}: {}", key_, s.message());
    }
  }

 private:
  RedisConn* Redis() {
    if (redis_) return redis_.get();
    Status s = RedisConn::Open(url_, &redis_);
    if (!s.ok()) {
      spdlog::error("session store: {}", s.message());
      return nullptr;
    }
    return redis_.get();
  }

  std::string key_;
  RedisUrl url_;
  std::chrono::milliseconds ttl_;
  std::unique_ptr<RedisConn> redis_;
  bool saved_ = false;
};

int ServeClientLoop(RequestRunner& runner, const ListenerConfig& config,
                    RequestHandler& handler, int client_fd,
                    SessionSaver& saver) {
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
  SessionRecord record;
  record.listener = config.name;
  record.site = config.site;
  std::string frame;
  int idle_ms = config.idle_timeout.count() > 0
                    ? static_cast<int>(config.idle_timeout.count())
                    : -1;
  while (!g_stop) {
    switch (framer.Next(in.b, &frame)) {
      case FrameReader::Result::kFrame: {
        RequestRunner::Outcome out = runner.Run(need_login, frame, &record);
        if (!SendAll(client_fd, out.reply + term)) return 0;
        if (out.changed) saver.Save(record);  // after the reply
        if (need_login) {
          if (!out.login.ok) return 0;
          need_login = false;
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

}  // namespace

int ServeChannel(RequestRunner& runner, const ListenerConfig& config,
                 int channel_fd) {
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
    SessionRecord record;
    record.listener = config.name;
    record.site = JsonString(h, "site");
    if (record.site.empty()) record.site = config.site;
    record.account = JsonString(h, "account");
    record.ok = !record.account.empty();
    message.State(&record.state);
    RequestRunner::Outcome out = runner.Run(login, message.body, &record);
    if (out.reply.size() > RequestWire::kMaxBody) {
      spdlog::error("reply of {} exceeds {}: sending the error reply instead",
                    FormatSize(out.reply.size()),
                    FormatSize(RequestWire::kMaxBody));
      out.reply = runner.ErrorReply();
    }
    std::string state;  // JSON text, when the request changed it
    if (out.changed) {
      WireHeader::AppendState(&state, record.state);
      if (state.size() > RequestWire::kMaxState) {
        spdlog::error(
            "session state of {} exceeds {}: this request's changes are not "
            "kept",
            FormatSize(state.size()), FormatSize(RequestWire::kMaxState));
        state.clear();
      }
    }
    WireLogin outcome{out.login.ok, out.login.site, out.login.account};
    std::string header = WireHeader::Reply(state, login ? &outcome : nullptr);
    if (!RequestWire::WriteText(channel_fd, header, out.reply)) return 0;
  }
}

int ServeClient(RequestRunner& runner, const ListenerConfig& config,
                RequestHandler& handler, int client_fd,
                const std::string& session_key, const RedisUrl& redis) {
  SessionSaver saver(session_key, redis, config.session_ttl);
  int code = ServeClientLoop(runner, config, handler, client_fd, saver);
  saver.Forget();
  return code;
}

bool OpenChannel(const ListenerConfig& config, int fds[2]) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0) return true;
  spdlog::error("listener {}: socketpair: {}", config.name,
                std::strerror(errno));
  return false;
}

pid_t ForkClientWorker(const ListenerConfig& config, RequestHandler& handler,
                       const std::string& conn_id, int client_fd,
                       const RedisUrl& redis) {
  pid_t pid = ForkChild({client_fd}, "qd-req-" + config.name,
                        config.name + " " + conn_id);
  if (pid == 0) {
    RequestRunner runner(config, handler, conn_id);
    _exit(ServeClient(runner, config, handler, client_fd,
                      SessionRecord::Key(config.prefix, conn_id), redis));
  }
  if (pid < 0) {
    spdlog::error("listener {}: cannot fork: {}", config.name,
                  std::strerror(errno));
  }
  return pid;
}

}  // namespace qd
