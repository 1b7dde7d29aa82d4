// How connector code reports progress: one line per event, to a callback the caller owns.
// Lines never carry secret values (configuration keys starting with '#').
#pragma once

#include <functional>
#include <string>

namespace swan::connectors {

enum class LogLevel { kDebug, kInfo, kWarning };

using LogFn = std::function<void(LogLevel level, const std::string& line)>;

inline void Log(const LogFn& log, LogLevel level, const std::string& line) {
  if (log) log(level, line);
}

}  // namespace swan::connectors
