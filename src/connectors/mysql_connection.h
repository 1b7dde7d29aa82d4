// MariaDB Connector/C (libmariadb), owned: connections and results as RAII handles, the
// connection from Keboola's `db` object, and the error rules the MySQL connectors share. Speaks
// to MySQL 5.7+/8.x and MariaDB 10.x servers.
#pragma once

#include <mysql.h>

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "connectors/db_extractor_config.h"

namespace swan::connectors::mysql {

struct ConnDeleter {
  void operator()(MYSQL* c) const { mysql_close(c); }
};
// Caution: freeing an unfinished mysql_use_result() result reads (and drops) every row left;
// call Abort() on the connection first when stopping early.
struct ResultDeleter {
  void operator()(MYSQL_RES* r) const { mysql_free_result(r); }
};
using Conn = std::unique_ptr<MYSQL, ConnDeleter>;
using MyResult = std::unique_ptr<MYSQL_RES, ResultDeleter>;

// No single wait for the server's next packet lasts longer than this when the job has no
// timeout of its own: a silent network fails the read instead of hanging the job.
inline constexpr int64_t kDefaultReadTimeoutMs = 3'600'000;

// Connects over TCP with parameters.db {host, port (3306), database, user, #password,
// connectTimeout (s, default 30)}, in utf8mb4, with LOAD DATA LOCAL disabled (a server could
// otherwise ask for any local file). A refused login or an unknown database is invalid_argument
// (field parameters.db); an unreachable server unavailable. Reads and writes time out after
// timeout_ms (or kDefaultReadTimeoutMs) without a packet. The message never holds the password.
Result<Conn> Connect(const nlohmann::json& db, int64_t timeout_ms);

// The last error of `c` for `what`: unavailable when the connection is lost or the server
// stopped the statement (killed, shut down, timed out, deadlock, too many connections), else
// invalid_argument (the server refused the SQL: the configuration's).
Status QueryError(MYSQL* c, const std::string& what);
// Runs a statement that returns no rows.
Status Exec(MYSQL* c, const std::string& sql, const std::string& what);
// Runs a statement and buffers its (small) result: for metadata, never for data.
Result<MyResult> QuerySmall(MYSQL* c, const std::string& sql, const std::string& what);
// Makes every later read and write of `c` fail at once (mariadb_cancel: shuts the socket), so
// an unfinished streaming result can be freed without reading the rest.
void Abort(MYSQL* c);

// `identifier` in backticks, backticks doubled.
std::string Quote(const std::string& identifier);
// `value` as a quoted string literal (mysql_real_escape_string, the connection's charset).
std::string Literal(MYSQL* c, const std::string& value);

}  // namespace swan::connectors::mysql
