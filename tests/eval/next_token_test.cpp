// Count baselines for next-token models, worked by hand.
#include <catch2/catch.hpp>

#include <cmath>

#include "eval/next_token.h"
#include "tokenizers/tokenizer.h"

using seqlab::Example;
using seqlab::Json;

TEST_CASE("ngram baselines: add-one unigram and Witten-Bell bigram perplexities, bigram accuracy") {
  // Vocabulary of 6: specials 0-3, words 4 and 5. Training: "4 4 5" -> tokens 4 4 5 eos.
  std::vector<Example> train = {{{}, {4, 4, 5}}};
  std::vector<Example> test = {{{}, {4, 5}}};  // bos->4, 4->5, 5->eos
  Json scored = seqlab::ngram_baselines(train, test, 6);
  // Unigram add-one over the 4 predictable ids (unk, eos, 4, 5) with 4 training tokens:
  // p(4) = 3/8, p(5) = 2/8, p(eos) = 2/8.
  const double uni = std::exp(-(std::log(3.0 / 8) + std::log(2.0 / 8) + std::log(2.0 / 8)) / 3);
  CHECK(scored["unigram_perplexity"].get<double>() == Approx(uni));
  // Witten-Bell: bos has 1 follow (4, once): p(4|bos) = (1 + 1 * 3/8) / (1 + 1);
  // 4 is followed by 4 and 5 (once each): p(5|4) = (1 + 2 * 2/8) / (2 + 2);
  // 5 is followed by eos once: p(eos|5) = (1 + 1 * 2/8) / (1 + 1).
  const double bi = std::exp(
      -(std::log((1 + 3.0 / 8) / 2) + std::log((1 + 4.0 / 8) / 4) + std::log((1 + 2.0 / 8) / 2)) /
      3);
  CHECK(scored["bigram_perplexity"].get<double>() == Approx(bi));
  // Most frequent followers: bos->4 (right), 4->4 (tie with 5, the smaller id wins: wrong), 5->eos
  // (right).
  CHECK(scored["bigram_accuracy"].get<double>() == Approx(200.0 / 3));
}
