#include "core/digest.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include "core/base64.h"
#include "core/error.h"

namespace seqlab {
namespace {

std::string digest_file(const std::string& path, const EVP_MD* algorithm) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read " + path + ": " + std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  &EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), algorithm, nullptr) != 1)
    throw Error("OpenSSL: digest init failed");
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0)
      EVP_DigestUpdate(context.get(), buffer.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw InputError("cannot read " + path + ": read error");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context.get(), digest, &length) != 1)
    throw Error("OpenSSL: digest failed");
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string to_hex(const std::string& digest) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

}  // namespace

std::string sha256_file_hex(const std::string& path) {
  return to_hex(digest_file(path, EVP_sha256()));
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw Error("OpenSSL: digest failed");
  return to_hex(std::string(reinterpret_cast<const char*>(digest), length));
}

std::string sha512_file_integrity(const std::string& path) {
  return "sha512-" + base64_encode(digest_file(path, EVP_sha512()));
}

}  // namespace seqlab
