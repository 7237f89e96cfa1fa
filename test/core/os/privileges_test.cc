// Privileges: name and id resolution against this machine's passwd and
// group databases (Debian's nobody/nogroup, root), the error messages, and
// the drop itself in a forked child (PrivilegesDeathTest: this process
// keeps its ids).
#include "core/os/privileges.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace qd {
namespace {

// The ids of `user` from the passwd database; false when it has none.
bool PasswdIds(const char* user, uid_t* uid, gid_t* gid) {
  passwd* pw = getpwnam(user);
  if (pw == nullptr) return false;
  *uid = pw->pw_uid;
  *gid = pw->pw_gid;
  return true;
}

// A uid (and gid) no passwd or group entry names.
unsigned UnusedId() {
  for (unsigned id = 54321; id < 64000; ++id) {
    if (getpwuid(id) == nullptr && getgrgid(id) == nullptr) return id;
  }
  return 0;
}

TEST(PrivilegesTest, NothingGivenIsEmpty) {
  Privileges p;
  ASSERT_TRUE(Privileges::Resolve("", "", &p).ok());
  EXPECT_TRUE(p.empty());
  EXPECT_TRUE(p.Drop().ok());
  EXPECT_TRUE(p.Chown("/nonexistent", true).ok());
}

TEST(PrivilegesTest, AUserByNameTakesItsPrimaryGroup) {
  uid_t uid;
  gid_t gid;
  if (!PasswdIds("nobody", &uid, &gid)) GTEST_SKIP() << "no user nobody";
  Privileges p;
  ASSERT_TRUE(Privileges::Resolve("nobody", "", &p).ok());
  EXPECT_FALSE(p.empty());
  EXPECT_EQ(p.uid(), uid);
  EXPECT_EQ(p.gid(), gid);
  group* g = getgrgid(gid);
  std::string group = g != nullptr ? g->gr_name : std::to_string(gid);
  EXPECT_EQ(p.Describe(), "nobody:" + group + " (uid " + std::to_string(uid) +
                              ", gid " + std::to_string(gid) + ")");
}

TEST(PrivilegesTest, NumericIdsAreTakenAsIds) {
  uid_t uid;
  gid_t gid;
  if (!PasswdIds("nobody", &uid, &gid)) GTEST_SKIP() << "no user nobody";
  Privileges p;
  ASSERT_TRUE(Privileges::Resolve(std::to_string(uid), "", &p).ok());
  EXPECT_EQ(p.uid(), uid);
  EXPECT_EQ(p.gid(), gid);
  EXPECT_EQ(p.Describe().rfind("nobody:", 0), 0u) << p.Describe();
  // Ids without an entry: a group must be given, and may be a number too.
  unsigned unused = UnusedId();
  ASSERT_NE(unused, 0u);
  Status s = Privileges::Resolve(std::to_string(unused), "", &p);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "user " + std::to_string(unused) +
                             " has no passwd entry, hence no primary group: "
                             "give --group (or daemon.group)");
  ASSERT_TRUE(
      Privileges::Resolve(std::to_string(unused), std::to_string(unused), &p)
          .ok());
  EXPECT_EQ(p.uid(), unused);
  EXPECT_EQ(p.gid(), unused);
  EXPECT_EQ(p.Describe(), std::to_string(unused) + ":" +
                              std::to_string(unused) + " (uid " +
                              std::to_string(unused) + ", gid " +
                              std::to_string(unused) + ")");
}

TEST(PrivilegesTest, AGroupByNameOrIdBeatsThePrimaryOne) {
  Privileges p;
  ASSERT_TRUE(Privileges::Resolve("root", "0", &p).ok());
  EXPECT_EQ(p.uid(), 0u);
  EXPECT_EQ(p.gid(), 0u);
  group* g = getgrnam("nogroup");
  if (g == nullptr) GTEST_SKIP() << "no group nogroup";
  ASSERT_TRUE(Privileges::Resolve("root", "nogroup", &p).ok());
  EXPECT_EQ(p.gid(), g->gr_gid);
  EXPECT_EQ(p.Describe(),
            "root:nogroup (uid 0, gid " + std::to_string(g->gr_gid) + ")");
}

TEST(PrivilegesTest, UnknownNamesAreClearErrors) {
  Privileges p;
  Status s = Privileges::Resolve("no-such-user-qd", "", &p);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "unknown user 'no-such-user-qd' (no passwd entry)");
  s = Privileges::Resolve("root", "no-such-group-qd", &p);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "unknown group 'no-such-group-qd' (no group entry)");
  s = Privileges::Resolve("", "nogroup", &p);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "group 'nogroup' given without a user: give --user (or "
            "daemon.user) too");
  // -1 means "unchanged" to setuid: not an id.
  s = Privileges::Resolve("4294967295", "0", &p);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "unknown user '4294967295' (no passwd entry)");
}

// The bodies below run in a forked child (EXPECT_EXIT), which exits 0
// when every check passed and prints the first failure otherwise.
[[noreturn]] void Check(bool ok, const std::string& what) {
  if (!ok) std::fprintf(stderr, "FAILED: %s\n", what.c_str());
  std::exit(ok ? 0 : 1);
}

void Require(bool ok, const std::string& what) {
  if (!ok) Check(false, what);
}

void DropToNobody() {
  gid_t root_group = 0;
  setgroups(1, &root_group);  // a supplementary group to clear
  Privileges p;
  Require(Privileges::Resolve("nobody", "nogroup", &p).ok(), "resolve");
  Status s = p.Drop();
  Require(s.ok(), s.ok() ? "" : s.message());
  Require(getuid() == p.uid() && geteuid() == p.uid(), "uid");
  Require(getgid() == p.gid() && getegid() == p.gid(), "gid");
  Require(getgroups(0, nullptr) == 0, "supplementary groups left");
  Check(setuid(0) != 0 && seteuid(0) != 0, "root regained");
}

void DropTwiceThenTryRoot() {
  Privileges nobody, root, gid0;
  Require(Privileges::Resolve("nobody", "", &nobody).ok(), "nobody");
  Require(Privileges::Resolve("root", "", &root).ok(), "root");
  Require(Privileges::Resolve("nobody", "0", &gid0).ok(), "gid 0");
  Require(nobody.Drop().ok(), "first drop");
  // Now unprivileged: becoming nobody again changes nothing.
  Require(nobody.Drop().ok(), "the same user again");
  Status s = root.Drop();
  Require(!s.ok(), "became root");
  Require(s.message() == "cannot become " + root.Describe() +
                             ": not running as root (uid " +
                             std::to_string(nobody.uid()) + ")",
          s.message());
  Check(!gid0.Drop().ok(), "changed group without root");
}

uid_t OwnerOf(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? st.st_uid : 12345;
}

void ChownTree(const std::string& dir, const std::string& outside) {
  Privileges p;
  Require(Privileges::Resolve("nobody", "nogroup", &p).ok(), "resolve");
  Status s = p.Chown(dir, true);
  Require(s.ok(), s.ok() ? "" : s.message());
  Require(OwnerOf(dir) == p.uid(), "top");
  Require(OwnerOf(dir + "/redis/aof") == p.uid(), "a directory below");
  Require(OwnerOf(dir + "/redis/aof/data") == p.uid(), "a file below");
  Require(OwnerOf(dir + "/redis/link") == p.uid(), "the link itself");
  Check(OwnerOf(outside) == 0, "followed a link out of the tree");
}

class PrivilegesDeathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "dropping privileges needs root";
    uid_t uid;
    gid_t gid;
    if (!PasswdIds("nobody", &uid, &gid) || getgrnam("nogroup") == nullptr) {
      GTEST_SKIP() << "no nobody:nogroup";
    }
  }
};

TEST_F(PrivilegesDeathTest, DropBecomesTheUserForGood) {
  EXPECT_EXIT(DropToNobody(), ::testing::ExitedWithCode(0), "");
}

TEST_F(PrivilegesDeathTest, NotRootOnlyTheSameUserIsANoOp) {
  EXPECT_EXIT(DropTwiceThenTryRoot(), ::testing::ExitedWithCode(0), "");
}

TEST_F(PrivilegesDeathTest, ChownNeverFollowsALinkBelowTheTop) {
  char tmpl[] = "/tmp/qd-chown-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string outside = dir + "-outside";
  std::ofstream(outside) << "not ours";
  mkdir((dir + "/redis").c_str(), 0700);
  mkdir((dir + "/redis/aof").c_str(), 0700);
  std::ofstream(dir + "/redis/aof/data") << "x";
  ASSERT_EQ(symlink(outside.c_str(), (dir + "/redis/link").c_str()), 0);
  ASSERT_EQ(link(outside.c_str(), (dir + "/redis/hardlink").c_str()), 0);
  EXPECT_EXIT(ChownTree(dir, outside), ::testing::ExitedWithCode(0), "");
  std::string cmd = "rm -rf '" + dir + "' '" + outside + "'";
  (void)!std::system(cmd.c_str());
}

}  // namespace
}  // namespace qd
