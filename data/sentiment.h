// The sentiment recipes: npm `sentiment@5.0.2` ships, as test fixtures, 3 x 1,000 review sentences
// labelled negative (0) or positive (1) from IMDB, Amazon and Yelp (Kotzias et al. 2015, "From
// group to individual labels using deep features"). Recipes (task classification):
//   sentiment              the three sources mixed, split by hash: 300 valid, 600 test
//   sentiment-to-imdb      cross-domain: train (and valid, 10%) on Amazon + Yelp, test on IMDB;
//   sentiment-to-amazon    likewise for the other two held-out sources
//   sentiment-to-yelp
// Sentences are deduplicated (case-insensitively) across all sources before splitting, so no test
// sentence is also a training one.
#pragma once

#include <string>
#include <vector>

#include "data/recipe.h"

namespace seqlab {

struct LabelledSentence {
  std::string text, label, domain;
};

// One fixture file: a JSON array of {"text": "...", "class": 0 or 1}; an entry with empty text and
// a null class (the fixtures' last one) is skipped. InputError naming the file and entry for
// anything else; whitespace (tabs, newlines) inside a sentence becomes one space.
std::vector<LabelledSentence> read_sentiment_fixture(const std::string& path,
                                                     const std::string& domain);

// In-domain (held_out empty) or cross-domain (held_out names the test domain) splits, deduplicated.
Splits sentiment_splits(const std::vector<LabelledSentence>& sentences,
                        const std::string& held_out);

}  // namespace seqlab
