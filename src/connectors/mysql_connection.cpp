#include "connectors/mysql_connection.h"

#include <errmsg.h>
#include <mysqld_error.h>

#include <algorithm>

namespace swan::connectors::mysql {

using nlohmann::json;

namespace {

// MySQL 8's statement timeout (max_execution_time); MariaDB's is ER_STATEMENT_TIMEOUT.
constexpr unsigned kMysqlQueryTimeout = 3024;

std::string ServerMessage(MYSQL* c) {
  std::string m = mysql_error(c);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m + " (error " + std::to_string(mysql_errno(c)) + ")";
}

// Errors that are the moment's, not the configuration's: the same job may succeed later.
bool IsTransient(unsigned code) {
  if (code >= CR_MIN_ERROR && code <= CR_MAX_ERROR) return true;  // the client: network, lost
  switch (code) {
    case ER_CON_COUNT_ERROR:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_SERVER_SHUTDOWN:
    case ER_QUERY_INTERRUPTED:
    case ER_CONNECTION_KILLED:
    case ER_STATEMENT_TIMEOUT:
    case kMysqlQueryTimeout:
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_LOCK_DEADLOCK:
    case ER_OUT_OF_RESOURCES:
    case ER_OUTOFMEMORY:
    case ER_OUT_OF_SORTMEMORY:
    case ER_NET_READ_ERROR:
    case ER_NET_READ_INTERRUPTED:
    case ER_NET_ERROR_ON_WRITE:
    case ER_NET_WRITE_INTERRUPTED:
      return true;
    default:
      return false;
  }
}

unsigned Seconds(int64_t ms) {
  return static_cast<unsigned>(std::max<int64_t>(1, (ms + 999) / 1000));
}

}  // namespace

Status QueryError(MYSQL* c, const std::string& what) {
  const std::string m = what + ": " + ServerMessage(c);
  if (IsTransient(mysql_errno(c))) return Status::Unavailable(m);
  return Status::InvalidArgument(m);
}

Status Exec(MYSQL* c, const std::string& sql, const std::string& what) {
  if (mysql_real_query(c, sql.data(), sql.size()) != 0) return QueryError(c, what);
  // A statement without rows has no result; one with rows is drained (it is small by contract).
  MyResult r(mysql_store_result(c));
  if (!r && mysql_field_count(c) != 0) return QueryError(c, what);
  return Status::Ok();
}

Result<MyResult> QuerySmall(MYSQL* c, const std::string& sql, const std::string& what) {
  if (mysql_real_query(c, sql.data(), sql.size()) != 0) return QueryError(c, what);
  MyResult r(mysql_store_result(c));
  if (!r) return QueryError(c, what);
  return r;
}

void Abort(MYSQL* c) { mariadb_cancel(c); }

Result<Conn> Connect(const json& db, int64_t timeout_ms) {
  if (!db.is_object())
    return FieldError("db", "is required: host, port, database, user, #password");
  for (const char* key : {"host", "database", "user"})
    if (Text(db, key).empty()) return FieldError(std::string("db.") + key, "is required");
  unsigned port = 3306;
  if (db.contains("port")) {
    const json& p = db["port"];
    int64_t value = -1;
    if (p.is_number_integer()) {
      value = p.get<int64_t>();
    } else if (p.is_string()) {
      const std::string s = p.get<std::string>();
      if (!s.empty() && s.size() <= 5 &&
          std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
        value = std::stoll(s);
    }
    if (value < 1 || value > 65535) return FieldError("db.port", "must be a port number");
    port = static_cast<unsigned>(value);
  }
  unsigned connect_timeout = 30;
  if (db.contains("connectTimeout") && db["connectTimeout"].is_number_integer() &&
      db["connectTimeout"].get<int64_t>() > 0)
    connect_timeout =
        static_cast<unsigned>(std::min<int64_t>(db["connectTimeout"].get<int64_t>(), 3600));
  const unsigned io_timeout = Seconds(timeout_ms > 0 ? timeout_ms : kDefaultReadTimeoutMs);
  const std::string host = Text(db, "host"), name = Text(db, "database"), user = Text(db, "user");
  const std::string password = Text(db, "#password");

  Conn c(mysql_init(nullptr));
  if (!c) return Status::Unavailable("mysql: out of memory");
  const my_bool no = 0;
  const unsigned protocol = MYSQL_PROTOCOL_TCP;
  mysql_options(c.get(), MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
  mysql_options(c.get(), MYSQL_OPT_READ_TIMEOUT, &io_timeout);
  mysql_options(c.get(), MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
  mysql_options(c.get(), MYSQL_OPT_PROTOCOL, &protocol);  // "localhost" too: never a socket
  mysql_options(c.get(), MYSQL_OPT_LOCAL_INFILE, &no);
  mysql_options(c.get(), MYSQL_OPT_RECONNECT, &no);  // a reconnect would leave the snapshot
  mysql_options(c.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  mysql_optionsv(c.get(), MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", "swan");
  if (!mysql_real_connect(c.get(), host.c_str(), user.c_str(), password.c_str(), name.c_str(), port,
                          nullptr, 0)) {
    const unsigned code = mysql_errno(c.get());
    const std::string m = "cannot connect to MySQL at " + host + ":" + std::to_string(port) + ": " +
                          ServerMessage(c.get());
    // A refused login or a missing database is the configuration's; the rest the network's.
    if (code == ER_ACCESS_DENIED_ERROR || code == ER_DBACCESS_DENIED_ERROR ||
        code == ER_BAD_DB_ERROR || code == ER_ACCESS_DENIED_NO_PASSWORD_ERROR ||
        code == ER_HOST_NOT_PRIVILEGED)
      return Status::InvalidArgument(m).WithDetail("field", "parameters.db");
    return Status::Unavailable(m);
  }
  return c;
}

std::string Quote(const std::string& identifier) {
  std::string out = "`";
  for (char ch : identifier) {
    if (ch == '`') out += '`';
    out += ch;
  }
  return out + "`";
}

std::string Literal(MYSQL* c, const std::string& value) {
  std::string out(value.size() * 2 + 1, '\0');
  const unsigned long n = mysql_real_escape_string(c, out.data(), value.data(), value.size());
  out.resize(n);
  return "'" + out + "'";
}

}  // namespace swan::connectors::mysql
