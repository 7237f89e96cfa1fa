#include "core/config/config_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "queuedaemon/suggest.h"

namespace qd {
namespace {

constexpr size_t kMaxDescribed = 64;
std::string Suggest(std::string_view key,
                    const std::vector<ConfigReader::Key>& keys) {
  std::vector<std::string> names;
  for (const auto& known : keys) names.emplace_back(known.name);
  return qd::Suggest(key, names);
}

std::string UnknownKey(std::string_view key,
                       const std::vector<ConfigReader::Key>& keys) {
  std::string suggestion = Suggest(key, keys);
  if (!suggestion.empty()) {
    return "unknown key (did you mean '" + suggestion + "'?)";
  }
  std::string known;
  for (const auto& k : keys) {
    if (!known.empty()) known += ", ";
    known += k.name;
  }
  return "unknown key (expected one of: " + known + ")";
}

// Control characters (a newline in a quoted YAML string) would break the
// one-line promise of a message.
std::string OneLine(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += std::iscntrl(static_cast<unsigned char>(c)) ? ' ' : c;
  }
  return out;
}

bool ParseInt(const std::string& text, long long* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

}  // namespace

void ConfigReader::Fail(const Item& item, const std::string& what) {
  bool empty =
      item.value.IsNull() && item.key.IsDefined() && !item.key.IsNull();
  FailAt(empty ? item.key.Mark() : item.value.Mark(), item.path, what);
}

void ConfigReader::FailAtKey(const Item& item, const std::string& what) {
  FailAt(item.key.Mark(), item.path, what);
}

void ConfigReader::FailAt(const YAML::Mark& mark, const std::string& path,
                          const std::string& what) {
  if (!ok()) return;
  std::string where = file_;
  if (!mark.is_null()) {
    where += ":" + std::to_string(mark.line + 1) + ":" +
             std::to_string(mark.column + 1);
  }
  std::string message = where + ": " + (path.empty() ? "" : path + ": ") + what;
  status_ = Status::Error(OneLine(message));
}

void ConfigReader::FailWithin(const Item& item, size_t offset,
                              const std::string& what) {
  YAML::Mark mark = item.value.Mark();
  const std::string& text = item.value.Scalar();
  if (mark.is_null() || !item.value.IsScalar() || offset > text.size() ||
      mark.pos < 0 || static_cast<size_t>(mark.pos) >= source_.size()) {
    return Fail(item, what);
  }
  // A quoted scalar's mark is at its quote; a block scalar's (| or >) at
  // its indicator, with the text on later lines: no column to add there.
  size_t start = static_cast<size_t>(mark.pos);
  char first = source_[start];
  int quote = first == '"' || first == '\'' ? 1 : 0;
  std::string_view written =
      std::string_view(source_).substr(start + quote, offset);
  if (first == '|' || first == '>' ||
      written != std::string_view(text).substr(0, offset)) {
    return Fail(item, what);
  }
  mark.column += quote + static_cast<int>(offset);
  FailAt(mark, item.path, what);
}

ConfigReader::Item ConfigReader::Child(const Item& parent,
                                       const YAML::Node& key,
                                       const YAML::Node& value) {
  std::string name = key.IsScalar() ? key.Scalar() : "?";
  return Item{key, value,
              parent.path.empty() ? name : parent.path + "." + name};
}

bool ConfigReader::ReadEntries(const Item& item, const ItemReader& read) {
  if (!ok()) return false;
  if (item.value.IsNull()) return true;
  if (!item.value.IsMap()) {
    Fail(item, "expected a map, got " + Describe(item.value));
    return false;
  }
  std::map<std::string, int> first_line;
  for (const auto& entry : item.value) {
    Item child = Child(item, entry.first, entry.second);
    if (!entry.first.IsScalar()) {
      FailAtKey(child, "expected a plain key, got " + Describe(entry.first));
    } else if (first_line.count(entry.first.Scalar()) != 0) {
      FailAtKey(child, "duplicate key (first at line " +
                           std::to_string(first_line[entry.first.Scalar()]) +
                           ")");
    } else {
      first_line[entry.first.Scalar()] = entry.first.Mark().line + 1;
      read(child);
    }
    if (!ok()) return false;
  }
  return true;
}

bool ConfigReader::ReadMap(const Item& item, const std::vector<Key>& keys,
                           const ItemReader& other) {
  return ReadEntries(item, [&](const Item& child) {
    std::string name = child.key.Scalar();
    auto known = std::find_if(keys.begin(), keys.end(),
                              [&](const Key& k) { return name == k.name; });
    if (known != keys.end()) {
      known->read(child);
    } else if (other) {
      other(child);
    } else {
      FailAtKey(child, UnknownKey(name, keys));
    }
  });
}

bool ConfigReader::ReadScalar(const Item& item, const std::string& expected,
                              std::string* out) {
  if (!ok()) return false;
  if (!item.value.IsScalar()) {
    Fail(item, "expected " + expected + ", got " + Describe(item.value));
    return false;
  }
  *out = item.value.Scalar();
  return true;
}

bool ConfigReader::ReadString(const Item& item, std::string* out) {
  std::string text;
  if (!ReadScalar(item, "a string", &text)) return false;
  if (text.empty()) {
    Fail(item, "expected a non-empty string, got ''");
    return false;
  }
  *out = text;
  return true;
}

bool ConfigReader::ReadInt(const Item& item, int min, int max, int* out) {
  std::string expected = "a whole number >= " + std::to_string(min);
  std::string text;
  if (!ReadScalar(item, expected, &text)) return false;
  long long value = 0;
  if (!ParseInt(text, &value) || value < min) {
    Fail(item, "expected " + expected + ", got " + Describe(item.value));
    return false;
  }
  if (value > max) {
    Fail(item, "expected a whole number <= " + std::to_string(max) + ", got " +
                   Describe(item.value));
    return false;
  }
  *out = static_cast<int>(value);
  return true;
}

bool ConfigReader::ReadDuration(const Item& item, Duration* out) {
  std::string text;
  if (!ReadScalar(item, "a duration such as 5s", &text)) return false;
  Status s = ParseDuration(text, out);
  if (!s.ok()) Fail(item, s.message());
  return s.ok();
}

bool ConfigReader::ReadSize(const Item& item, uint64_t* out) {
  std::string text;
  if (!ReadScalar(item, "a size such as 256MiB", &text)) return false;
  uint64_t size = 0;
  Status s = ParseSize(text, &size);
  if (!s.ok()) {
    Fail(item, s.message());
    return false;
  }
  if (size == 0) {
    Fail(item, "expected a size > 0, got " + Describe(item.value));
    return false;
  }
  *out = size;
  return true;
}

bool ConfigReader::ReadChoice(const Item& item,
                              const std::vector<std::string>& choices,
                              std::string* out) {
  std::string expected;
  for (const auto& choice : choices) {
    expected += (expected.empty() ? "one of " : "|") + choice;
  }
  std::string text;
  if (!ReadScalar(item, expected, &text)) return false;
  if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
    Fail(item, "expected " + expected + ", got " + Describe(item.value));
    return false;
  }
  *out = text;
  return true;
}

bool ConfigReader::ReadBool(const Item& item, bool* out) {
  std::string text;
  if (!ReadScalar(item, "true or false", &text)) return false;
  static const std::vector<std::string> kTrue = {"true", "yes", "on"};
  static const std::vector<std::string> kFalse = {"false", "no", "off"};
  if (std::find(kTrue.begin(), kTrue.end(), text) != kTrue.end()) {
    *out = true;
  } else if (std::find(kFalse.begin(), kFalse.end(), text) != kFalse.end()) {
    *out = false;
  } else {
    Fail(item, "expected true or false, got " + Describe(item.value));
    return false;
  }
  return true;
}

bool ConfigReader::ReadStringList(const Item& item,
                                  std::vector<std::string>* out) {
  if (!ok()) return false;
  if (item.value.IsNull()) {
    out->clear();
    return true;
  }
  if (!item.value.IsSequence()) {
    Fail(item, "expected a list of strings, got " + Describe(item.value));
    return false;
  }
  std::vector<std::string> list;
  for (const auto& value : item.value) {
    Item element{YAML::Node(), value,
                 item.path + "[" + std::to_string(list.size()) + "]"};
    std::string text;
    if (!ReadString(element, &text)) return false;
    list.push_back(text);
  }
  *out = std::move(list);
  return true;
}

std::string ConfigReader::Describe(const YAML::Node& value) {
  switch (value.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar: {
      const std::string& text = value.Scalar();
      if (text.size() <= kMaxDescribed) return "'" + text + "'";
      return "'" + text.substr(0, kMaxDescribed) + "...'";
    }
    default:
      return "nothing";
  }
}

}  // namespace qd
