// ServeDashboard: the web dashboard's files (docs/dashboard.md), embedded
// in the binary at build time: web/ is bundled by esbuild (web/build.mjs)
// and turned into a byte-array table by web/embed_assets.cmake, so the
// daemon serves the page with nothing else installed at run time.
//
//   GET /                  index.html, Cache-Control: no-store
//   GET /assets/app.js     the bundle; index.html asks for it as
//   GET /assets/app.css    app.js?v=HASH, so it is cached as immutable
//
// HEAD is answered like GET (the server drops the body); another method on
// these paths is 405, an unknown /assets/ path 404. Every reply carries a
// Content-Security-Policy that lets the page load and fetch from its own
// origin only, and forbids inline scripts and framing.
//
// The table is constant data; ServeDashboard is a pure function.
#pragma once

#include <cstddef>

namespace qd {

struct HttpRequest;
struct HttpResponse;

// One embedded file (generated: dashboard_bundle.cc in the build tree).
struct DashboardAsset {
  const char* path;  // as requested: "/", "/assets/app.js"
  const char* content_type;
  const unsigned char* data;
  size_t size;
  const char* etag;  // quoted, from the content's SHA-256
};
extern const DashboardAsset kDashboardAssets[];
extern const size_t kDashboardAssetCount;

// The Content-Security-Policy sent with every dashboard reply.
extern const char* const kDashboardCsp;

// Fills *response and returns true when `request` is for the dashboard
// (`/`, `/index.html` or under `/assets/`); returns false, *response
// untouched, for any other path.
bool ServeDashboard(const HttpRequest& request, HttpResponse* response);

}  // namespace qd
