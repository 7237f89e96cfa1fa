// The top-level redis on a Redis Cluster (docs/scaling-out.md): three
// masters with a replica each; the daemon's own keys (its hash, a
// listener's hash, sessions, control replies) carry the tag {qd} and sit
// on the tag's node, while two sites without a redis of their own run on
// the masters of their own slots. queuectl (ps, drain, resume, check) and
// /api/v1/daemons find the daemon there. Real redis-server, redis-cli,
// queuedaemon and queuectl processes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster_fixture.h"
#include "core/config/own_keys.h"
#include "core/control/control_message.h"
#include "daemon_harness.h"
#include "queue_harness.h"
#include "scale_out_harness.h"

namespace qd::test {
namespace {

// The master that serves `key`'s slot: the node that answers EXISTS
// (replicas and the other masters answer MOVED); 0 when none does.
int MasterOf(const std::vector<std::unique_ptr<RedisServer>>& nodes,
             const std::string& key) {
  for (const auto& n : nodes) {
    if (RedisInt(n->port(), {"EXISTS", key}) >= 0) return n->port();
  }
  return 0;
}

std::string HostName() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return host;
}

// testkit (the queues) and example (the listener) in one plugin dir.
std::string PluginsOf(const TempDir& dir) {
  std::string built = std::string(QD_BINARY_DIR) + "/..";
  EXPECT_EQ(symlink((built + "/test-plugins/testkit.so").c_str(),
                    dir.File("testkit.so").c_str()),
            0);
  EXPECT_EQ(symlink((built + "/plugins/example.so").c_str(),
                    dir.File("example.so").c_str()),
            0);
  return dir.path();
}

class ClusterTopLevelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartCluster(&nodes_, 1));
    for (const auto& n : nodes_) {
      seeds_ += (seeds_.empty() ? "" : ", ") + std::string("127.0.0.1:") +
                std::to_string(n->port());
    }
  }

  // Sites a and b (no redis of their own), a listener with a login, the
  // HTTP monitor; the top-level redis is the cluster.
  std::string Config() const {
    std::string text = QueueConfig("{ cluster: [" + seeds_ + "] }", 2, "",
                                   /*two_sites=*/true);
    std::string plugins = "plugins: { dir: " + TestPluginDir();
    text.replace(text.find(plugins), plugins.size(),
                 "plugins: { dir: " + PluginsOf(plugins_));
    text.replace(text.find("load: [testkit]"), 15, "load: [testkit, example]");
    return text + "monitor: { http: 127.0.0.1:" + std::to_string(http_) +
           " }\n"
           "listeners:\n"
           "  line:\n"
           "    handler: example-line\n"
           "    terminator: \"\\n\"\n"
           "    listen: 127.0.0.1:" +
           std::to_string(listen_) +
           "\n"
           "    site: a\n"
           "    login: required\n"
           "    accounts:\n"
           "      alice: { password: secret, worker_keepalive: 0s }\n";
  }

  CtlResult Ctl(const Daemon& d, const std::vector<std::string>& args) {
    std::vector<std::string> all = {"-c", d.config_path()};
    all.insert(all.end(), args.begin(), args.end());
    return RunQueuectl(d.dir(), all);
  }

  std::vector<std::unique_ptr<RedisServer>> nodes_;
  std::string seeds_;
  TempDir plugins_;
  int http_ = FreePort();
  int listen_ = FreePort();
};

TEST_F(ClusterTopLevelTest, OwnKeysShareTheTagsNodeAndSitesTheirOwn) {
  const std::string host = HostName();
  // Sites a and b hash to two masters; the daemon's keys to one of the
  // three (whichever serves {qd}).
  int a = MasterOf(nodes_, "qd:{a}:delayed");
  int b = MasterOf(nodes_, "qd:{b}:delayed");
  int own = MasterOf(nodes_, OwnKeys::Daemon(host, "generic"));
  ASSERT_TRUE(a != 0 && b != 0 && own != 0);
  ASSERT_NE(a, b) << "the sites' slots are on two masters";

  Daemon d(Config());
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();

  // Jobs run on both sites, each read from its own slot's master.
  std::vector<std::string> want_a = Numbered("a", 200);
  std::vector<std::string> want_b = Numbered("b", 200);
  Enqueue(a, "a", want_a);
  Enqueue(b, "b", want_b);
  std::vector<std::string> want = want_a;
  want.insert(want.end(), want_b.begin(), want_b.end());
  std::map<std::string, int> r;
  ASSERT_TRUE(
      WaitForCovered(d.dir().File("record.txt"), want, milliseconds(30000), &r))
      << d.Log();

  // The daemon's hash is on the tag's node, and queuectl finds it there:
  // check sums its workers, ps asks it over qd:control.
  const std::string daemon_key = OwnKeys::Daemon(host, "generic");
  ASSERT_TRUE(WaitFor(
      [&] {
        return RedisInt(own, {"EXISTS", daemon_key}) == 1;
      },
      milliseconds(10000)))
      << d.Log();
  CtlResult check;
  ASSERT_TRUE(WaitFor(
      [&] {
        check = Ctl(d, {"check", "--workers-min", "2"});
        return check.code == 0;
      },
      milliseconds(15000)))
      << check.out << check.err << d.Log();
  EXPECT_NE(check.out.find("workers=2"), std::string::npos) << check.out;
  CtlResult ps = Ctl(d, {"ps", "--json"});
  ASSERT_EQ(ps.code, 0) << ps.out << ps.err << d.Log();
  nlohmann::json row = nlohmann::json::parse(ps.out, nullptr, false);
  ASSERT_TRUE(row.is_object()) << ps.out;
  EXPECT_EQ(row["pid"], d.pid()) << ps.out;
  EXPECT_EQ(row["host"], host) << ps.out;

  // A control command gets its answer, and acts: jobs enqueued while site
  // a is drained run after resume.
  CtlResult drain = Ctl(d, {"drain", "--site", "a"});
  ASSERT_EQ(drain.code, 0) << drain.out << drain.err << d.Log();
  EXPECT_NE(drain.out.find("ok - stopped fetching for site a"),
            std::string::npos)
      << drain.out;
  std::vector<std::string> held = Numbered("held", 50);
  Enqueue(a, "a", held);
  CtlResult resume = Ctl(d, {"resume", "--site", "a"});
  ASSERT_EQ(resume.code, 0) << resume.out << resume.err << d.Log();
  EXPECT_NE(resume.out.find("ok - restarted fetching for site a"),
            std::string::npos)
      << resume.out;
  want.insert(want.end(), held.begin(), held.end());
  ASSERT_TRUE(WaitForCovered(d.dir().File("record.txt"), want,
                             milliseconds(30000), &r));

  // The API lists the daemon from the same node.
  std::string body;
  nlohmann::json daemons;
  ASSERT_TRUE(WaitFor(
      [&] {
        if (HttpGet(http_, "/api/v1/daemons", &body) != 200) return false;
        nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
        if (!j.is_object() || !j.contains("daemons")) return false;
        daemons = j["daemons"];
        return daemons.size() == 1;
      },
      milliseconds(10000)))
      << body;
  EXPECT_EQ(daemons[0]["pid"], d.pid());
  EXPECT_EQ(daemons[0]["self"], true);

  // A session, and a control reply published from a node other than the
  // tag's (PUBLISH reaches every node's subscribers); the reply list is
  // left for us to read.
  LineClient c = LineClient::Tcp(listen_);
  ASSERT_TRUE(c.connected());
  ASSERT_EQ(c.Request("LOGIN alice secret", milliseconds(5000)),
            std::optional<std::string>("OK"))
      << d.Log();
  ASSERT_TRUE(c.Request("WHO", milliseconds(5000)).has_value());
  ControlCommand cmd = ControlCommand::Make("ps");
  int elsewhere = own == a ? b : a;
  EXPECT_EQ(
      RedisInt(elsewhere, {"PUBLISH", OwnKeys::kControlChannel, cmd.Encode()}),
      0)
      << "the daemon subscribes on the tag's node, not this one";
  ASSERT_TRUE(WaitFor(
      [&] {
        return RedisInt(own, {"LLEN", cmd.reply_to}) == 1;
      },
      milliseconds(10000)))
      << d.Log();

  // Every key of the daemon's own is on the tag's node, in one slot.
  std::set<std::string> keys;
  ASSERT_TRUE(WaitFor(
      [&] {
        keys.clear();
        for (const std::string& k : RedisStrings(own, {"KEYS", "*{qd}*"})) {
          keys.insert(k);
        }
        return keys.count(OwnKeys::Listener(host, "generic", "line")) == 1 &&
               keys.count(cmd.reply_to) == 1 &&
               std::any_of(keys.begin(), keys.end(), [](const std::string& k) {
                 return k.rfind(OwnKeys::Session("qd", ""), 0) == 0;
               });
      },
      milliseconds(10000)))
      << keys.size() << " keys\n"
      << d.Log();
  EXPECT_EQ(keys.count(daemon_key), 1u);
  long long slot = RedisInt(own, {"CLUSTER", "KEYSLOT", OwnKeys::kTag});
  for (const std::string& k : keys) {
    EXPECT_EQ(RedisInt(own, {"CLUSTER", "KEYSLOT", k}), slot) << k;
  }
  // None on the other masters (the tag's replica holds copies).
  for (const auto& n : nodes_) {
    if (n->port() == own) continue;
    std::vector<std::string> role = RedisStrings(n->port(), {"ROLE"});
    if (role.empty() || role[0] != "master") continue;
    EXPECT_TRUE(RedisStrings(n->port(), {"KEYS", "*{qd}*"}).empty())
        << "a {qd} key on master " << n->port();
  }
}

}  // namespace
}  // namespace qd::test
