#include "core/util/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace qd {
namespace {

Status CannotRead(const std::string& path, int error) {
  return Status::Error(path + ": cannot read it (" + std::strerror(error) +
                       ")");
}

}  // namespace

// The mode is checked on the open descriptor, so the file read is the file
// checked.
Status SecretFile::Read(const std::string& path, std::string* content) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return CannotRead(path, errno);
  struct stat st;
  Status s;
  if (fstat(fd, &st) != 0) {
    s = CannotRead(path, errno);
  } else if (!S_ISREG(st.st_mode)) {
    s = Status::Error(path + ": not a regular file");
  } else if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    s = Status::Error(path + ": readable by others; chmod 600 it");
  } else if (static_cast<size_t>(st.st_size) > kMaxSize) {
    s = Status::Error(path + ": larger than 64 KiB");
  }
  std::string text;
  char buf[4096];
  while (s.ok()) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) s = CannotRead(path, errno);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxSize)
      s = Status::Error(path + ": larger than 64 KiB");
  }
  close(fd);
  if (s.ok()) *content = std::move(text);
  return s;
}

Status SecretFile::ReadFirstLine(const std::string& path, std::string* line) {
  std::string content;
  Status s = Read(path, &content);
  if (!s.ok()) return s;
  content.resize(std::min(content.size(), content.find('\n')));
  if (!content.empty() && content.back() == '\r') content.pop_back();
  if (content.empty()) return Status::Error(path + ": the first line is empty");
  *line = std::move(content);
  return Status::Ok();
}

}  // namespace qd
