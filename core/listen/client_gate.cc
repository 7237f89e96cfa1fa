#include "core/listen/client_gate.h"

#include <event2/util.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <chrono>

#include "core/util/units.h"

namespace qd {

ClientGate::ClientGate(const ListenerConfig& config, ListenerStats* stats)
    : config_(config), stats_(stats) {}

void ClientGate::RefuseFull(int fd, const RequestHandler& handler) {
  ++stats_->refused;
  Refuse(fd, handler);
  std::string note;
  if (Log(Line::kRefused, &note)) {
    spdlog::warn(
        "listener {}: refused a connection: max_connections {} "
        "reached{}",
        config_.name, config_.max_connections, note);
  }
}

std::optional<Duration> ClientGate::LoginTurn(int fd, const std::string& peer,
                                              const RequestHandler& handler) {
  if (config_.personality == "fork" || config_.login != "required" ||
      config_.login_delay.count() == 0) {
    return Duration(0);
  }
  std::optional<Duration> wait =
      throttle_.Book(peer, std::chrono::steady_clock::now(),
                     config_.login_delay, config_.login_timeout / 2);
  if (wait) return wait;
  ++stats_->login_throttled;
  Refuse(fd, handler);
  std::string note;
  if (Log(Line::kLogin, &note)) {
    spdlog::warn(
        "listener {}: refused a connection from {}: failed logins "
        "from there, no login turn free within {}{}",
        config_.name, peer, FormatDuration(config_.login_timeout / 2), note);
  }
  return std::nullopt;
}

void ClientGate::LoginTimedOut(const ClientConn& c) {
  ++stats_->login_timeouts;
  std::string note;
  if (Log(Line::kLogin, &note)) {
    spdlog::warn(
        "listener {}: connection {} from {}: not logged in "
        "within {}: closing{}",
        config_.name, c.id(), c.peer(), FormatDuration(config_.login_timeout),
        note);
  }
}

void ClientGate::LoginFailed(const ClientConn& c) {
  ++stats_->login_failed;
  if (config_.login_delay.count() > 0) {
    throttle_.Failed(c.peer(), std::chrono::steady_clock::now(),
                     config_.login_delay);
  }
  std::string note;
  if (Log(Line::kLogin, &note)) {
    spdlog::info("listener {}: connection {} from {}: login refused{}",
                 config_.name, c.id(), c.peer(), note);
  }
}

void ClientGate::TooLong(const ClientConn& c) {
  ++stats_->too_long;
  std::string note;
  if (Log(Line::kTooLong, &note)) {
    spdlog::warn(
        "listener {}: connection {}: request over max_frame {}: closing{}",
        config_.name, c.id(), FormatSize(config_.max_frame), note);
  }
}

void ClientGate::OutputTimedOut(const ClientConn& c) {
  ++stats_->output_closed;
  std::string note;
  if (Log(Line::kOutput, &note)) {
    spdlog::warn(
        "listener {}: connection {}: no reply written for {}: closing{}",
        config_.name, c.id(), FormatDuration(config_.output_timeout), note);
  }
}

void ClientGate::OutputOverHard(const ClientConn& c) {
  ++stats_->output_closed;
  std::string note;
  if (Log(Line::kOutput, &note)) {
    spdlog::warn(
        "listener {}: connection {}: {} of replies unread, over "
        "max_output_hard: closing{}",
        config_.name, c.id(), FormatSize(c.output_size()), note);
  }
}

bool ClientGate::Log(Line line, std::string* note) {
  return log_[static_cast<size_t>(line)].Allow(std::chrono::steady_clock::now(),
                                               note);
}

void ClientGate::Refuse(int fd, const RequestHandler& handler) {
  std::string refusal = handler.RefusedReply() + config_.ReplyTerminator();
  (void)!send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL);
  evutil_closesocket(fd);
}

}  // namespace qd
