// Secret values at rest: libsodium's secretbox (XSalsa20-Poly1305) with a random nonce per value.
// The instance's master key wraps each project's key; a project's key seals the `#` values of its
// configurations. A sealed value is text: Keboola's prefix `KBC::ProjectSecure::` and the base64
// of nonce + ciphertext, so users recognise an encrypted value as they do in Keboola.
//
// Thread-safety: free functions, safe from any thread.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "common/status.h"

namespace swan::secrets {

using Key = std::array<unsigned char, 32>;

inline constexpr std::string_view kSealedPrefix = "KBC::ProjectSecure::";

Key NewKey();
// The key as base64 text and back (for key files and wrapped keys).
std::string KeyToText(const Key& key);
Result<Key> KeyFromText(std::string_view text);

// Seals `plaintext` under `key`: kSealedPrefix + base64(nonce || ciphertext).
std::string Seal(const Key& key, std::string_view plaintext);
bool IsSealed(std::string_view value);
// Opens a sealed value; invalid_argument when it is not one or was sealed under another key.
Result<std::string> Open(const Key& key, std::string_view sealed);

// The instance's master key, kept in `path` (0600), created on first use.
Result<Key> LoadOrCreateMasterKey(const std::string& path);

}  // namespace swan::secrets
