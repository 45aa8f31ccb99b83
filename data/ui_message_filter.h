// Cleaning rules for UI messages (DATA.md): context is dropped, plural entries give their singular
// form, and a pair is kept only if it is one line of 3-40 English words, has a translation whose
// word count is within 2x+3 of the source's, and holds no placeholders (%s, %1, {0}, $var), markup
// tags or accelerator marks (_ & ~), all of which would teach a model to copy UI plumbing.
#pragma once

#include <optional>

#include "core/config.h"
#include "data/mo_catalog.h"
#include "data/parallel_corpus.h"

namespace seqlab {

struct UiFilterStats {
  int64_t seen = 0, untranslated = 0, bad_utf8 = 0, multiline = 0, placeholder = 0, markup = 0,
          accelerator = 0, length = 0, ratio = 0, duplicates = 0, kept = 0;
  Json to_json() const;
};

// Keeps messages of min_words..max_words English words (3-40 for UI text, longer for dialogue).
std::optional<SentencePair> filter_ui_message(const MoMessage& message, UiFilterStats& stats,
                                              size_t min_words = 3, size_t max_words = 40);

// Word count by whitespace.
size_t count_words(const std::string& text);

}  // namespace seqlab
