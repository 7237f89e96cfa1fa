// What the tests of the server lookups (Sentinel, Cluster) share: a config
// loaded from text, the message of one that must fail, and a loopback port
// nothing listens on.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "core/config/config.h"

namespace qd::test {

inline Config Load(const std::string& text) {
  Config config;
  Status s = Config::LoadString(text, "x.yaml", &config);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.message());
  return config;
}

// The message of loading `text`, which must fail.
inline std::string LoadError(const std::string& text) {
  Config config;
  Status s = Config::LoadString(text, "x.yaml", &config);
  EXPECT_FALSE(s.ok()) << "loaded:\n" << text;
  return s.ok() ? "" : s.message();
}

// A loopback port nothing listens on (bound, then closed).
inline int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

}  // namespace qd::test
