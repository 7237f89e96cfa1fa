#include "core/util/host_port.h"

namespace qd {

bool SplitHostPort(const std::string& text, std::string* host,
                   std::string* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = text.substr(0, colon);
  *port = text.substr(colon + 1);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (port->empty() || port->size() > 5 ||
      port->find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  return std::stoi(*port) <= 65535;
}

}  // namespace qd
