// The checks and readers that several config sections share (declared in
// config_sections.h).
#include <cctype>
#include <string>

#include "core/config/config_sections.h"
#include "queuedaemon/suggest.h"

namespace qd::config_detail {
namespace {

bool IsPort(std::string_view port) {
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  int number = std::stoi(std::string(port));
  return number >= 1 && number <= 65535;
}

}  // namespace

bool IsName(std::string_view text, std::string_view extra) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        extra.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool IsHostPort(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return IsName(host.substr(1, host.size() - 2), ":.") &&
           IsPort(text.substr(colon + 1));
  }
  return IsName(host, "_.-") && IsPort(text.substr(colon + 1));
}

void CheckName(ConfigReader& r, const Item& item, const char* what) {
  std::string name = item.key.Scalar();
  if (!IsName(name, kNameExtra)) {
    r.FailAtKey(item, std::string("a ") + what +
                          " name may only hold letters, digits and _ . : -");
  }
}

void ReadToken(ConfigReader& r, const Item& item, std::string_view extra,
               std::string* out) {
  std::string text;
  if (!r.ReadString(item, &text)) return;
  if (!IsName(text, extra)) {
    std::string allowed;
    for (char c : extra) allowed += std::string(" ") + c;
    r.Fail(item, "expected letters, digits and" + allowed + " only, got " +
                     ConfigReader::Describe(item.value));
    return;
  }
  *out = text;
}

void ReadHostPort(ConfigReader& r, const Item& item, std::string* out) {
  std::string text;
  if (!r.ReadString(item, &text)) return;
  if (!IsHostPort(text)) {
    r.Fail(item,
           "expected host:port such as 127.0.0.1:9187 or [::1]:9187, got " +
               ConfigReader::Describe(item.value));
    return;
  }
  *out = text;
}

void ReadPositiveDuration(ConfigReader& r, const Item& item, Duration* out) {
  Duration d;
  if (!r.ReadDuration(item, &d)) return;
  if (d.count() == 0) {
    r.Fail(item, "expected a duration > 0, got " +
                     ConfigReader::Describe(item.value));
    return;
  }
  *out = d;
}

void CheckSiteRefs(ConfigReader& r, const std::vector<SiteRef>& refs,
                   const std::map<std::string, SiteConfig>& sites) {
  std::vector<std::string> names;
  for (const auto& [name, site] : sites) names.push_back(name);
  for (const SiteRef& ref : refs) {
    const std::string& site =
        ref.at_key ? ref.item.key.Scalar() : ref.item.value.Scalar();
    if (sites.count(site) != 0) continue;
    std::string what = "unknown site '" + site + "'";
    std::string suggestion = Suggest(site, names);
    if (!suggestion.empty()) {
      what += " (did you mean '" + suggestion + "'?)";
    } else if (names.empty()) {
      what += " (no sites are configured)";
    } else {
      std::string known;
      for (const auto& name : names) {
        known += (known.empty() ? "" : ", ") + name;
      }
      what += " (configured sites: " + known + ")";
    }
    if (ref.at_key) {
      r.FailAtKey(ref.item, what);
    } else {
      r.Fail(ref.item, what);
    }
  }
}

}  // namespace qd::config_detail
