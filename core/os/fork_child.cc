#include "core/os/fork_child.h"

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/config/log.h"
#include "core/os/process.h"
#include "core/os/service_notifier.h"

namespace qd {

pid_t ForkChild(const std::vector<int>& keep, const std::string& comm,
                const std::string& role) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  Log::Release();
  Process::CloseInheritedFds(keep);
  Process::ResetSignals();
  ServiceNotifier::ForgetInChild();
  Process::SetName(comm);
  (void)Log::SetRole(role);
  return 0;
}

pid_t ForkSibling() {
  // The raw system call, as glibc's own fork() makes it but without
  // CLONE_CHILD_SETTID: glibc has no wrapper that forks without a new
  // stack. No stack given: the child goes on with a copy of ours, as after
  // fork(). The argument order differs between architectures only in the
  // arguments left zero here.
  long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
  return static_cast<pid_t>(pid);
}

}  // namespace qd
