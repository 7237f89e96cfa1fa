#include "core/os/process.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace qd {

int Process::CpuCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

void Process::CloseInheritedFds(const std::vector<int>& keep) {
  // close_range over the gaps between the kept descriptors: one system call
  // per gap, whatever the master holds (thousands of client connections).
  std::vector<int> kept(keep.begin(), keep.end());
  std::sort(kept.begin(), kept.end());
  unsigned first = 3;
  bool ok = true;
  for (int fd : kept) {
    if (fd < 3) continue;
    if (static_cast<unsigned>(fd) > first) {
      ok = ok && close_range(first, fd - 1, 0) == 0;
    }
    first = fd + 1;
  }
  ok = ok && close_range(first, ~0u, 0) == 0;
  if (ok) return;
  // Kernels before 5.9: walk /proc/self/fd.
  std::vector<int> to_close;
  if (DIR* dir = opendir("/proc/self/fd")) {
    int own = dirfd(dir);
    while (dirent* e = readdir(dir)) {
      int fd = std::atoi(e->d_name);
      if (fd < 3 || fd == own) continue;
      if (std::find(keep.begin(), keep.end(), fd) != keep.end()) continue;
      to_close.push_back(fd);
    }
    closedir(dir);
  }
  for (int fd : to_close) close(fd);
}

int Process::RaiseFileLimit() {
  rlimit limit = {};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
  }
  return limit.rlim_cur > INT32_MAX ? INT32_MAX
                                    : static_cast<int>(limit.rlim_cur);
}

void Process::ResetSignals() {
  struct sigaction sa = {};
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &sa, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

void Process::SetName(const std::string& name) {
  prctl(PR_SET_NAME, name.substr(0, 15).c_str(), 0, 0, 0);
}

std::string Process::HostName() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == 0) {
    return "localhost";
  }
  return host;
}

bool Process::Alive(pid_t pid) {
  return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

std::string Process::Absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char buf[4096];
  if (getcwd(buf, sizeof(buf)) == nullptr) return path;
  return std::string(buf) + "/" + path;
}

}  // namespace qd
