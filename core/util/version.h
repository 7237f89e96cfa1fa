// The version every program of the project reports (--version, /status,
// /metrics, the daemon's Redis hash).
#pragma once

namespace qd {
inline constexpr const char* kVersion = "0.3.0";
}  // namespace qd
