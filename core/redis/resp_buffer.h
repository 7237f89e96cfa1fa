// RespBuffer: Redis commands written in the wire protocol (RESP) into one
// contiguous buffer, to be sent in a single write.
//
// Why not redisAppendCommandArgv: it allocates an sds string per command and
// copies it again into the output buffer; formatting a batch of 1000 XADDs
// here and handing it to hiredis once is what lets `enqueue --bulk` keep up
// with redis-server. A plain value, no thread safety.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace qd {

class RespBuffer {
 public:
  // Appends one command, e.g. Add({"XADD", key, "*", "payload", p}).
  void Add(std::initializer_list<std::string_view> args);
  void Add(const std::vector<std::string_view>& args);

  // Commands added since the last Clear().
  size_t commands() const { return commands_; }
  const std::string& data() const { return data_; }
  void Clear();

 private:
  void Header(char type, size_t n);
  void Bulk(std::string_view arg);

  std::string data_;
  size_t commands_ = 0;
};

}  // namespace qd
