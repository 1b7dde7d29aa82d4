#include "common/secret_box.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace swan::secrets {

namespace {

void EnsureSodium() {
  static const int ok = sodium_init();
  (void)ok;  // -1 only when the system has no randomness source: randombytes would abort anyway
}

std::string ToBase64(const unsigned char* data, size_t n) {
  std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

bool FromBase64(std::string_view text, std::vector<unsigned char>* out) {
  out->resize(text.size());
  size_t n = 0;
  if (sodium_base642bin(out->data(), out->size(), text.data(), text.size(), nullptr, &n, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    return false;
  out->resize(n);
  return true;
}

}  // namespace

Key NewKey() {
  EnsureSodium();
  Key key;
  crypto_secretbox_keygen(key.data());
  return key;
}

std::string KeyToText(const Key& key) { return ToBase64(key.data(), key.size()); }

Result<Key> KeyFromText(std::string_view text) {
  std::vector<unsigned char> bytes;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (!FromBase64(text, &bytes) || bytes.size() != crypto_secretbox_KEYBYTES)
    return Status::Internal("a secret key is not 32 bytes of base64");
  Key key;
  std::memcpy(key.data(), bytes.data(), key.size());
  return key;
}

std::string Seal(const Key& key, std::string_view plaintext) {
  EnsureSodium();
  std::vector<unsigned char> box(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                 plaintext.size());
  unsigned char* nonce = box.data();
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(box.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                        nonce, key.data());
  return std::string(kSealedPrefix) + ToBase64(box.data(), box.size());
}

bool IsSealed(std::string_view value) { return value.starts_with(kSealedPrefix); }

Result<std::string> Open(const Key& key, std::string_view sealed) {
  EnsureSodium();
  if (!IsSealed(sealed)) return Status::InvalidArgument("not an encrypted value");
  std::vector<unsigned char> box;
  if (!FromBase64(sealed.substr(kSealedPrefix.size()), &box) ||
      box.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return Status::InvalidArgument("an encrypted value is damaged");
  std::string plain(box.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(
          reinterpret_cast<unsigned char*>(plain.data()), box.data() + crypto_secretbox_NONCEBYTES,
          box.size() - crypto_secretbox_NONCEBYTES, box.data(), key.data()) != 0)
    return Status::InvalidArgument("an encrypted value was not encrypted for this project");
  return plain;
}

Result<Key> LoadOrCreateMasterKey(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    // Written to a temporary name, then linked: two processes starting at once agree on one key.
    const std::string tmp = path + ".tmp" + std::to_string(::getpid());
    int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) return Status::Internal("cannot create " + tmp + ": " + std::strerror(errno));
    const std::string text = KeyToText(NewKey()) + "\n";
    const bool written =
        ::write(out, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
        ::fsync(out) == 0;
    ::close(out);
    if (!written || (::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST)) {
      ::unlink(tmp.c_str());
      return Status::Internal("cannot write " + path + ": " + std::strerror(errno));
    }
    ::unlink(tmp.c_str());
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return Status::Internal("cannot read " + path + ": " + std::strerror(errno));
  char buf[256];
  const ssize_t n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  if (n <= 0) return Status::Internal("cannot read " + path);
  return KeyFromText(std::string_view(buf, static_cast<size_t>(n)));
}

}  // namespace swan::secrets
