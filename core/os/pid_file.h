// PidFile: the master's pid file, held for the daemon's lifetime.
//
// Acquire() takes an exclusive flock on the file (so two masters with the
// same id cannot both run, even if one of them wrote no pid yet) and refuses
// when the file names a live queuedaemon. The lock stays with the open file
// description: a daemonizing fork keeps it, workers close their copy. The
// file is removed when the PidFile is destroyed in the process that wrote it.
#pragma once

#include <sys/types.h>

#include <string>

#include "queuedaemon/status.h"

namespace qd {

class PidFile {
 public:
  PidFile() = default;
  ~PidFile();
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

  // Creates the directory if needed, locks and writes our pid.
  Status Acquire(const std::string& path);
  // Writes the current pid again (after daemonizing changed it).
  Status Rewrite();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  pid_t owner_ = 0;
};

}  // namespace qd
