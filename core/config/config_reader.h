// ConfigReader: walks a parsed YAML document with positions, for the config
// loader (config.cc holds the schema; this class holds the mechanics).
//
// It keeps the first error only ("sticky"): once a read has failed, every
// later read does nothing and returns false, so the schema code reads key
// after key without checking each step and asks status() at the end. Every
// message is one line, "FILE:LINE:COLUMN: KEY.PATH: what is wrong", with the
// position of the offending value (or of its key when the value is empty).
// Maps are checked for duplicate keys and for unknown keys, which get a
// "did you mean 'X'?" when a known key is close. Not thread-safe; one reader
// per load.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/units.h"
#include "queuedaemon/status.h"

namespace qd {

class ConfigReader {
 public:
  // One value being read, with what is needed to report on it.
  struct Item {
    YAML::Node key;    // its key; a null node for the document itself
    YAML::Node value;  // may be null: "threads:" with nothing after it
    std::string path;  // "sites.default.queues.mail", "" for the document
  };
  using ItemReader = std::function<void(const Item& item)>;
  // A key a map may hold, and how to read its value.
  struct Key {
    const char* name;
    ItemReader read;
  };

  // `source`: the document's text, for FailWithin (optional).
  explicit ConfigReader(std::string file, std::string source = "")
      : file_(std::move(file)), source_(std::move(source)) {}

  ConfigReader(const ConfigReader&) = delete;
  ConfigReader& operator=(const ConfigReader&) = delete;

  bool ok() const { return status_.ok(); }
  Status status() const { return status_; }

  // Records "FILE:LINE:COL: PATH: what" unless an error is already recorded.
  // Fail points at the value (or at the key when the value is empty),
  // FailAtKey at the key (for messages about the key itself).
  void Fail(const Item& item, const std::string& what);
  void FailAtKey(const Item& item, const std::string& what);
  void FailAt(const YAML::Mark& mark, const std::string& path,
              const std::string& what);
  // Fail at the byte `offset` (0-based) of a scalar value, for a value with
  // a syntax of its own (a cron expression). Exact for a plain or quoted
  // scalar when its text up to there is written as read (no escapes, no
  // line breaks); otherwise, or without the source, at the value's start.
  void FailWithin(const Item& item, size_t offset, const std::string& what);

  // The entry `key: value` of the map in `parent`, as an Item.
  static Item Child(const Item& parent, const YAML::Node& key,
                    const YAML::Node& value);

  // Reads a map whose keys are fixed: each key is read by its Key in file
  // order; a key not in `keys` goes to `other` when given, else is an error
  // with a suggestion. An empty value counts as an empty map. Returns false
  // when the value is not a map (or an error is already recorded).
  bool ReadMap(const Item& item, const std::vector<Key>& keys,
               const ItemReader& other = nullptr);
  // Reads a map whose keys are names the user chose (sites, queues): checks
  // that keys are plain and unique, then calls `read` for each entry in file
  // order. Same return as ReadMap.
  bool ReadEntries(const Item& item, const ItemReader& read);

  // Typed scalars. Each leaves `*out` alone and returns false on error.
  bool ReadString(const Item& item, std::string* out);  // non-empty
  bool ReadInt(const Item& item, int min, int max, int* out);
  bool ReadDuration(const Item& item, Duration* out);
  bool ReadSize(const Item& item, uint64_t* out);  // > 0
  bool ReadChoice(const Item& item, const std::vector<std::string>& choices,
                  std::string* out);
  bool ReadStringList(const Item& item, std::vector<std::string>* out);
  bool ReadBool(const Item& item, bool* out);  // true|false (yes|no, on|off)

  // A scalar's text, or an error "expected <expected>, got a map".
  bool ReadScalar(const Item& item, const std::string& expected,
                  std::string* out);
  // What a value is, for messages: "'many'", "a map", "a list", "nothing".
  static std::string Describe(const YAML::Node& value);

 private:
  std::string file_;
  std::string source_;
  Status status_;
};

}  // namespace qd
