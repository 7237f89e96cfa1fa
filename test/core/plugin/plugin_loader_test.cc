#include "core/plugin/plugin_loader.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "core/config/config.h"
#include "core/plugin/handler_set.h"
#include "test/core/plugin/fake_job_context.h"

#ifndef QD_PLUGIN_DIR
#error "QD_PLUGIN_DIR must name the build's plugins directory"
#endif
#ifndef QD_TEST_PLUGIN_DIR
#error "QD_TEST_PLUGIN_DIR must name the build's test-plugins directory"
#endif

namespace qd {
namespace {

namespace fs = std::filesystem;

// Each test loads copies of the plugins from its own private directory, so
// the result does not depend on the build tree's permissions (umask 002)
// and a test can make its directory unsafe on purpose.
class PluginLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qd-plugin-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Copies FROM/NAME.so into the test directory as AS.so, mode 0755.
  void Install(const std::string& from, const std::string& name,
               std::string as = "") {
    if (as.empty()) as = name;
    fs::path target = dir_ + "/" + as + ".so";
    fs::copy_file(from + "/" + name + ".so", target);
    chmod(target.c_str(), 0755);
  }

  Status Load(std::vector<std::string> names) {
    return loader_.Load(dir_, names, registry_);
  }

  std::string dir_;
  HandlerRegistry registry_;
  PluginLoader loader_;
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Job MakeJob(std::string_view payload) {
  return Job("s1", "upper", "1-0", {{"payload", payload}});
}

TEST_F(PluginLoaderTest, LoadsTheExamplePluginAndItsHandlerRuns) {
  Install(QD_PLUGIN_DIR, "example");
  Status s = Load({"example"});
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(registry_.HandlerNames(),
            std::vector<std::string>{"example-upper"});
  EXPECT_EQ(loader_.loaded().size(), 1u);

  Config config;
  s = Config::LoadString(
      "sites:\n  s1:\n    queues:\n"
      "      upper: { handler: example-upper, fail_on: stop }\n",
      "qd.yaml", &config);
  ASSERT_TRUE(s.ok()) << s.message();
  HandlerSet set;
  s = registry_.Build(config, &set);
  ASSERT_TRUE(s.ok()) << s.message();
  QueueHandler* handler = set.Find("s1", "upper");
  ASSERT_NE(handler, nullptr);

  FakeJobContext ctx;
  JobResult ok = handler->handle(MakeJob("hello"), ctx);
  EXPECT_EQ(ok.kind(), JobResult::Kind::kOk);
  EXPECT_TRUE(Contains(ctx.logged(), "info example-upper: HELLO"))
      << ctx.logged();
  EXPECT_EQ(ctx.counts["example.upper"], 1);
  JobResult fail = handler->handle(MakeJob("stop"), ctx);
  EXPECT_EQ(fail.kind(), JobResult::Kind::kFail);
  EXPECT_EQ(fail.reason(), "asked to fail");
}

TEST_F(PluginLoaderTest, ExamplePluginRefusesUnknownOption) {
  Install(QD_PLUGIN_DIR, "example");
  ASSERT_TRUE(Load({"example"}).ok());
  Config config;
  ASSERT_TRUE(
      Config::LoadString("sites:\n  s1:\n    queues:\n"
                         "      upper: { handler: example-upper, fail: x }\n",
                         "qd.yaml", &config)
          .ok());
  HandlerSet set;
  Status s = registry_.Build(config, &set);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "qd.yaml:4: sites.s1.queues.upper: handler 'example-upper': "
            "unknown option 'fail' (example-upper knows: fail_on)");
}

TEST_F(PluginLoaderTest, RefusesAbiMismatchNamingTheFile) {
  Install(QD_TEST_PLUGIN_DIR, "bad_abi");
  Status s = Load({"bad_abi"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "plugin 'bad_abi': " + dir_ +
                             "/bad_abi.so was built for plugin ABI 999, this "
                             "daemon has " +
                             std::to_string(QD_PLUGIN_ABI_VERSION) +
                             ": rebuild it against this "
                             "queuedaemon's headers");
  EXPECT_TRUE(loader_.loaded().empty());
}

TEST_F(PluginLoaderTest, RefusesSignatureMismatchShowingBoth) {
  Install(QD_TEST_PLUGIN_DIR, "bad_signature");
  Status s = Load({"bad_signature"});
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), dir_ + "/bad_signature.so was built as "
                                           "'othercc-1.0/other-stdlib/"
                                           "queuedaemon-0'"))
      << s.message();
  EXPECT_TRUE(Contains(s.message(),
                       std::string("this daemon is '") + QD_PLUGIN_SIGNATURE))
      << s.message();
}

TEST_F(PluginLoaderTest, RefusesFileWithoutEntryPoint) {
  Install(QD_TEST_PLUGIN_DIR, "no_entry");
  Status s = Load({"no_entry"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("plugin 'no_entry': " + dir_ +
                                  "/no_entry.so has no qd_plugin_entry symbol",
                              0),
            0u)
      << s.message();
}

TEST_F(PluginLoaderTest, MissingFileNamesThePath) {
  Status s = Load({"absent"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "plugin 'absent': " + dir_ +
                             "/absent.so: No such file or directory (is it "
                             "in plugins.dir, named NAME.so?)");
}

TEST_F(PluginLoaderTest, MissingDirectoryNamesIt) {
  Status s = loader_.Load(dir_ + "/nope", {"example"}, registry_);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), "plugin directory " + dir_ +
                                        "/nope: No "
                                        "such file"))
      << s.message();
}

TEST_F(PluginLoaderTest, RefusesWorldWritableDirectory) {
  Install(QD_PLUGIN_DIR, "example");
  chmod(dir_.c_str(), 0777);
  Status s = Load({"example"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "plugin 'example': " + dir_ +
                " is writable by others: refusing to load code anyone could "
                "replace (chmod go-w)");
  EXPECT_TRUE(registry_.HandlerNames().empty());
}

TEST_F(PluginLoaderTest, RefusesGroupWritableFile) {
  Install(QD_PLUGIN_DIR, "example");
  chmod((dir_ + "/example.so").c_str(), 0775);
  Status s = Load({"example"});
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), "/example.so is writable by its group"))
      << s.message();
}

TEST_F(PluginLoaderTest, RefusesNamesThatAreNotPlainFileNames) {
  for (const char* name : {"../example", "", "a/b", ".."}) {
    Status s = Load({name});
    ASSERT_FALSE(s.ok()) << name;
    EXPECT_TRUE(Contains(s.message(), "plugins.load takes plain names"))
        << s.message();
  }
}

TEST_F(PluginLoaderTest, LoadingAgainSkipsPluginsAlreadyLoaded) {
  Install(QD_PLUGIN_DIR, "example");
  ASSERT_TRUE(Load({"example"}).ok());
  Status s = Load({"example"});  // SIGHUP with the same config
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(registry_.TakeError().ok());
  EXPECT_EQ(registry_.HandlerNames().size(), 1u);
}

TEST_F(PluginLoaderTest, RefusesAHandlerNameAlreadyRegistered) {
  Install(QD_PLUGIN_DIR, "example");
  Install(QD_PLUGIN_DIR, "example", "example_copy");
  Status s = Load({"example", "example_copy"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "plugin 'example_copy': " + dir_ +
                             "/example_copy.so: queue handler "
                             "'example-upper' is already registered");
  EXPECT_EQ(loader_.loaded().size(), 1u);
}

TEST_F(PluginLoaderTest, RegisterFunctionThatThrowsAddsNothing) {
  Install(QD_TEST_PLUGIN_DIR, "throws");
  Status s = Load({"throws"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "plugin 'throws': " + dir_ +
                             "/throws.so: its register function threw: "
                             "cannot find its license file");
  EXPECT_TRUE(registry_.HandlerNames().empty());
}

TEST_F(PluginLoaderTest, StopsAtTheFirstBadPlugin) {
  Install(QD_PLUGIN_DIR, "example");
  Install(QD_TEST_PLUGIN_DIR, "no_entry");
  Status s = Load({"no_entry", "example"});
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(registry_.HandlerNames().empty());
}

TEST_F(PluginLoaderTest, RelativeDirectoryIsReportedAbsolute) {
  std::string cwd = fs::current_path();
  fs::current_path(dir_);
  Status s = loader_.Load("sub", {"absent"}, registry_);
  fs::current_path(cwd);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), dir_ + "/sub")) << s.message();
}

}  // namespace
}  // namespace qd
