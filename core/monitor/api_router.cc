#include "core/monitor/api_router.h"

#include "core/monitor/api_query.h"

namespace qd {

void ApiRouter::Add(const std::string& method, const std::string& pattern,
                    int route) {
  Entry entry{method, {}, route};
  for (std::string_view s : Split(pattern)) entry.segments.emplace_back(s);
  entries_.push_back(std::move(entry));
}

ApiRouter::Match ApiRouter::Find(std::string_view method,
                                 std::string_view path) const {
  Match match;
  std::vector<std::string_view> raw = Split(path);
  std::vector<std::string> segments(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (!ApiQuery::Decode(raw[i], false, &segments[i])) {
      match.status = 400;
      return match;
    }
  }
  std::string_view want = method == "HEAD" ? "GET" : method;
  for (const Entry& e : entries_) {
    if (e.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool same = true;
    for (size_t i = 0; same && i < segments.size(); ++i) {
      const std::string& p = e.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        params[p.substr(1, p.size() - 2)] = segments[i];
        same = !segments[i].empty();
      } else {
        same = p == segments[i];
      }
    }
    if (!same) continue;
    std::string allowed = e.method == "GET" ? "GET, HEAD" : e.method;
    match.allow += (match.allow.empty() ? "" : ", ") + allowed;
    if (e.method != want) continue;
    match.status = 0;
    match.route = e.route;
    match.params = std::move(params);
    return match;
  }
  if (!match.allow.empty()) match.status = 405;
  return match;
}

std::vector<std::string_view> ApiRouter::Split(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace qd
