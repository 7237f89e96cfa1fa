// RecordTail: the testkit plugin's record file read as it grows, for runs
// whose payloads are the numbers 0, 1, 2 ... (soak, chaos): how many
// distinct numbers ran, and how many extra runs there were. Lines whose
// payload is not a number are skipped. ReadRecord (daemon_harness.h)
// re-reads the whole file, a million lines by the end of a long run.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace qd::test {

class RecordTail {
 public:
  explicit RecordTail(std::string path) : path_(std::move(path)) {}
  // Counts the complete lines appended since the last call.
  void Update() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;
    in.seekg(offset_);
    std::string chunk((std::istreambuf_iterator<char>(in)), {});
    size_t end = chunk.rfind('\n');
    if (end == std::string::npos) return;
    offset_ += static_cast<std::streamoff>(end + 1);
    std::istringstream lines(chunk.substr(0, end + 1));
    for (std::string line; std::getline(lines, line);) Count(line);
  }
  long distinct() const { return distinct_; }
  long duplicates() const { return duplicates_; }
  // How many times payload `n` ran (0 if never).
  uint32_t runs(uint64_t n) const { return n < runs_.size() ? runs_[n] : 0; }

 private:
  void Count(const std::string& line) {
    char* rest = nullptr;
    unsigned long n = std::strtoul(line.c_str(), &rest, 10);
    if (rest == line.c_str() || *rest != ' ') return;  // not a numbered job
    if (n >= runs_.size())
      runs_.resize(std::max<size_t>(n + 1, runs_.size() * 2));
    if (runs_[n]++ == 0) {
      ++distinct_;
    } else {
      ++duplicates_;
    }
  }

  std::string path_;
  std::streamoff offset_ = 0;
  std::vector<uint32_t> runs_;
  long distinct_ = 0;
  long duplicates_ = 0;
};

}  // namespace qd::test
