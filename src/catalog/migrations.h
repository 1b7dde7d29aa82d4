// Numbered catalog migrations. Each runs once, in order, in its own transaction, and is
// recorded in `schema_migrations`. Never edit a released migration: add the next number.
#pragma once

#include <vector>

namespace swan::catalog {

struct Migration {
  int number;
  const char* name;
  const char* sql;
};

const std::vector<Migration>& SqliteMigrations();

}  // namespace swan::catalog
