// SplitHostPort: "host:port" or "[v6]:port" into its host (brackets
// removed) and its port digits (0..65535; callers that need a real port
// refuse 0). For the monitoring sockets, which resolve what the config
// loader checked.
#pragma once

#include <string>

namespace qd {

bool SplitHostPort(const std::string& text, std::string* host,
                   std::string* port);

}  // namespace qd
