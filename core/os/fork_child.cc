#include "core/os/fork_child.h"

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

}  // namespace qd
