// etc/queuedaemon.service as systemd reads it, and what it must agree on
// with the daemon.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "core/config/config.h"
#include "core/util/units.h"
#include "daemon_harness.h"

namespace qd::test {
namespace {

const char* const kInstalledBinary = "/usr/local/bin/queuedaemon";

std::string Unit() {
  return ReadFileText(std::string(QD_SOURCE_DIR) + "/etc/queuedaemon.service");
}

// The value of `Key=` in the unit ("" when absent).
std::string Setting(const std::string& unit, const std::string& key) {
  std::string needle = "\n" + key + "=";
  size_t at = unit.find(needle);
  if (at == std::string::npos) return "";
  at += needle.size();
  return unit.substr(at, unit.find('\n', at) - at);
}

// `systemd-analyze verify` exits 0 over a key it does not know or a value
// it cannot parse ("..., ignoring"): so any output at all fails. The copy
// names the binary just built, since the installed path does not exist
// here (verify checks that ExecStart is executable).
TEST(SystemdUnitTest, SystemdAnalyzeVerifiesItWithoutAWord) {
  if (std::system("command -v systemd-analyze >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "systemd-analyze is not installed (Debian: systemd): "
                    "etc/queuedaemon.service was not verified";
  }
  std::string unit = Unit();
  size_t at = unit.find(kInstalledBinary);
  ASSERT_NE(at, std::string::npos)
      << "ExecStart no longer names " << kInstalledBinary;
  unit.replace(at, std::string(kInstalledBinary).size(),
               std::string(QD_BINARY_DIR) + "/queuedaemon");
  TempDir dir;
  dir.Write("queuedaemon.service", unit);
  std::string out = dir.File("verify.out");
  int rc = std::system(("systemd-analyze verify --man=no " +
                        ShellQuote(dir.File("queuedaemon.service")) + " >" +
                        ShellQuote(out) + " 2>&1")
                           .c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << ReadFileText(out);
  EXPECT_EQ(ReadFileText(out), "");
}

// What the unit promises about the daemon, checked against the daemon.
TEST(SystemdUnitTest, AgreesWithTheDaemon) {
  std::string unit = Unit();
  ASSERT_FALSE(unit.empty());
  EXPECT_EQ(Setting(unit, "Type"), "notify");
  EXPECT_EQ(Setting(unit, "NotifyAccess"), "main");
  // The master drains its workers itself: TERM to it alone.
  EXPECT_EQ(Setting(unit, "KillMode"), "mixed");
  EXPECT_NE(Setting(unit, "ExecStart").find("--foreground"), std::string::npos);
  // systemd's KILL must not cut the drain short.
  Duration stop{0};
  ASSERT_TRUE(ParseDuration(Setting(unit, "TimeoutStopSec"), &stop).ok());
  EXPECT_GT(stop, Config::Defaults().daemon.shutdown_timeout +
                      std::chrono::seconds(5));
}

}  // namespace
}  // namespace qd::test
