#include "core/os/memory_usage.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace qd {

bool MemoryUsage::Read(pid_t pid, MemoryUsage* out) {
  std::string path = pid == 0 ? std::string("/proc/self/statm")
                              : "/proc/" + std::to_string(pid) + "/statm";
  FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return false;
  unsigned long size = 0, resident = 0, shared = 0;
  int n = std::fscanf(f, "%lu %lu %lu", &size, &resident, &shared);
  std::fclose(f);
  if (n != 3) return false;
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  out->rss = resident * page;
  out->anon = resident > shared ? (resident - shared) * page : 0;
  return true;
}

MemoryUsage MemoryUsage::TrimAndReadSelf() {
  malloc_trim(0);
  MemoryUsage m;
  Read(0, &m);
  return m;
}

}  // namespace qd
