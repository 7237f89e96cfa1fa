#include "core/monitor/api.h"

#include "core/monitor/api_actions.h"
#include "core/monitor/api_guard.h"
#include "core/monitor/api_query.h"
#include "core/monitor/api_reads.h"
#include "core/monitor/api_views.h"

namespace qd {
namespace {

using nlohmann::json;

constexpr const char* kSiteQueue = "/api/v1/sites/{site}/queues/{queue}";

// The daemons list with this daemon marked and its workers from the
// shared boards (fresher than its hash).
json MarkSelf(json daemons, const MonitorSnapshot& s) {
  for (json& d : daemons) {
    if (d.value("host", "") != s.host || d.value("id", "") != s.id) continue;
    d["self"] = true;
    d["workers"] = ApiViews::Workers(s)["workers"];
  }
  return {{"daemons", daemons}};
}

}  // namespace

struct Api::Target {
  const SiteConfig* site = nullptr;
  std::string queue;
  std::string id;
  const PeriodicConfig* periodic = nullptr;
};

Api::Api(Sources sources)
    : sources_(std::move(sources)), daemons_(sources_.redis) {
  AddRoutes();
}

void Api::AddRoutes() {
  std::string v1 = "/api/v1/";
  std::string q = kSiteQueue;
  router_.Add("GET", v1 + "overview", kOverview);
  router_.Add("GET", v1 + "daemons", kDaemons);
  router_.Add("GET", v1 + "workers", kWorkers);
  router_.Add("GET", v1 + "sites", kSites);
  router_.Add("GET", v1 + "periodic", kPeriodic);
  router_.Add("GET", v1 + "listeners", kListeners);
  router_.Add("GET", v1 + "summary", kSummary);
  router_.Add("GET", v1 + "auth", kAuth);
  router_.Add("GET", q + "/jobs", kJobs);
  router_.Add("POST", q + "/jobs", kEnqueue);
  router_.Add("GET", q + "/dead", kDead);
  router_.Add("GET", v1 + "sites/{site}/delayed", kDelayed);
  router_.Add("POST", q + "/dead/{id}/retry", kRetryDead);
  router_.Add("POST", q + "/dead/{id}/delete", kDeleteDead);
  router_.Add("POST", q + "/dead/retry-all", kRetryAllDead);
  router_.Add("POST", q + "/dead/purge", kPurgeDead);
  router_.Add("POST", q + "/jobs/{id}/delete", kDeleteJob);
  router_.Add("POST", v1 + "sites/{site}/drain", kDrain);
  router_.Add("POST", v1 + "sites/{site}/resume", kResume);
  router_.Add("POST", v1 + "sites/{site}/periodic/{name}/run", kRunPeriodic);
}

size_t Api::BodyLimit(const HttpRequest& request, size_t fallback) {
  return request.method == "POST" && Owns(request.path) ? ApiActions::kMaxBody
                                                        : fallback;
}

void Api::Handle(const HttpRequest& request, HttpResponse* response,
                 HttpDeferral* deferral) {
  ApiRouter::Match m = router_.Find(request.method, request.path);
  if (m.status != 0) {
    const char* why = m.status == 400   ? "bad %-escape in the path"
                      : m.status == 405 ? "method not allowed"
                                        : "no such endpoint";
    *response = ApiError(m.status, why);
    if (m.status == 405) response->headers.emplace_back("Allow", m.allow);
    return;
  }
  ApiGuard::Verdict origin = ApiGuard::CheckOrigin(request);
  if (origin.status != 0) {
    *response = ApiError(origin.status, origin.reason);
    return;
  }
  const Config* config = sources_.config ? sources_.config() : nullptr;
  if (config == nullptr) {
    *response = ApiError(503, "starting");
    return;
  }
  if (request.method == "POST") {
    ApiGuard::Verdict token =
        ApiGuard::CheckToken(request, config->monitor.admin_token);
    if (token.status != 0) {
      *response = ApiError(token.status, token.reason);
      if (token.status == 401) {
        response->headers.emplace_back("WWW-Authenticate", "Bearer");
      }
      return;
    }
  }
  if (Local(m.route, request, *config, response)) return;

  Target target;
  if (m.params.count("site")) {
    auto site = config->sites.find(m.params["site"]);
    if (site == config->sites.end()) {
      *response = ApiError(404, "no site " + m.params["site"]);
      return;
    }
    target.site = &site->second;
  }
  if (m.params.count("queue")) {
    target.queue = m.params["queue"];
    if (target.site->queues.count(target.queue) == 0) {
      *response = ApiError(
          404, "no queue " + target.queue + " in site " + target.site->name);
      return;
    }
  }
  if (m.params.count("id")) {
    target.id = m.params["id"];
    if (!ApiQuery::IsEntryId(target.id)) {
      *response = ApiError(404, "no such entry " + target.id);
      return;
    }
  }
  if (m.params.count("name")) {
    auto p = target.site->periodic.find(m.params["name"]);
    if (p == target.site->periodic.end()) {
      *response = ApiError(404, "no periodic entry " + m.params["name"] +
                                    " in site " + target.site->name);
      return;
    }
    target.periodic = &p->second;
  }
  ApiCall call(
      deferral->Defer(ApiError(504, "redis: no answer within the deadline")));
  Deferred(m.route, request, *config, target, call);
}

bool Api::Local(int route, const HttpRequest& request, const Config& config,
                HttpResponse* response) {
  switch (route) {
    case kOverview:
      *response = ApiJson(
          200, ApiViews::Overview(sources_.snapshot(), sources_.series));
      return true;
    case kWorkers:
      *response = ApiJson(200, ApiViews::Workers(sources_.snapshot()));
      return true;
    case kSites:
      *response = ApiJson(
          200, ApiViews::Sites(sources_.snapshot(), config,
                               sources_.paused ? sources_.paused()
                                               : std::vector<std::string>()));
      return true;
    case kPeriodic:
      *response = ApiJson(200, ApiViews::Periodic(sources_.snapshot()));
      return true;
    case kListeners:
      *response =
          ApiJson(200, ApiViews::Listeners(sources_.snapshot(), config));
      return true;
    case kAuth: {
      bool on = !config.monitor.admin_token.empty();
      std::string given;
      if (!ApiGuard::BearerOf(request, &given)) {
        *response = ApiJson(200, {{"actions", on}});
        return true;
      }
      ApiGuard::Verdict v =
          ApiGuard::CheckToken(request, config.monitor.admin_token);
      *response = v.status == 0
                      ? ApiJson(200, {{"actions", true}, {"token", "ok"}})
                      : ApiError(v.status, v.reason);
      return true;
    }
    default:
      return false;
  }
}

void Api::Deferred(int route, const HttpRequest& request, const Config& config,
                   const Target& t, const ApiCall& call) {
  if (route == kSummary) return Summary(call, config);
  if (route == kDaemons) return Daemons(call);
  if (route == kDrain || route == kResume) {
    return ApiActions::Control(call, sources_.redis,
                               route == kDrain ? "drain" : "resume",
                               t.site->name, config.control.secret);
  }
  RedisClient* redis = sources_.client_for(*t.site);
  ApiQuery query;
  Status s = ApiQuery::Parse(request.query, &query);
  int count = 0;
  std::string cursor;
  int64_t offset = 0;
  if (s.ok()) s = query.Count(&count);
  if (s.ok()) s = query.Cursor(&cursor);
  if (s.ok()) s = query.Offset(&offset);
  if (!s.ok()) return call.Fail(400, s.message());
  switch (route) {
    case kJobs:
      return ApiReads::Jobs(call, redis, *t.site, t.queue, cursor, count);
    case kDead:
      return ApiReads::Dead(call, redis, *t.site, t.queue, cursor, count);
    case kDelayed:
      return ApiReads::Delayed(call, redis, *t.site, offset, count);
    case kRetryDead:
      return ApiActions::RetryDead(call, redis, *t.site, t.queue, t.id);
    case kDeleteDead:
      return ApiActions::DeleteDead(call, redis, *t.site, t.queue, t.id);
    case kRetryAllDead:
      return ApiActions::RetryAllDead(call, redis, *t.site, t.queue);
    case kPurgeDead:
      return ApiActions::PurgeDead(call, redis, *t.site, t.queue);
    case kDeleteJob:
      return ApiActions::DeleteJob(call, redis, *t.site, t.queue, t.id);
    case kEnqueue:
      return ApiActions::Enqueue(call, redis, *t.site, t.queue, request.body);
    case kRunPeriodic:
      return ApiActions::RunPeriodic(call, redis, *t.site, *t.periodic);
    default:
      return call.Fail(404, "no such endpoint");
  }
}

void Api::Daemons(const ApiCall& call) {
  MonitorSnapshot s = sources_.snapshot();
  daemons_.Get([call, s](bool ok, const json& daemons, const std::string& why) {
    if (!ok) return call.Fail(503, why);
    call.Reply(MarkSelf(daemons, s));
  });
}

// Everything but the daemons is rendered now; the daemons list is the
// shared one (ApiDaemons), so the page's poll costs at most one Redis read
// per second however many pages poll. Redis down: daemons is {"daemons":
// [], "error": why}, the rest as usual.
void Api::Summary(const ApiCall& call, const Config& config) {
  MonitorSnapshot s = sources_.snapshot();
  json reply = {
      {"overview", ApiViews::Overview(s, sources_.series)},
      {"sites", ApiViews::Sites(s, config,
                                sources_.paused ? sources_.paused()
                                                : std::vector<std::string>())},
      {"periodic", ApiViews::Periodic(s)},
      {"listeners", ApiViews::Listeners(s, config)}};
  daemons_.Get([call, s, reply = std::move(reply)](
                   bool ok, const json& daemons,
                   const std::string& why) mutable {
    reply["daemons"] = ok ? MarkSelf(daemons, s)
                          : json{{"daemons", json::array()}, {"error", why}};
    call.Reply(reply);
  });
}

}  // namespace qd
