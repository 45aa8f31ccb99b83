// Base64 (RFC 4648) for binary blobs inside JSON files (a SentencePiece model in a tokenizer file).
#pragma once

#include <string>

namespace seqlab {

std::string base64_encode(const std::string& bytes);
// InputError naming `origin` on a character outside the alphabet or a bad length.
std::string base64_decode(const std::string& text, const std::string& origin);

}  // namespace seqlab
