#include "core/monitor/dashboard_assets.h"

#include <string>

#include "core/monitor/http_request.h"
#include "core/monitor/http_response.h"

namespace qd {

// 'self' only: the bundle, its stylesheet and /api/v1 come from the daemon;
// images may be data: URLs (the empty favicon); no inline script or style
// element, no plugin, no frame, no <base> or form elsewhere.
const char* const kDashboardCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

namespace {

constexpr const char* kAssetsPrefix = "/assets/";

bool IsDashboardPath(const std::string& path) {
  return path == "/" || path == "/index.html" ||
         path.compare(0, std::char_traits<char>::length(kAssetsPrefix),
                      kAssetsPrefix) == 0;
}

const DashboardAsset* FindAsset(const std::string& path) {
  const std::string& want = path == "/index.html" ? std::string("/") : path;
  for (size_t i = 0; i < kDashboardAssetCount; ++i) {
    if (want == kDashboardAssets[i].path) return &kDashboardAssets[i];
  }
  return nullptr;
}

void AddSecurityHeaders(HttpResponse* response) {
  response->headers.emplace_back("Content-Security-Policy", kDashboardCsp);
  response->headers.emplace_back("X-Content-Type-Options", "nosniff");
  response->headers.emplace_back("Referrer-Policy", "no-referrer");
  response->headers.emplace_back("X-Frame-Options", "DENY");
}

}  // namespace

bool ServeDashboard(const HttpRequest& request, HttpResponse* response) {
  if (!IsDashboardPath(request.path)) return false;
  const DashboardAsset* asset = FindAsset(request.path);
  if (asset == nullptr) {
    *response = TextResponse(404);
  } else if (request.method != "GET" && request.method != "HEAD") {
    *response = TextResponse(405);
    response->headers.emplace_back("Allow", "GET, HEAD");
  } else {
    *response = HttpResponse();
    response->content_type = asset->content_type;
    response->body.assign(reinterpret_cast<const char*>(asset->data),
                          asset->size);
    response->headers.emplace_back("ETag", asset->etag);
    // The page itself is small and names the assets by their hash, so a
    // new binary's page always loads its own bundle.
    response->headers.emplace_back("Cache-Control",
                                   std::string(asset->path) == "/"
                                       ? "no-store"
                                       : "public, max-age=31536000, immutable");
  }
  AddSecurityHeaders(response);
  return true;
}

}  // namespace qd
