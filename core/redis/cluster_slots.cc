#include "core/redis/cluster_slots.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <utility>

namespace qd {
namespace {

std::string_view Text(const redisReply* r) {
  return r->str != nullptr ? std::string_view(r->str, r->len)
                           : std::string_view();
}

// 1..65535, all digits.
bool ParsePort(std::string_view text, int* port) {
  int value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 ||
      value > 65535) {
    return false;
  }
  *port = value;
  return true;
}

bool ParseSlot(std::string_view text, int* slot) {
  int value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 ||
      value >= kClusterSlotCount) {
    return false;
  }
  *slot = value;
  return true;
}

bool IntegerSlot(const redisReply* r, int* slot) {
  if (r->type != REDIS_REPLY_INTEGER || r->integer < 0 ||
      r->integer >= kClusterSlotCount) {
    return false;
  }
  *slot = static_cast<int>(r->integer);
  return true;
}

// A host the cluster may name: no control bytes, spaces or brackets (an
// IPv6 address comes bare), bounded.
bool PlausibleHost(std::string_view host) {
  if (host.size() > ClusterSlots::kMaxHost) return false;
  return std::none_of(host.begin(), host.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '[' ||
           c == ']';
  });
}

enum class NodeParse { kOk, kUnknownEndpoint, kBad };

// [host, port, id?, metadata?...]: host a string, NIL or "" (the host
// asked), or "?" (the cluster does not know it).
NodeParse ParseNode(const redisReply* r, const std::string& asked_host,
                    ClusterNode* out, std::string* why) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
    *why = "a node is not [host, port, ...]";
    return NodeParse::kBad;
  }
  const redisReply* host = r->element[0];
  const redisReply* port = r->element[1];
  if (port->type != REDIS_REPLY_INTEGER || port->integer < 1 ||
      port->integer > 65535) {
    *why = "a node's port is not 1..65535";
    return NodeParse::kBad;
  }
  std::string_view h;
  if (host->type == REDIS_REPLY_STRING) {
    h = Text(host);
  } else if (host->type != REDIS_REPLY_NIL) {
    *why = "a node's host is not a string";
    return NodeParse::kBad;
  }
  if (h == "?") return NodeParse::kUnknownEndpoint;
  if (!PlausibleHost(h)) {
    *why =
        "a node's host is too long or holds control bytes, spaces or brackets";
    return NodeParse::kBad;
  }
  out->host = h.empty() ? asked_host : std::string(h);
  out->port = static_cast<int>(port->integer);
  return NodeParse::kOk;
}

}  // namespace

uint16_t ClusterCrc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= static_cast<uint16_t>(byte) << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

int KeySlot(std::string_view key) {
  size_t open = key.find('{');
  if (open != std::string_view::npos) {
    size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return ClusterCrc16(key) & (kClusterSlotCount - 1);
}

std::string ClusterNode::Describe() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool ParseRedirect(std::string_view error, const std::string& asked_host,
                   ClusterRedirect* out) {
  ClusterRedirect r;
  if (error.substr(0, 6) == "MOVED ") {
    r.kind = ClusterRedirect::Kind::kMoved;
    error.remove_prefix(6);
  } else if (error.substr(0, 4) == "ASK ") {
    r.kind = ClusterRedirect::Kind::kAsk;
    error.remove_prefix(4);
  } else {
    return false;
  }
  size_t space = error.find(' ');
  if (space == std::string_view::npos ||
      !ParseSlot(error.substr(0, space), &r.slot)) {
    return false;
  }
  std::string_view address = error.substr(space + 1);
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == address.size() ||
      !ParsePort(address.substr(colon + 1), &r.node.port)) {
    return false;
  }
  std::string_view host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (!PlausibleHost(host)) return false;
  r.node.host = host.empty() ? asked_host : std::string(host);
  *out = std::move(r);
  return true;
}

Status ClusterSlots::Parse(const redisReply* reply,
                           const std::string& asked_host) {
  if (reply == nullptr) return Status::Error("connection lost");
  if (reply->type == REDIS_REPLY_ERROR) {
    return Status::Error(std::string(Text(reply)));
  }
  if (reply->type != REDIS_REPLY_ARRAY) {
    return Status::Error("CLUSTER SLOTS did not answer a list of ranges");
  }
  if (reply->elements > static_cast<size_t>(kClusterSlotCount)) {
    return Status::Error("CLUSTER SLOTS answered more ranges than slots");
  }
  std::vector<Range> ranges;
  ranges.reserve(reply->elements);
  std::string why;
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* e = reply->element[i];
    std::string at = "range " + std::to_string(i + 1) + ": ";
    Range range{};
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
        e->elements > 3 + kMaxReplicas) {
      return Status::Error(at + "not [start, end, master, replica...]");
    }
    if (!IntegerSlot(e->element[0], &range.start) ||
        !IntegerSlot(e->element[1], &range.end) || range.start > range.end) {
      return Status::Error(at + "not a slot range within 0..16383");
    }
    NodeParse master =
        ParseNode(e->element[2], asked_host, &range.master, &why);
    if (master == NodeParse::kBad) return Status::Error(at + why);
    range.served = master == NodeParse::kOk;
    for (size_t k = 3; k < e->elements; ++k) {
      ClusterNode replica;
      NodeParse p = ParseNode(e->element[k], asked_host, &replica, &why);
      if (p == NodeParse::kBad) return Status::Error(at + why);
      if (p == NodeParse::kOk) range.replicas.push_back(std::move(replica));
    }
    ranges.push_back(std::move(range));
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.start < b.start; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].start <= ranges[i - 1].end) {
      return Status::Error("CLUSTER SLOTS answered overlapping ranges (" +
                           std::to_string(ranges[i - 1].start) + "-" +
                           std::to_string(ranges[i - 1].end) + " and " +
                           std::to_string(ranges[i].start) + "-" +
                           std::to_string(ranges[i].end) + ")");
    }
  }
  ranges_ = std::move(ranges);
  return Status::Ok();
}

const ClusterNode* ClusterSlots::MasterOf(int slot) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), slot,
                             [](int s, const Range& r) { return s < r.start; });
  if (it == ranges_.begin()) return nullptr;
  --it;
  return slot <= it->end && it->served ? &it->master : nullptr;
}

std::vector<ClusterNode> ClusterSlots::Nodes() const {
  std::vector<ClusterNode> nodes;
  std::set<std::pair<std::string_view, int>> seen;
  auto add = [&](const ClusterNode& n) {
    if (seen.emplace(n.host, n.port).second) nodes.push_back(n);
  };
  for (const Range& r : ranges_) {
    if (r.served) add(r.master);
  }
  for (const Range& r : ranges_) {
    for (const ClusterNode& n : r.replicas) add(n);
  }
  return nodes;
}

}  // namespace qd
