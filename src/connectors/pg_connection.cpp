#include "connectors/pg_connection.h"

#include <algorithm>

namespace swan::connectors::pg {

using nlohmann::json;

namespace {

std::string ServerMessage(PGconn* c) {
  std::string m = PQerrorMessage(c);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

}  // namespace

Status QueryError(PGconn* c, const std::string& what) {
  const std::string m = what + ": " + ServerMessage(c);
  if (PQstatus(c) != CONNECTION_OK) return Status::Unavailable(m);
  return Status::InvalidArgument(m);
}

Result<PgResult> Exec(PGconn* c, const std::string& sql, ExecStatusType want,
                      const std::string& what) {
  PgResult r(PQexec(c, sql.c_str()));
  if (!r || PQresultStatus(r.get()) != want) return QueryError(c, what);
  return r;
}

Result<Conn> Connect(const json& db, int64_t timeout_ms) {
  if (!db.is_object())
    return FieldError("db", "is required: host, port, database, user, #password");
  for (const char* key : {"host", "database", "user"})
    if (Text(db, key).empty()) return FieldError(std::string("db.") + key, "is required");
  std::string port = "5432";
  if (db.contains("port")) {
    const json& p = db["port"];
    if (p.is_number_integer())
      port = std::to_string(p.get<int64_t>());
    else if (p.is_string())
      port = p.get<std::string>();
    else
      return FieldError("db.port", "must be a number");
  }
  const std::string connect_timeout =
      std::to_string(db.contains("connectTimeout") && db["connectTimeout"].is_number_integer()
                         ? db["connectTimeout"].get<int64_t>()
                         : 30);
  // A silent network (no RST, no data) fails the read instead of hanging the job.
  const std::string user_timeout =
      std::to_string(timeout_ms > 0 ? std::min<int64_t>(timeout_ms, 300'000) : 300'000);
  const std::string host = Text(db, "host"), name = Text(db, "database"), user = Text(db, "user");
  const std::string password = Text(db, "#password");
  const char* keys[] = {"host", "port", "dbname", "user", "password", "connect_timeout",
                        "application_name", "tcp_user_timeout", "keepalives",
                        // Swan's text is UTF-8 both ways; the server converts from and to the
                        // database's own encoding (a LATIN1 database too).
                        "client_encoding", nullptr};
  const char* values[] = {host.c_str(),
                          port.c_str(),
                          name.c_str(),
                          user.c_str(),
                          password.c_str(),
                          connect_timeout.c_str(),
                          "swan",
                          user_timeout.c_str(),
                          "1",
                          "UTF8",
                          nullptr};
  Conn c(PQconnectdbParams(keys, values, 0));
  if (!c) return Status::Unavailable("postgresql: out of memory");
  if (PQstatus(c.get()) != CONNECTION_OK) {
    const std::string m =
        "cannot connect to PostgreSQL at " + host + ":" + port + ": " + ServerMessage(c.get());
    // A refused login or a missing database is the configuration's; the rest the network's.
    if (m.find("authentication failed") != std::string::npos ||
        m.find("does not exist") != std::string::npos ||
        m.find("no password supplied") != std::string::npos)
      return Status::InvalidArgument(m).WithDetail("field", "parameters.db");
    return Status::Unavailable(m);
  }
  return c;
}

std::string Quote(PGconn* c, const std::string& identifier) {
  char* q = PQescapeIdentifier(c, identifier.data(), identifier.size());
  std::string out = q ? q : "\"\"";
  PQfreemem(q);
  return out;
}

std::string Literal(PGconn* c, const std::string& value) {
  char* q = PQescapeLiteral(c, value.data(), value.size());
  std::string out = q ? q : "''";
  PQfreemem(q);
  return out;
}

}  // namespace swan::connectors::pg
