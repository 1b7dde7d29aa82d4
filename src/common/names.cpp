#include "common/names.h"

#include <regex>

namespace swan::names {
namespace {

Status Check(const std::string& value, const std::regex& re, const char* what, const char* rule) {
  if (std::regex_match(value, re)) return Status::Ok();
  return Status::InvalidArgument(std::string("invalid ") + what + " '" + value.substr(0, 80) +
                                 "': must match " + rule)
      .WithDetail("field", what);
}

}  // namespace

Status ValidateProject(const std::string& name) {
  static const std::regex re("[a-z0-9][a-z0-9_-]{0,62}");
  return Check(name, re, "project name", "[a-z0-9][a-z0-9_-]{0,62}");
}
Status ValidateStage(const std::string& stage) {
  if (stage == "in" || stage == "out") return Status::Ok();
  return Status::InvalidArgument("invalid stage '" + stage.substr(0, 40) +
                                 "': must be 'in' or 'out'")
      .WithDetail("field", "stage");
}
Status ValidateBucketName(const std::string& name) {
  static const std::regex re("[A-Za-z0-9_-]{1,64}");
  return Check(name, re, "bucket name", "[A-Za-z0-9_-]{1,64}");
}
Status ValidateTableName(const std::string& name) {
  static const std::regex re("[A-Za-z0-9_-]{1,64}");
  return Check(name, re, "table name", "[A-Za-z0-9_-]{1,64}");
}
Status ValidateColumn(const std::string& name) {
  // Leading digits are allowed ("2024_Sales"): Keboola's names allow them, and Swan quotes every
  // identifier it writes.
  static const std::regex re("[A-Za-z0-9_]{1,64}");
  RETURN_IF_ERROR(Check(name, re, "column name", "[A-Za-z0-9_]{1,64}"));
  if (name.rfind("_swan", 0) == 0) {
    return Status::InvalidArgument("column name '" + name + "' is reserved (prefix _swan)")
        .WithDetail("field", "column name");
  }
  return Status::Ok();
}
Status ValidateTypeName(const std::string& type) {
  static const std::regex re(
      "[A-Za-z][A-Za-z0-9_ ]{0,40}(\\(\\s*[0-9]{1,3}\\s*(,\\s*[0-9]{1,3}\\s*)?\\))?");
  return Check(type, re, "type", "a DuckDB type name such as BIGINT, VARCHAR or DECIMAL(18,3)");
}

Status SplitBucketId(const std::string& id, std::string* stage, std::string* name) {
  auto dot = id.find('.');
  if (dot == std::string::npos) {
    return Status::InvalidArgument("invalid bucket id '" + id.substr(0, 80) +
                                   "': expected <stage>.<name>, e.g. in.sales");
  }
  *stage = id.substr(0, dot);
  *name = id.substr(dot + 1);
  RETURN_IF_ERROR(ValidateStage(*stage));
  return ValidateBucketName(*name);
}

Status SplitTableId(const std::string& id, std::string* stage, std::string* bucket,
                    std::string* table) {
  auto last = id.rfind('.');
  if (last == std::string::npos) {
    return Status::InvalidArgument("invalid table id '" + id.substr(0, 80) +
                                   "': expected <stage>.<bucket>.<table>, e.g. in.sales.orders");
  }
  RETURN_IF_ERROR(SplitBucketId(id.substr(0, last), stage, bucket));
  *table = id.substr(last + 1);
  return ValidateTableName(*table);
}

}  // namespace swan::names
