#include "core/os/pid_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "core/os/process.h"

namespace qd {
namespace {

pid_t ReadPid(int fd) {
  char buf[32] = {0};
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  return n > 0 ? static_cast<pid_t>(std::atol(buf)) : 0;
}

bool IsQueuedaemon(pid_t pid) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name.rfind("queuedaemon", 0) == 0 || name.rfind("qd-", 0) == 0;
}

Status MakeParent(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return Status::Ok();
  std::string dir = path.substr(0, slash);
  std::string partial;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      partial = dir.substr(0, i);
      if (!partial.empty() && mkdir(partial.c_str(), 0755) != 0 &&
          errno != EEXIST) {
        return Status::Error("cannot create " + partial + ": " +
                             std::strerror(errno));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

PidFile::~PidFile() {
  if (fd_ < 0) return;
  if (owner_ == getpid()) unlink(path_.c_str());
  close(fd_);
}

Status PidFile::Acquire(const std::string& path) {
  path_ = path;
  Status s = MakeParent(path);
  if (!s.ok()) return Status::Error("pid file " + path + ": " + s.message());
  // Not through a symbolic link: after a --user drop the directory may be
  // that user's, who must not make root write elsewhere on the next start.
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd_ < 0) {
    return Status::Error("pid file " + path + ": " + std::strerror(errno));
  }
  pid_t other = ReadPid(fd_);
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0 ||
      (other > 0 && other != getpid() && Process::Alive(other) &&
       IsQueuedaemon(other))) {
    close(fd_);
    fd_ = -1;
    return Status::Error("already running as pid " + std::to_string(other) +
                         " (pid file " + path +
                         "); stop it first or use another --id");
  }
  return Rewrite();
}

Status PidFile::Rewrite() {
  owner_ = getpid();
  std::string text = std::to_string(owner_) + "\n";
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, text.data(), text.size(), 0) !=
                                    static_cast<ssize_t>(text.size())) {
    return Status::Error("pid file " + path_ + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace qd
