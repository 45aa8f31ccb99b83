// Cryptographic digests of files (OpenSSL's libcrypto): downloaded packages are checked against
// the hash their index publishes before they are used or reused from the cache.
#pragma once

#include <string>

namespace seqlab {

// Lower-case hex SHA-256 of a file's bytes (Debian's Packages index: "SHA256:").
std::string sha256_file_hex(const std::string& path);
// Lower-case hex SHA-256 of bytes in memory.
std::string sha256_hex(const std::string& bytes);
// npm's Subresource Integrity string of a file: "sha512-" + base64 of its SHA-512.
std::string sha512_file_integrity(const std::string& path);

}  // namespace seqlab
