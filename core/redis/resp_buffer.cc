#include "core/redis/resp_buffer.h"

#include <charconv>

namespace qd {

void RespBuffer::Add(std::initializer_list<std::string_view> args) {
  Header('*', args.size());
  for (std::string_view arg : args) Bulk(arg);
  ++commands_;
}

void RespBuffer::Add(const std::vector<std::string_view>& args) {
  Header('*', args.size());
  for (std::string_view arg : args) Bulk(arg);
  ++commands_;
}

void RespBuffer::Clear() {
  data_.clear();
  commands_ = 0;
}

void RespBuffer::Header(char type, size_t n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof(digits), n).ptr;
  data_ += type;
  data_.append(digits, end);
  data_ += "\r\n";
}

void RespBuffer::Bulk(std::string_view arg) {
  Header('$', arg.size());
  data_ += arg;
  data_ += "\r\n";
}

}  // namespace qd
