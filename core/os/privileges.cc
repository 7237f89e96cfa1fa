#include "core/os/privileges.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

namespace qd {
namespace {

constexpr int kMaxDepth = 32;

// A whole number that fits an id (and is not -1, which means "unchanged"
// to setuid and chown).
bool ParseId(const std::string& text, unsigned* out) {
  if (text.empty()) return false;
  unsigned id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() ||
      id == static_cast<unsigned>(-1)) {
    return false;
  }
  *out = id;
  return true;
}

// getpwnam_r and friends want a buffer whose size they may find too small.
std::vector<char> Buffer(int which) {
  long size = sysconf(which);
  return std::vector<char>(size > 0 ? static_cast<size_t>(size) : 16384);
}

// The passwd entry for `user` (a name or a uid): *found false when none.
// Errors are real lookup failures (NSS down), not a missing entry.
Status LookUpUser(const std::string& user, bool by_id, unsigned id, passwd* pw,
                  std::vector<char>* buf, bool* found) {
  passwd* result = nullptr;
  int err;
  for (;;) {
    err = by_id
              ? getpwuid_r(id, pw, buf->data(), buf->size(), &result)
              : getpwnam_r(user.c_str(), pw, buf->data(), buf->size(), &result);
    if (err != ERANGE) break;
    buf->resize(buf->size() * 2);
  }
  // Not found is 0 with a null result, though some NSS modules say ENOENT.
  if (err != 0 && err != ENOENT && err != ESRCH) {
    return Status::Error("cannot look up user '" + user +
                         "': " + std::strerror(err));
  }
  *found = result != nullptr;
  return Status::Ok();
}

Status LookUpGroup(const std::string& group, bool by_id, unsigned id,
                   struct group* gr, std::vector<char>* buf, bool* found) {
  struct group* result = nullptr;
  int err;
  for (;;) {
    err = by_id ? getgrgid_r(id, gr, buf->data(), buf->size(), &result)
                : getgrnam_r(group.c_str(), gr, buf->data(), buf->size(),
                             &result);
    if (err != ERANGE) break;
    buf->resize(buf->size() * 2);
  }
  if (err != 0 && err != ENOENT && err != ESRCH) {
    return Status::Error("cannot look up group '" + group +
                         "': " + std::strerror(err));
  }
  *found = result != nullptr;
  return Status::Ok();
}

Status Failed(const std::string& what, int error) {
  return Status::Error(what + ": " + std::strerror(error));
}

// Everything in the open directory `fd` (which this takes over), depth
// first, never through a symbolic link.
Status ChownBelow(int fd, const std::string& where, uid_t uid, gid_t gid,
                  int depth) {
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    int error = errno;
    close(fd);
    return Failed("chown " + where, error);
  }
  Status s;
  while (s.ok()) {
    errno = 0;
    dirent* e = readdir(dir);
    if (e == nullptr) {
      if (errno != 0) s = Failed("chown " + where, errno);
      break;
    }
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = where + "/" + name;
    struct stat st;
    if (fstatat(dirfd(dir), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) s = Failed("chown " + path, errno);
      continue;
    }
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) continue;
    if (fchownat(dirfd(dir), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) !=
        0) {
      s = Failed("chown " + path, errno);
    } else if (S_ISDIR(st.st_mode)) {
      if (depth >= kMaxDepth) {
        s = Status::Error("chown " + path + ": nested too deep");
        break;
      }
      int sub = openat(dirfd(dir), name.c_str(),
                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      s = sub < 0 ? Failed("chown " + path, errno)
                  : ChownBelow(sub, path, uid, gid, depth + 1);
    }
  }
  closedir(dir);
  return s;
}

}  // namespace

Status Privileges::Resolve(const std::string& user, const std::string& group,
                           Privileges* out) {
  if (user.empty()) {
    if (!group.empty()) {
      return Status::Error("group '" + group +
                           "' given without a user: give --user (or "
                           "daemon.user) too");
    }
    *out = Privileges();
    return Status::Ok();
  }
  Privileges p;
  passwd pw;
  std::vector<char> buf = Buffer(_SC_GETPW_R_SIZE_MAX);
  unsigned id = 0;
  bool numeric = ParseId(user, &id), found = false;
  Status s = LookUpUser(user, numeric, id, &pw, &buf, &found);
  if (!s.ok()) return s;
  if (!found && !numeric) {
    return Status::Error("unknown user '" + user + "' (no passwd entry)");
  }
  p.uid_ = found ? pw.pw_uid : id;
  p.user_ = found ? pw.pw_name : user;
  struct group gr;
  std::vector<char> gbuf = Buffer(_SC_GETGR_R_SIZE_MAX);
  if (group.empty()) {
    if (!found) {
      return Status::Error("user " + user +
                           " has no passwd entry, hence no primary group: "
                           "give --group (or daemon.group)");
    }
    p.gid_ = pw.pw_gid;
    s = LookUpGroup(std::to_string(p.gid_), true, p.gid_, &gr, &gbuf, &found);
    if (!s.ok()) return s;
    p.group_ = found ? gr.gr_name : std::to_string(p.gid_);
  } else {
    numeric = ParseId(group, &id);
    s = LookUpGroup(group, numeric, id, &gr, &gbuf, &found);
    if (!s.ok()) return s;
    if (!found && !numeric) {
      return Status::Error("unknown group '" + group + "' (no group entry)");
    }
    p.gid_ = found ? gr.gr_gid : id;
    p.group_ = found ? gr.gr_name : group;
    p.group_given_ = true;
  }
  *out = std::move(p);
  return Status::Ok();
}

std::string Privileges::Describe() const {
  return user_ + ":" + group_ + " (uid " + std::to_string(uid_) + ", gid " +
         std::to_string(gid_) + ")";
}

Status Privileges::Chown(const std::string& path, bool recursive) const {
  if (empty() || geteuid() != 0) return Status::Ok();
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Status::Ok() : Failed("chown " + path, errno);
  }
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    return Status::Error("chown " + path + ": refused, the file has " +
                         std::to_string(st.st_nlink) + " hard links");
  }
  if (lchown(path.c_str(), uid_, gid_) != 0) {
    return Failed("chown " + path, errno);
  }
  if (!recursive || !S_ISDIR(st.st_mode)) return Status::Ok();
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Failed("chown " + path, errno);
  return ChownBelow(fd, path, uid_, gid_, 1);
}

Status Privileges::Drop() const {
  if (empty()) return Status::Ok();
  if (geteuid() != 0) {
    bool same_user = getuid() == uid_ && geteuid() == uid_;
    bool same_group = !group_given_ || (getgid() == gid_ && getegid() == gid_);
    if (same_user && same_group) return Status::Ok();
    return Status::Error("cannot become " + Describe() +
                         ": not running as root (uid " +
                         std::to_string(geteuid()) + ")");
  }
  std::string to = " (to become " + Describe() + ")";
  if (setgroups(0, nullptr) != 0) return Failed("setgroups" + to, errno);
  if (setgid(gid_) != 0) return Failed("setgid" + to, errno);
  if (setuid(uid_) != 0) return Failed("setuid" + to, errno);
  if (getuid() != uid_ || geteuid() != uid_ || getgid() != gid_ ||
      getegid() != gid_ || getgroups(0, nullptr) != 0) {
    return Status::Error(
        "after setuid" + to + " the ids are uid " + std::to_string(getuid()) +
        "/" + std::to_string(geteuid()) + ", gid " + std::to_string(getgid()) +
        "/" + std::to_string(getegid()));
  }
  if (uid_ != 0 && setuid(0) == 0) {
    return Status::Error("setuid(0) still works after becoming " + Describe());
  }
  return Status::Ok();
}

}  // namespace qd
