#include "core/monitor/dashboard_assets.h"

#include <gtest/gtest.h>

#include <string>

#include "core/monitor/http_request.h"
#include "core/monitor/http_response.h"

namespace qd {
namespace {

HttpRequest Request(const std::string& method, const std::string& path) {
  HttpRequest r;
  r.method = method;
  r.path = path;
  r.target = path;
  return r;
}

const std::string* Header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

void ExpectSecurityHeaders(const HttpResponse& r) {
  ASSERT_NE(Header(r, "Content-Security-Policy"), nullptr);
  EXPECT_EQ(*Header(r, "Content-Security-Policy"), kDashboardCsp);
  EXPECT_NE(std::string(kDashboardCsp).find("default-src 'self'"),
            std::string::npos);
  EXPECT_EQ(std::string(kDashboardCsp).find("unsafe-inline"),
            std::string::npos);
  ASSERT_NE(Header(r, "X-Content-Type-Options"), nullptr);
  EXPECT_EQ(*Header(r, "X-Content-Type-Options"), "nosniff");
  ASSERT_NE(Header(r, "Referrer-Policy"), nullptr);
  EXPECT_EQ(*Header(r, "Referrer-Policy"), "no-referrer");
  ASSERT_NE(Header(r, "X-Frame-Options"), nullptr);
  EXPECT_EQ(*Header(r, "X-Frame-Options"), "DENY");
}

TEST(DashboardAssetsTest, ServesThePageWithItsHeaders) {
  HttpResponse r;
  ASSERT_TRUE(ServeDashboard(Request("GET", "/"), &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<div id=\"app\">"), std::string::npos);
  ASSERT_NE(Header(r, "Cache-Control"), nullptr);
  EXPECT_EQ(*Header(r, "Cache-Control"), "no-store");
  ASSERT_NE(Header(r, "ETag"), nullptr);
  ExpectSecurityHeaders(r);
  // No inline script: the page only names its bundle.
  EXPECT_EQ(r.body.find("<script>"), std::string::npos);
}

// Every asset the page names (with ?v=HASH) is served, typed and cached.
TEST(DashboardAssetsTest, ServesEveryAssetThePageNames) {
  HttpResponse page;
  ASSERT_TRUE(ServeDashboard(Request("GET", "/"), &page));
  size_t found = 0;
  for (size_t at = page.body.find("/assets/"); at != std::string::npos;
       at = page.body.find("/assets/", at + 1)) {
    size_t end = page.body.find_first_of("?\"", at);
    std::string path = page.body.substr(at, end - at);
    EXPECT_EQ(page.body[end], '?') << path << " is named without its hash";
    HttpResponse r;
    ASSERT_TRUE(ServeDashboard(Request("GET", path), &r)) << path;
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_GT(r.body.size(), 100u) << path;
    EXPECT_NE(Header(r, "Cache-Control")->find("immutable"), std::string::npos);
    ExpectSecurityHeaders(r);
    ++found;
  }
  EXPECT_EQ(found, 2u);
  HttpResponse js;
  ASSERT_TRUE(ServeDashboard(Request("HEAD", "/assets/app.js"), &js));
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  HttpResponse css;
  ASSERT_TRUE(ServeDashboard(Request("GET", "/assets/app.css"), &css));
  EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
}

TEST(DashboardAssetsTest, RefusesOtherMethodsAndUnknownAssets) {
  HttpResponse post;
  ASSERT_TRUE(ServeDashboard(Request("POST", "/"), &post));
  EXPECT_EQ(post.status, 405);
  ASSERT_NE(Header(post, "Allow"), nullptr);
  EXPECT_EQ(*Header(post, "Allow"), "GET, HEAD");
  HttpResponse missing;
  ASSERT_TRUE(ServeDashboard(Request("GET", "/assets/../qd.yaml"), &missing));
  EXPECT_EQ(missing.status, 404);
  ExpectSecurityHeaders(missing);
}

TEST(DashboardAssetsTest, LeavesOtherPathsAlone) {
  for (const char* path :
       {"/metrics", "/healthz", "/status", "/api/v1/summary", "/assetsx", ""}) {
    HttpResponse r;
    r.status = 999;
    EXPECT_FALSE(ServeDashboard(Request("GET", path), &r)) << path;
    EXPECT_EQ(r.status, 999) << path;
  }
}

}  // namespace
}  // namespace qd
