// Log: the process-wide spdlog logger, one line per event.
//
// Lines read "2026-11-23 09:30:01.123 info [worker 2 4711] text": the role
// (master, worker SLOT, redis) and pid are part of every line, the site is in
// the text where known. Destinations: stderr (the default, and always in the
// foreground), a file (opened O_APPEND and flushed per line, so master and
// workers can share it) or syslog. Not thread-safe to reconfigure: call
// Setup/SetRole/Reopen from the main thread only.
//
// Every message (and the jid of a queue logger's lines) is escaped on its
// way out: control characters become \n, \xNN and the like, and a message
// longer than kMaxMessageBytes is cut with "...(+N bytes)", so a value from
// outside (a job's jid or payload, a client's request) can neither split nor
// forge a line, nor make one record of megabytes.
#pragma once

#include <spdlog/logger.h>

#include <string>
#include <string_view>

#include "core/config/config.h"
#include "queuedaemon/status.h"

namespace qd {

class Log {
 public:
  static constexpr size_t kMaxMessageBytes = 8192;
  static constexpr size_t kMaxJidBytes = 200;

  // `level_override` ("" = the config's level) comes from -v/-q.
  static Status Setup(const LogConfig& config, const std::string& role,
                      const std::string& level_override = "");
  // After fork: new role and pid in every line; reopens the destination.
  static Status SetRole(const std::string& role);
  // After fork, in a child that keeps its parent's destination and logger
  // (a fork server's request workers): new role and pid in every line,
  // nothing reopened or rebuilt, so that a child that never logs pays
  // next to nothing for it. REQUIRES: the parent logs nothing unflushed
  // (every line is flushed).
  static void Rename(const std::string& role);
  // SIGUSR1: reopen the file (after logrotate moved it).
  static Status Reopen();
  // Drops the logger and its file without writing (in a forked child, before
  // it closes the descriptors it inherited).
  static void Release();

  // The logger handed to a queue's handlers: same destination, and every
  // line carries "SITE/QUEUE jid=JID" (the job set by SetCurrentJob).
  static spdlog::logger& ForQueue(const std::string& site,
                                  const std::string& queue);
  static void SetCurrentJob(std::string_view jid);
};

}  // namespace qd
