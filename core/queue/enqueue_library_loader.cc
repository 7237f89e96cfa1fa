#include "core/queue/enqueue_library_loader.h"

#include <memory>
#include <string_view>
#include <utility>

#include "core/queue/enqueue_library.h"

namespace qd {
namespace {
using Outcome = EnqueueLibraryLoader::Outcome;
using Result = EnqueueLibraryLoader::Result;
using Step = EnqueueLibraryLoader::Step;

std::string_view Text(const redisReply* r) {
  return r != nullptr && r->str != nullptr ? std::string_view(r->str, r->len)
                                           : std::string_view();
}

bool StartsWith(std::string_view text, std::string_view head) {
  return text.substr(0, head.size()) == head;
}

Outcome Ended(Result result, int64_t version, std::string why = "") {
  Outcome out;
  out.result = result;
  out.version = version;
  out.why = std::move(why);
  return out;
}

Outcome LoadedOutcome(int64_t old_version) {
  Outcome out = Ended(Result::kLoaded, kEnqueueLibraryVersion);
  out.old_version = old_version;
  return out;
}

Outcome TooManyRounds() {
  return Ended(Result::kFailed, -1,
               "a library called qd is loaded without a qd_version function "
               "(another program's?), or it changed under each of " +
                   std::to_string(EnqueueLibraryLoader::kRounds) + " tries");
}

// The asynchronous Ensure's state, shared by its callbacks.
struct AsyncRun {
  RedisClient* client;
  std::function<void(const Outcome&)> done;
  int round = 0;
};

void Ask(std::shared_ptr<AsyncRun> run);

void Load(std::shared_ptr<AsyncRun> run, int64_t old_version) {
  std::vector<std::string_view> args = {"FUNCTION", "LOAD"};
  if (old_version >= 0) args.push_back("REPLACE");
  args.push_back(kEnqueueLibrary);
  run->client->Command(args, [run, old_version](redisReply* r) {
    if (r == nullptr) return;  // lost: the owner asks again on reconnect
    bool retry = false;
    std::string why;
    if (EnqueueLibraryLoader::Loaded(r, &retry, &why)) {
      run->done(LoadedOutcome(old_version));
    } else if (retry) {
      Ask(run);
    } else {
      run->done(Ended(Result::kFailed, old_version, why));
    }
  });
}

void Ask(std::shared_ptr<AsyncRun> run) {
  if (++run->round > EnqueueLibraryLoader::kRounds) {
    run->done(TooManyRounds());
    return;
  }
  run->client->Command({"FCALL", "qd_version", "0"}, [run](redisReply* r) {
    if (r == nullptr) return;
    int64_t version = -1;
    std::string why;
    switch (EnqueueLibraryLoader::Decide(r, &version, &why)) {
      case Step::kNone:
        run->done(Ended(Result::kPresent, version));
        return;
      case Step::kLoad:
        Load(run, -1);
        return;
      case Step::kReplace:
        Load(run, version);
        return;
      case Step::kUnsupported:
        run->done(Ended(Result::kUnsupported, -1, why));
        return;
      case Step::kFailed:
        run->done(Ended(Result::kFailed, version, why));
        return;
    }
  });
}

}  // namespace

std::string EnqueueLibraryLoader::Describe(const Outcome& o) {
  switch (o.result) {
    case Result::kPresent:
      return "function library qd version " + std::to_string(o.version) +
             " present";
    case Result::kLoaded:
      if (o.old_version < 0) {
        return "loaded function library qd version " +
               std::to_string(o.version);
      }
      return "replaced function library qd version " +
             std::to_string(o.old_version) + " with version " +
             std::to_string(o.version);
    case Result::kUnsupported:
      return "no Redis functions here (" + o.why +
             "; they need Redis 7.0): FCALL qd_enqueue and unique jobs are "
             "unavailable, plain XADD works";
    case Result::kFailed:
      break;
  }
  return "function library qd not loaded: " + o.why +
         " (FCALL qd_enqueue and unique jobs are unavailable here)";
}

EnqueueLibraryLoader::Step EnqueueLibraryLoader::Decide(const redisReply* r,
                                                        int64_t* version,
                                                        std::string* why) {
  if (r == nullptr) {
    *why = "no reply";
    return Step::kFailed;
  }
  if (r->type == REDIS_REPLY_INTEGER) {
    *version = r->integer;
    return r->integer < kEnqueueLibraryVersion ? Step::kReplace : Step::kNone;
  }
  std::string_view text = Text(r);
  if (r->type == REDIS_REPLY_ERROR) {
    if (StartsWith(text, "ERR Function not found")) return Step::kLoad;
    *why = std::string(text);
    if (text.find("unknown command") != std::string_view::npos) {
      return Step::kUnsupported;
    }
    return Step::kFailed;
  }
  *why =
      "FCALL qd_version answered something other than an integer: another "
      "program's function called qd_version?";
  return Step::kFailed;
}

bool EnqueueLibraryLoader::Loaded(const redisReply* r, bool* retry,
                                  std::string* why) {
  *retry = false;
  if (r != nullptr && r->type != REDIS_REPLY_ERROR) return true;
  std::string_view text = Text(r);
  // Loaded by another client between our question and the load.
  if (text.find("already exists") != std::string_view::npos &&
      text.find("Library") != std::string_view::npos) {
    *retry = true;
    return false;
  }
  *why = r == nullptr ? "no reply" : std::string(text);
  return false;
}

EnqueueLibraryLoader::Outcome EnqueueLibraryLoader::Ensure(RedisConn* conn) {
  for (int round = 0; round < kRounds; ++round) {
    ReplyPtr r;
    conn->Append({"FCALL", "qd_version", "0"});
    Status s = conn->Read(&r);
    if (!s.ok()) return Ended(Result::kFailed, -1, s.message());
    int64_t version = -1;
    std::string why;
    Step step = Decide(r.get(), &version, &why);
    if (step == Step::kNone) return Ended(Result::kPresent, version);
    if (step == Step::kUnsupported) return Ended(Result::kUnsupported, -1, why);
    if (step == Step::kFailed) return Ended(Result::kFailed, version, why);
    int64_t old_version = step == Step::kReplace ? version : -1;
    std::vector<std::string_view> args = {"FUNCTION", "LOAD"};
    if (old_version >= 0) args.push_back("REPLACE");
    args.push_back(kEnqueueLibrary);
    conn->Append(args);
    s = conn->Read(&r);
    if (!s.ok()) return Ended(Result::kFailed, old_version, s.message());
    bool retry = false;
    if (Loaded(r.get(), &retry, &why)) return LoadedOutcome(old_version);
    if (!retry) return Ended(Result::kFailed, old_version, why);
  }
  return TooManyRounds();
}

void EnqueueLibraryLoader::Ensure(RedisClient* client,
                                  std::function<void(const Outcome&)> done) {
  if (!client->connected()) return;
  Ask(std::make_shared<AsyncRun>(AsyncRun{client, std::move(done)}));
}

}  // namespace qd
