// libpq, owned: connections and results as RAII handles, the connection from Keboola's `db`
// object, and the error rules the PostgreSQL connectors share.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "connectors/db_extractor_config.h"

namespace swan::connectors::pg {

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// Connects with parameters.db {host, port, database, user, #password, connectTimeout}. A refused
// login or a missing database is invalid_argument; an unreachable server unavailable. A silent
// network fails reads after min(timeout_ms, 300 s) (tcp_user_timeout).
Result<Conn> Connect(const nlohmann::json& db, int64_t timeout_ms);

// The last error of `c` for `what`: unavailable when the connection is lost, else
// invalid_argument (the server refused the SQL: the configuration's).
Status QueryError(PGconn* c, const std::string& what);
Result<PgResult> Exec(PGconn* c, const std::string& sql, ExecStatusType want,
                      const std::string& what);
std::string Quote(PGconn* c, const std::string& identifier);
std::string Literal(PGconn* c, const std::string& value);

}  // namespace swan::connectors::pg
