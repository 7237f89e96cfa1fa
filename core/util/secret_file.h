// SecretFile: reads a file that holds a secret (the control channel's shared
// key, a Redis or XMPP password), refusing one that its group or others may
// read, so that a shared host does not leak it. Messages name the file, never
// what it holds. Stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <string>

#include "queuedaemon/status.h"

namespace qd {

class SecretFile {
 public:
  static constexpr size_t kMaxSize = 64 << 10;

  // The whole of `path`, a regular file of at most kMaxSize bytes that
  // neither its group nor others may read (mode & 044 == 0). Errors, one
  // line each: "PATH: cannot read it (why)", "PATH: readable by others;
  // chmod 600 it", "PATH: not a regular file", "PATH: larger than 64 KiB".
  [[nodiscard]] static Status Read(const std::string& path,
                                   std::string* content);
  // The first line of `path`, checked and read as Read() does, without its
  // line end ("\n" or "\r\n"). Errors as Read()'s, or "PATH: the first line
  // is empty".
  [[nodiscard]] static Status ReadFirstLine(const std::string& path,
                                            std::string* line);
};

}  // namespace qd
