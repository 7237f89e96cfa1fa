#include "core/util/secret_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace qd {
namespace {

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qd-secret-file-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!std::system(cmd.c_str());
  }
  std::string Make(const std::string& text, mode_t mode) {
    std::string path = dir_ + "/secret";
    std::ofstream(path, std::ios::binary) << text;
    chmod(path.c_str(), mode);
    return path;
  }
  std::string dir_;
};

TEST_F(SecretFileTest, ReadsTheWholeFile) {
  std::string text;
  ASSERT_TRUE(SecretFile::Read(Make("a\nb\n", 0600), &text).ok());
  EXPECT_EQ(text, "a\nb\n");
  ASSERT_TRUE(SecretFile::Read(Make("", 0400), &text).ok());
  EXPECT_EQ(text, "");
}

TEST_F(SecretFileTest, RefusesAFileOthersMayRead) {
  for (mode_t mode : {0640, 0604, 0644}) {
    std::string path = Make("x", mode);
    std::string text = "untouched";
    Status s = SecretFile::Read(path, &text);
    ASSERT_FALSE(s.ok()) << mode;
    EXPECT_EQ(s.message(), path + ": readable by others; chmod 600 it");
    EXPECT_EQ(text, "untouched");
  }
  std::string text;
  EXPECT_TRUE(SecretFile::Read(Make("x", 0620), &text).ok())
      << "writable by the group is not a leak";
}

TEST_F(SecretFileTest, OtherErrorsNameTheFile) {
  std::string text;
  Status s = SecretFile::Read(dir_ + "/nope", &text);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            dir_ + "/nope: cannot read it (No such file or directory)");
  s = SecretFile::Read(dir_, &text);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), dir_ + ": not a regular file");
  std::string big = Make(std::string(SecretFile::kMaxSize + 1, 'x'), 0600);
  s = SecretFile::Read(big, &text);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), big + ": larger than 64 KiB");
}

}  // namespace
}  // namespace qd
