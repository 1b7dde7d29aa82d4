#include "jobs/config_secrets.h"

#include <algorithm>
#include <cstring>

namespace swan::jobs {

using nlohmann::json;

Status SealSecrets(json& body, const secrets::Key& key, const std::string& path) {
  if (body.is_array()) {
    for (size_t i = 0; i < body.size(); ++i)
      RETURN_IF_ERROR(SealSecrets(body[i], key, path + "[" + std::to_string(i) + "]"));
    return Status::Ok();
  }
  if (!body.is_object()) return Status::Ok();
  for (auto& [k, v] : body.items()) {
    const std::string field = path.empty() ? k : path + "." + k;
    if (!k.empty() && k[0] == '#') {
      if (!v.is_string()) {
        return Status::InvalidArgument("secret `" + field + "` must be a string")
            .WithDetail("field", field);
      }
      const std::string value = v.get<std::string>();
      if (secrets::IsSealed(value)) {
        auto opened = secrets::Open(key, value);
        if (!opened.ok()) {
          return Status::InvalidArgument("secret `" + field + "`: " + opened.status().message())
              .WithDetail("field", field);
        }
      } else {
        v = secrets::Seal(key, value);
      }
      continue;
    }
    RETURN_IF_ERROR(SealSecrets(v, key, field));
  }
  return Status::Ok();
}

Status OpenSecrets(json& body, const secrets::Key& key, std::vector<std::string>* opened) {
  if (body.is_array()) {
    for (auto& v : body) RETURN_IF_ERROR(OpenSecrets(v, key, opened));
    return Status::Ok();
  }
  if (!body.is_object()) return Status::Ok();
  for (auto& [k, v] : body.items()) {
    if (!k.empty() && k[0] == '#' && v.is_string() && secrets::IsSealed(v.get<std::string>())) {
      auto plain = secrets::Open(key, v.get<std::string>());
      if (!plain.ok()) {
        return Status::InvalidArgument("secret `" + k + "`: " + plain.status().message())
            .WithDetail("field", k);
      }
      opened->push_back(*plain);
      v = std::move(*plain);
      continue;
    }
    RETURN_IF_ERROR(OpenSecrets(v, key, opened));
  }
  return Status::Ok();
}

Result<secrets::Key> ProjectKey(catalog::Catalog& catalog, const secrets::Key& master,
                                int64_t project_id) {
  const std::string fresh = secrets::Seal(master, secrets::KeyToText(secrets::NewKey()));
  ASSIGN_OR_RETURN(std::string wrapped, catalog.EnsureProjectKey(project_id, fresh));
  auto text = secrets::Open(master, wrapped);
  if (!text.ok()) {
    return Status::Internal("the key of project " + std::to_string(project_id) +
                            " does not open with this instance's master key");
  }
  return secrets::KeyFromText(*text);
}

SecretMasker::SecretMasker(std::vector<std::string> values) {
  for (auto& v : values)
    if (v.size() >= kMinLength) values_.push_back(std::move(v));
  std::sort(values_.begin(), values_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  values_.erase(std::unique(values_.begin(), values_.end()), values_.end());
}

std::string SecretMasker::Mask(std::string text) const {
  for (const auto& v : values_) {
    size_t pos = 0;
    while ((pos = text.find(v, pos)) != std::string::npos) {
      text.replace(pos, v.size(), kMask);
      pos += std::strlen(kMask);
    }
  }
  return text;
}

}  // namespace swan::jobs
