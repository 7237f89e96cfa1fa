#include "scripts/queuectl/command.h"

#include <cstdio>

namespace qd::ctl {

int Fail(int code, const Status& status) {
  std::fprintf(stderr, "queuectl: %s\n", status.message().c_str());
  return code;
}

}  // namespace qd::ctl
