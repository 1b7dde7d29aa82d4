// Validation of every user-given name: nothing reaches SQL text or a file path unchecked.
#pragma once

#include <string>

#include "common/status.h"

namespace swan::names {

Status ValidateProject(const std::string& name);     // [a-z0-9][a-z0-9_-]{0,62}
Status ValidateStage(const std::string& stage);      // in | out
Status ValidateBucketName(const std::string& name);  // [A-Za-z0-9_-]{1,64}
Status ValidateTableName(const std::string& name);   // [A-Za-z0-9_-]{1,64}
Status ValidateColumn(const std::string& name);      // [A-Za-z0-9_]{1,64}, not _swan*
// A DuckDB type name such as BIGINT, VARCHAR, DECIMAL(18,3), TIMESTAMP WITH TIME ZONE.
Status ValidateTypeName(const std::string& type);

// Splits "in.sales" into stage and name.
Status SplitBucketId(const std::string& id, std::string* stage, std::string* name);
// Splits "in.sales.orders" into stage, bucket name and table name.
Status SplitTableId(const std::string& id, std::string* stage, std::string* bucket,
                    std::string* table);

}  // namespace swan::names
