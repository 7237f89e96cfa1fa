// ApiRouter: finds the /api/v1 endpoint of a method and path. Patterns are
// paths whose "{name}" segments match any one segment; the segments of the
// request are percent-decoded after the split (site and queue names may
// hold ':', and "%2F" stays inside its segment). Pure, no I/O.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace qd {

class ApiRouter {
 public:
  struct Match {
    // 0: found; 400 a bad %-escape; 404 no pattern has this path; 405 one
    // has, not with this method (`allow` lists the methods that it takes).
    int status = 404;
    int route = -1;                             // as given to Add()
    std::map<std::string, std::string> params;  // "{site}" -> "a:b"
    std::string allow;                          // "GET, HEAD" or "POST"
  };

  // `method` is "GET" (HEAD matches it too) or "POST"; `pattern` as
  // "/api/v1/sites/{site}/drain".
  void Add(const std::string& method, const std::string& pattern, int route);
  Match Find(std::string_view method, std::string_view path) const;

 private:
  struct Entry {
    std::string method;
    std::vector<std::string> segments;
    int route;
  };
  static std::vector<std::string_view> Split(std::string_view path);

  std::vector<Entry> entries_;
};

}  // namespace qd
