#include "core/config/redis_url.h"

#include <charconv>

namespace qd {
namespace {

bool ToInt(std::string_view s, int min, int max, int* out) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < min || v > max) {
    return false;
  }
  *out = v;
  return true;
}

// `url` with the user information of a redis:// url ("user:pw@") masked,
// so that a message never repeats a password written into a url.
std::string Masked(std::string_view url) {
  if (url.substr(0, 8) != "redis://") return std::string(url);
  std::string_view rest = url.substr(8);
  std::string_view authority = rest.substr(0, rest.find('/'));
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return "redis://***" + std::string(rest.substr(at));
}

Status Bad(std::string_view url, const std::string& why) {
  return Status::Error("redis url '" + Masked(url) + "': " + why);
}

}  // namespace

Status RedisUrl::Parse(std::string_view url, RedisUrl* out) {
  RedisUrl r;
  if (url.substr(0, 7) == "unix://") {
    std::string_view rest = url.substr(7);
    auto q = rest.find("?db=");
    if (q != std::string_view::npos) {
      if (!ToInt(rest.substr(q + 4), 0, 1 << 20, &r.db)) {
        return Bad(url, "db must be a number");
      }
      rest = rest.substr(0, q);
    }
    if (rest.empty() || rest[0] != '/') {
      return Bad(url, "expected unix:///absolute/path.sock");
    }
    r.is_unix = true;
    r.host = std::string(rest);
  } else if (url.substr(0, 8) == "redis://") {
    std::string_view rest = url.substr(8);
    auto slash = rest.find('/');
    if (auto at = rest.substr(0, slash).rfind('@');
        at != std::string_view::npos) {
      return Bad(url,
                 "credentials in the url are refused (they would show in "
                 "logs); give username and password_file or password_env "
                 "in the config");
    }
    if (slash != std::string_view::npos) {
      std::string_view db = rest.substr(slash + 1);
      if (!db.empty() && !ToInt(db, 0, 1 << 20, &r.db)) {
        return Bad(url, "db must be a number");
      }
      rest = rest.substr(0, slash);
    }
    std::string_view host = rest, port;
    if (!rest.empty() && rest[0] == '[') {
      auto close = rest.find(']');
      if (close == std::string_view::npos) return Bad(url, "unclosed '['");
      host = rest.substr(1, close - 1);
      if (close + 1 < rest.size() && rest[close + 1] == ':') {
        port = rest.substr(close + 2);
      }
    } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
    }
    if (host.empty()) return Bad(url, "no host");
    if (!port.empty() && !ToInt(port, 1, 65535, &r.port)) {
      return Bad(url, "port must be 1..65535");
    }
    r.host = std::string(host);
  } else {
    return Bad(url, "expected redis://host:port/db or unix:///path.sock");
  }
  *out = std::move(r);
  return Status::Ok();
}

std::string RedisUrl::Describe() const {
  std::string db_part = "/" + std::to_string(db);
  if (via_sentinel())
    return "master " + master_name + " via sentinel" + db_part;
  if (via_cluster()) {
    return cluster_key + " via cluster " + cluster[0].host + ":" +
           std::to_string(cluster[0].port);
  }
  std::string where =
      is_unix ? host : host + ":" + std::to_string(port) + db_part;
  if (!cluster_key.empty()) return where + " (cluster " + cluster_key + ")";
  return master_name.empty() ? where : where + " (master " + master_name + ")";
}

std::string RedisUrl::Key() const {
  std::string key = Describe() + " " + username;
  if (is_unix) key += " db " + std::to_string(db);
  for (const Server& s : sentinels) {
    key += " " + s.host + ":" + std::to_string(s.port);
  }
  for (const Server& s : cluster) {
    key += " " + s.host + ":" + std::to_string(s.port);
  }
  return key;
}

std::vector<std::string_view> RedisUrl::AuthArgs() const {
  if (username.empty()) return {"AUTH", password};
  return {"AUTH", username, password};
}

std::string RedisUrl::AuthName() const {
  return username.empty() ? "AUTH" : "AUTH as " + username;
}

std::string RedisUrl::Redact(std::string text) const {
  if (password.empty()) return text;
  for (size_t at = 0; (at = text.find(password, at)) != std::string::npos;
       at += 3) {
    text.replace(at, password.size(), "***");
  }
  return text;
}

}  // namespace qd
