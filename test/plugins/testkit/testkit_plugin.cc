// testkit: a plugin for the integration tests. Handler "testkit" records
// every job it runs as one line "PAYLOAD ATTEMPT NOW_MS PID NOW_US" appended
// to the file named by its `record` option (one write(2) with O_APPEND: lines
// from several workers never interleave; NOW_MS and NOW_US are the same
// realtime clock reading, in ms and in us since the epoch), then acts on the
// payload:
//   crash        abort() the worker
//   segv         write through a null pointer: the worker dies of SIGSEGV
//   sleep:MS     sleep MS milliseconds, then succeed
//   fail         JobResult::Fail
//   retry:N      retry until the attempt is N, then succeed
//   retry:N:MS   the same, each retry due after MS milliseconds (else 50)
//   wait:PATH    wait until the file PATH exists (at most 30 s), then
//                succeed: a job that runs until the test lets it end
//   throw        throw std::runtime_error
//   anything else: succeed
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "queuedaemon/plugin.h"

namespace {

// Opaque to the optimizer, so the write in "segv" is really made.
void* Null() {
  static void* volatile null = nullptr;
  return null;
}

class TestkitHandler : public qd::QueueHandler {
 public:
  explicit TestkitHandler(std::string record) : record_(std::move(record)) {}

  qd::JobResult handle(const qd::Job& job, qd::JobContext&) override {
    Record(job);
    std::string p(job.payload());
    if (p == "crash") std::abort();
    if (p == "segv") *static_cast<volatile int*>(Null()) = 1;
    if (p == "fail") return qd::JobResult::Fail("asked to fail");
    if (p == "throw") throw std::runtime_error("asked to throw");
    if (p.rfind("sleep:", 0) == 0) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::atoi(p.c_str() + 6)));
    }
    if (p.rfind("wait:", 0) == 0) WaitForFile(p.substr(5));
    if (p.rfind("retry:", 0) == 0 && job.attempt() < std::atoi(p.c_str() + 6)) {
      size_t delay = p.find(':', 6);
      int ms =
          delay == std::string::npos ? 50 : std::atoi(p.c_str() + delay + 1);
      return qd::JobResult::Retry("not yet", std::chrono::milliseconds(ms));
    }
    return qd::JobResult::Ok();
  }

 private:
  void Record(const qd::Job& job) {
    if (record_.empty()) return;
    auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    std::string line =
        std::string(job.payload()) + " " + std::to_string(job.attempt()) + " " +
        std::to_string(now_us / 1000) + " " + std::to_string(getpid()) + " " +
        std::to_string(now_us) + "\n";
    int fd = open(record_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return;
    (void)!write(fd, line.data(), line.size());
    close(fd);
  }
  static void WaitForFile(const std::string& path) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (access(path.c_str(), F_OK) != 0 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::string record_;
};

void Register(qd::Registry& registry) {
  registry.AddQueueHandler(
      "testkit",
      [](const qd::HandlerConfig& config,
         std::string* error) -> std::unique_ptr<qd::QueueHandler> {
        std::string record;
        for (const auto& kv : config.options) {
          std::string key = kv.first.as<std::string>();
          if (key != "record") {
            *error = "unknown option '" + key + "'";
            return nullptr;
          }
          record = kv.second.as<std::string>();
        }
        return std::make_unique<TestkitHandler>(record);
      });
}

}  // namespace

QD_PLUGIN("testkit", Register)
