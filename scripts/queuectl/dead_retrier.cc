#include "scripts/queuectl/dead_retrier.h"

#include <algorithm>

#include "core/queue/dead_entry.h"
#include "scripts/queuectl/job_writer.h"

namespace qd::ctl {

DeadRetrier::DeadRetrier(RedisConn* conn, std::string dead_key,
                         std::string stream_key)
    : conn_(conn),
      dead_key_(std::move(dead_key)),
      stream_key_(std::move(stream_key)) {}

Status DeadRetrier::RetryIds(const std::vector<std::string>& given,
                             std::vector<std::string>* missing) {
  // An id given twice would be looked for twice: the second time missing.
  std::vector<std::string> ids;
  for (const std::string& id : given) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  for (size_t at = 0; at < ids.size(); at += kBatch) {
    std::vector<std::string> batch(
        ids.begin() + at, ids.begin() + std::min(ids.size(), at + kBatch));
    DeadScript::Reply reply;
    Status s = Run(
        DeadScript::RetryIds(dead_key_, stream_key_, batch, JobWriter::NowMs()),
        &reply);
    if (!s.ok()) return s;
    missing->insert(missing->end(), reply.missing.begin(), reply.missing.end());
  }
  return Status::Ok();
}

Status DeadRetrier::RetryAll() {
  ReplyPtr last;
  Status s =
      conn_->Call({"XREVRANGE", dead_key_, "+", "-", "COUNT", "1"}, &last);
  std::vector<DeadEntry> newest;
  if (s.ok()) DeadEntry::FromRange(*last, &newest);
  if (!s.ok() || newest.empty()) return s;
  for (bool more = true; more;) {
    DeadScript::Reply reply;
    s = Run(DeadScript::RetryUpTo(dead_key_, stream_key_, newest[0].id,
                                  DeadScript::kMaxPerCall, JobWriter::NowMs()),
            &reply);
    if (!s.ok()) return s;
    more = reply.more && reply.moved > 0;
  }
  return Status::Ok();
}

Status DeadRetrier::Run(const std::vector<std::string>& command,
                        DeadScript::Reply* out) {
  ReplyPtr r;
  Status s = conn_->Call({command.begin(), command.end()}, &r);
  if (!s.ok()) return s;
  std::string why;
  if (!DeadScript::Parse(r.get(), out, &why)) {
    return conn_->Error("dead retry: " + why);
  }
  moved_ += static_cast<uint64_t>(out->moved);
  return Status::Ok();
}

}  // namespace qd::ctl
