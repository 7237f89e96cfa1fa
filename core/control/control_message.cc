#include "core/control/control_message.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <set>

#include "core/util/units.h"

namespace qd {
namespace {

const std::set<std::string> kCommands = {"reload", "restart", "drain",
                                         "resume", "stop",    "ps"};

std::string Hex(const unsigned char* bytes, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

std::string Hmac(const std::string& secret, std::string_view text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac,
       &len);
  return Hex(mac, len);
}

// Reads a string field; absent is "" unless `required`.
bool Field(const nlohmann::json& j, const char* name, bool required,
           std::string* out, std::string* error) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    if (required) *error = std::string("missing \"") + name + "\"";
    return !required;
  }
  if (!it->is_string()) {
    *error = std::string("\"") + name + "\" must be a string";
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

}  // namespace

ControlCommand ControlCommand::Make(std::string cmd) {
  ControlCommand c;
  c.cmd = std::move(cmd);
  unsigned char random[12];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    // Not expected; fall back to time and address entropy.
    int64_t now = EpochMs();
    for (size_t i = 0; i < sizeof(random); ++i) {
      random[i] = static_cast<unsigned char>((now >> (i % 8 * 8)) ^
                                             reinterpret_cast<uintptr_t>(&c));
    }
  }
  c.req = Hex(random, sizeof(random));
  c.reply_to = OwnKeys::ControlReply(c.req);
  c.ts_ms = EpochMs();
  return c;
}

std::string ControlCommand::Encode() const {
  nlohmann::json j = {{"v", 1},
                      {"cmd", cmd},
                      {"req", req},
                      {"reply_to", reply_to},
                      {"ts", ts_ms}};
  if (!site.empty()) j["site"] = site;
  if (!host.empty()) j["host"] = host;
  if (!id.empty()) j["id"] = id;
  // A site or host typed on the command line may not be UTF-8: replace the
  // bad bytes (the daemon then answers "no such site") instead of throwing.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status ControlCommand::Decode(std::string_view json, ControlCommand* out) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Error("control command: not a JSON object");
  }
  ControlCommand c;
  std::string error;
  if (!j.contains("v") || j["v"] != 1) {
    return Status::Error("control command: expected \"v\": 1");
  }
  if (!Field(j, "cmd", true, &c.cmd, &error) ||
      !Field(j, "req", true, &c.req, &error) ||
      !Field(j, "reply_to", true, &c.reply_to, &error) ||
      !Field(j, "site", false, &c.site, &error) ||
      !Field(j, "host", false, &c.host, &error) ||
      !Field(j, "id", false, &c.id, &error)) {
    return Status::Error("control command: " + error);
  }
  if (!j.contains("ts") || !j["ts"].is_number_integer()) {
    return Status::Error("control command: \"ts\" must be ms since the epoch");
  }
  c.ts_ms = j["ts"].get<int64_t>();
  if (kCommands.count(c.cmd) == 0) {
    return Status::Error("control command: unknown command '" + c.cmd +
                         "' (expected reload, restart, drain, resume, stop "
                         "or ps)");
  }
  if (!c.site.empty() && !c.TakesSite()) {
    return Status::Error("control command: " + c.cmd + " takes no site");
  }
  if (c.req.empty() || c.req.size() > 64 || c.reply_to.size() > 200 ||
      c.reply_to.rfind(OwnKeys::kControlReplyPrefix, 0) != 0) {
    return Status::Error(
        std::string("control command: req must be 1..64 bytes and reply_to "
                    "a ") +
        OwnKeys::kControlReplyPrefix + " key");
  }
  *out = std::move(c);
  return Status::Ok();
}

bool ControlCommand::Selects(const std::string& h, const std::string& i) const {
  return (host.empty() || host == h) && (id.empty() || id == i);
}

bool ControlCommand::TakesSite() const {
  return cmd == "reload" || cmd == "drain" || cmd == "resume";
}

std::string ControlReply::Encode() const {
  nlohmann::json j = {{"req", req}, {"host", host}, {"id", id},
                      {"pid", pid}, {"ok", ok},     {"message", message}};
  if (!data.is_null()) j["data"] = data;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status ControlReply::Decode(std::string_view json, ControlReply* out) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Error("control reply: not a JSON object");
  }
  ControlReply r;
  std::string error;
  if (!Field(j, "req", true, &r.req, &error) ||
      !Field(j, "host", true, &r.host, &error) ||
      !Field(j, "id", true, &r.id, &error) ||
      !Field(j, "message", false, &r.message, &error)) {
    return Status::Error("control reply: " + error);
  }
  if (!j.contains("ok") || !j["ok"].is_boolean()) {
    return Status::Error("control reply: \"ok\" must be true or false");
  }
  r.ok = j["ok"].get<bool>();
  if (j.contains("pid") && j["pid"].is_number_integer()) {
    r.pid = j["pid"].get<int64_t>();
  }
  if (j.contains("data")) r.data = j["data"];
  *out = std::move(r);
  return Status::Ok();
}

std::string SealControl(const std::string& json, const std::string& secret) {
  if (secret.empty()) return json;
  return "v1:" + Hmac(secret, json) + " " + json;
}

Status OpenControl(std::string_view payload, const std::string& secret,
                   std::string* json) {
  bool signed_payload = payload.rfind("v1:", 0) == 0;
  if (!signed_payload) {
    if (!secret.empty()) {
      return Status::Error(
          "unsigned command refused (control.secret_file "
          "is set)");
    }
    *json = std::string(payload);
    return Status::Ok();
  }
  size_t space = payload.find(' ');
  if (space == std::string_view::npos) {
    return Status::Error("malformed signed command");
  }
  std::string_view mac = payload.substr(3, space - 3);
  std::string_view body = payload.substr(space + 1);
  if (!secret.empty()) {
    std::string want = Hmac(secret, body);
    if (mac.size() != want.size() ||
        CRYPTO_memcmp(mac.data(), want.data(), want.size()) != 0) {
      return Status::Error("bad signature (wrong or no shared secret)");
    }
  }
  *json = std::string(body);
  return Status::Ok();
}

}  // namespace qd
