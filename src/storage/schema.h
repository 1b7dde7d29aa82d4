// Schema rules for loads: column validation, primary keys, type reconciliation and evolution.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "catalog/model.h"
#include "common/status.h"

namespace swan::storage {

std::string PrimaryKeyText(const std::vector<std::string>& pk);
bool SameType(const std::string& a, const std::string& b);
// True when every value of `from` converts to `to` without loss (widening).
bool Widens(const std::string& from, const std::string& to);
// Every key column exists in `columns`, and none repeats.
Status CheckPrimaryKey(const std::vector<std::string>& pk,
                       const std::vector<catalog::ColumnDef>& columns);
// Valid, unique column names.
Status ValidateInputColumns(const std::vector<catalog::ColumnDef>& input,
                            const std::string& display_name);
// The SELECT list that maps input columns onto the table's types (widening casts), and the
// resulting column definitions. Conflict when a type cannot be reconciled.
Result<std::pair<std::string, std::vector<catalog::ColumnDef>>> InputProjection(
    const std::vector<catalog::ColumnDef>& input, const std::vector<catalog::ColumnDef>& table,
    const std::string& display_name);
// The table's columns followed by input columns it lacks (schema evolution).
Result<std::vector<catalog::ColumnDef>> MergeColumns(const std::vector<catalog::ColumnDef>& table,
                                                     const std::vector<catalog::ColumnDef>& input);

}  // namespace swan::storage
