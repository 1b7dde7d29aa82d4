// Helpers shared by the CLI's command files: connecting, resolving the project, building query
// strings, printing. Internal to src/cli.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/output.h"
#include "client/api_client.h"
#include "common/limits.h"

namespace swan::cli::support {

using client::ApiClient;
using client::UrlEncode;
using nlohmann::json;

inline std::string EnvOr(const std::string& given, const char* env_name,
                         const std::string& fallback) {
  if (!given.empty()) return given;
  const char* env = std::getenv(env_name);
  if (env != nullptr && env[0] != '\0') return env;
  return fallback;
}

// The API client of a command: URL and token from the options or the environment.
inline Result<ApiClient> Connect(const GlobalOptions& global) {
  const std::string url = EnvOr(global.url, "SWAN_URL", kDefaultUrl);
  const std::string token = EnvOr(global.token, "SWAN_TOKEN", "");
  if (token.empty()) {
    return Status::InvalidArgument("no token given: pass --token or set SWAN_TOKEN");
  }
  return ApiClient(url, token);
}

// The project a command works in: --project, $SWAN_PROJECT, or the project of the token.
inline Result<std::string> ResolveProject(const GlobalOptions& global, const ApiClient& api) {
  std::string project = EnvOr(global.project, "SWAN_PROJECT", "");
  if (!project.empty()) return project;
  ASSIGN_OR_RETURN(json answer, api.Get("/v1/token"));
  const json token = answer.value("token", json::object());
  if (token.contains("project") && token["project"].is_string()) {
    return token["project"].get<std::string>();
  }
  return Status::InvalidArgument(
      "this token belongs to no project (admin token): pass --project or set SWAN_PROJECT");
}

// A client plus the resolved project, for project-scoped commands.
struct ProjectSession {
  ApiClient api;
  std::string project;

  std::string Path(const std::string& suffix) const {
    return "/v1/projects/" + UrlEncode(project) + suffix;
  }
  std::string TablePath(const std::string& table_id, const std::string& suffix = "") const {
    return Path("/tables/" + UrlEncode(table_id) + suffix);
  }
};

inline Result<ProjectSession> OpenProject(const GlobalOptions& global) {
  ASSIGN_OR_RETURN(ApiClient api, Connect(global));
  ASSIGN_OR_RETURN(std::string project, ResolveProject(global, api));
  return ProjectSession{std::move(api), std::move(project)};
}

// Builds "?a=1&b=2" from the non-empty pairs, URL-encoding values.
class Query {
 public:
  // Adds key=value unless value is empty (the server default applies then).
  Query& Add(const std::string& key, const std::string& value) {
    return value.empty() ? *this : AddAlways(key, value);
  }
  Query& AddAlways(const std::string& key, const std::string& value) {
    text_ += text_.empty() ? '?' : '&';
    text_ += key + "=" + UrlEncode(value);
    return *this;
  }
  Query& Add(const std::string& key, const std::optional<int64_t>& value) {
    return value ? Add(key, std::to_string(*value)) : *this;
  }
  const std::string& str() const { return text_; }

 private:
  std::string text_;
};

inline void PrintJson(const json& value) { std::cout << value.dump(2) << '\n'; }

inline std::string BytesField(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return "-";
  return FormatBytes(it->get<uint64_t>());
}

// Prints "key: value" lines with the values aligned.
inline void PrintFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [key, value] : fields) width = std::max(width, key.size());
  for (const auto& [key, value] : fields) {
    std::cout << key << ':' << std::string(width - key.size() + 1, ' ')
              << (value.empty() ? "-" : value) << '\n';
  }
}

inline std::string JoinStrings(const json& array) {
  std::string out;
  if (!array.is_array()) return out;
  for (const auto& item : array) {
    if (!out.empty()) out += ',';
    out += CellText(item);
  }
  return out;
}

inline std::string ScopesText(const json& token) {
  std::string out;
  if (!token.contains("scopes") || !token["scopes"].is_array()) return "-";
  for (const auto& scope : token["scopes"]) {
    if (!out.empty()) out += ',';
    out += FieldText(scope, "access") + ":" + FieldText(scope, "bucket");
  }
  return out.empty() ? "-" : out;
}

inline void PrintTables(const json& tables) {
  TextTable table({"ID", "ROWS", "BYTES", "VERSION", "UPDATED"});
  table.AlignRight(1);
  table.AlignRight(2);
  table.AlignRight(3);
  if (tables.is_array()) {
    for (const auto& t : tables) {
      table.AddRow({FieldText(t, "id"), FieldText(t, "row_count"), BytesField(t, "bytes"),
                    FieldText(t, "version"), FieldText(t, "updated_at")});
    }
  }
  table.Print(std::cout);
}

// "version 3 (import_full): 100 rows, 2.0 KiB"
inline std::string VersionSummary(const json& answer) {
  const json version = answer.value("version", json::object());
  const json table = answer.value("table", json::object());
  std::string text = "version " + FieldText(version.is_object() ? version : table, "version");
  if (version.is_object() && version.contains("operation")) {
    text += " (" + FieldText(version, "operation") + ")";
  }
  const json& counts = version.is_object() && version.contains("row_count") ? version : table;
  text += ", " + FieldText(counts, "row_count") + " rows, " + BytesField(counts, "bytes");
  return text;
}

// A delimiter-like option: one character, with "\t" and "tab" spelled out for convenience.
inline Result<std::string> CharOption(const std::string& name, const std::string& value) {
  if (value.empty()) return value;
  if (value == "\\t" || value == "tab") return std::string("\t");
  if (value.size() != 1) {
    return Status::InvalidArgument("--" + name + " must be one character, got '" + value + "'");
  }
  return value;
}

inline Result<std::string> ReadSql(const std::string& sql) {
  if (sql != "-") return sql;
  std::string text;
  char buffer[65536];
  while (std::cin.read(buffer, sizeof(buffer)) || std::cin.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(std::cin.gcount()));
    if (text.size() > limits::kSqlTextBytesMax) {  // the server would refuse it
      return Status::InvalidArgument("the SQL read from stdin exceeds " +
                                     std::to_string(limits::kSqlTextBytesMax) + " bytes");
    }
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Status::InvalidArgument("no SQL statement on stdin");
  }
  return text;
}

inline Status PrintDone(const GlobalOptions& global, const json& answer,
                        const std::string& message) {
  if (global.json) {
    PrintJson(answer);
  } else {
    std::cout << message << '\n';
  }
  return Status::Ok();
}

// Follows a job's events until it ends (prints them unless --json), then prints its end; the
// Status is the job's result (commands_pipeline.cpp).
Status FollowJobToEnd(const GlobalOptions& global, ProjectSession& session, int64_t id);

}  // namespace swan::cli::support
