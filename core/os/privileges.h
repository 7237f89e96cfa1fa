// Privileges: the user and group the daemon becomes once it has bound its
// sockets (--user/--group, daemon.user/daemon.group), and the change.
//
// Resolve() looks the names up (getpwnam_r, getgrnam_r); a number is taken
// as an id even without an entry. The group defaults to the user's primary
// group. Drop() then clears the supplementary groups (setgroups(0)), sets
// the group, then the user (setgid before setuid: once the user has
// changed, the group can no longer be), and checks the result: the real
// and effective ids are the new ones and setuid(0) fails. Not running as
// root, Drop() is a no-op when the target is who the process already is,
// and an error otherwise. Every error is one line naming what failed.
// Chown() hands a path the daemon uses after the drop (run_dir, its pid
// file) to the target, without following symbolic links.
// Stateless once resolved; call from one thread, before any thread starts
// (setuid changes only the calling thread's ids).
#pragma once

#include <sys/types.h>

#include <string>

#include "queuedaemon/status.h"

namespace qd {

class Privileges {
 public:
  // Nothing to change: Drop() and Chown() do nothing.
  Privileges() = default;

  // `user` and `group` as given ("" = not given). A group without a user
  // is an error; so is a numeric user without a passwd entry and no group.
  [[nodiscard]] static Status Resolve(const std::string& user,
                                      const std::string& group,
                                      Privileges* out);

  bool empty() const { return user_.empty(); }
  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }
  // "nobody:nogroup (uid 65534, gid 65534)".
  std::string Describe() const;

  // When running as root: `path` (a symbolic link itself, not its target)
  // and, with `recursive`, everything below it (never through a link) go
  // to the target user and group. A file with more than one hard link is
  // left alone (it may be one of the system's, linked in). A missing path
  // is not an error. Not root: nothing happens.
  [[nodiscard]] Status Chown(const std::string& path,
                             bool recursive = false) const;

  // Becomes the target user and group for good; see the header comment.
  [[nodiscard]] Status Drop() const;

 private:
  std::string user_;          // the name, or the number as given
  std::string group_;         // the name, or the number
  bool group_given_ = false;  // else the user's primary group
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

}  // namespace qd
