// What request handlers share: the catalog, the table store, the SQL runner, the data directory.
#pragma once

#include <memory>
#include <string>

#include "catalog/catalog.h"
#include "query/sql_runner.h"
#include "storage/table_store.h"

namespace swan::api {

class Router;

struct Services {
  std::string data_dir;
  std::unique_ptr<catalog::Catalog> catalog;
  std::unique_ptr<storage::TableStore> store;
  std::unique_ptr<query::SqlRunner> sql;
  const Router* router = nullptr;
};

}  // namespace swan::api
