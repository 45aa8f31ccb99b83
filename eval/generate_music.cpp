#include "eval/generate_music.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "data/music.h"
#include "eval/next_token.h"

namespace seqlab {

GeneratedMusic generate_music(Seq2Seq& model, const Tokenizer& tokenizer, torch::Device device,
                              const MusicGenerationOptions& options) {
  const MusicOptions music;
  GeneratedMusic out;
  MidiPiece& piece = out.piece;
  piece.ppqn = 480;
  std::vector<int64_t> prefix;
  if (!options.prime.empty()) {
    MidiPiece prime = read_midi(options.prime);
    std::vector<MidiNote> melodic;
    for (const auto& n : prime.notes)
      if (n.channel != 9) melodic.push_back(n);
    if (melodic.empty())
      throw InputError(options.prime + ": no notes outside the percussion channel to start from");
    auto events = notes_to_events(melodic, prime.ppqn, music);
    prefix = tokenizer.encode(fmt::format("{}", fmt::join(events, " ")));
    if (!prime.tempos.empty())
      piece.tempos.push_back({0, prime.tempos.front().microseconds_per_quarter});
  }
  if (options.bpm > 0) piece.tempos = {{0, int64_t(std::llround(60e6 / options.bpm))}};
  SampleOptions sample;
  sample.length = options.length;
  sample.temperature = options.temperature;
  sample.top_k = options.top_k;
  sample.seed = options.seed;
  auto sampled = sample_tokens(model, prefix, device, sample);
  std::vector<int64_t> all = prefix;
  all.insert(all.end(), sampled.begin(), sampled.end());
  std::vector<std::string> words;
  for (int64_t id : all) words.push_back(tokenizer.piece(id));
  piece.notes = events_to_notes(words, piece.ppqn, music, 0, 80, &out.skipped_words);
  if (piece.notes.empty())
    throw Error(fmt::format(
        "the model sampled {} events with no note in them; try another --seed or a lower "
        "--temperature",
        sampled.size()));
  piece.programs[0] = options.program;
  out.prime_events = static_cast<int64_t>(prefix.size());
  out.sampled_events = static_cast<int64_t>(sampled.size());
  for (const auto& n : piece.notes) out.beats = std::max(out.beats, double(n.end) / piece.ppqn);
  out.bpm =
      piece.tempos.empty() ? 120.0 : 60e6 / double(piece.tempos.front().microseconds_per_quarter);
  return out;
}

}  // namespace seqlab
