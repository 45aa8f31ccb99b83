// Sampling a new piece from a next-event model (a sequence-task run over music events, the
// music recipe's): events sampled after an optional prime, turned back into notes
// (data/music.h). `seqlab generate` (apps/generate_command.cpp) loads the run, calls this, and
// writes the MIDI file, piano roll and audio.
#pragma once

#include <string>

#include <torch/types.h>

#include "data/midi.h"
#include "models/seq2seq.h"
#include "tokenizers/tokenizer.h"

namespace seqlab {

struct MusicGenerationOptions {
  int64_t length = 512;      // events to sample
  double temperature = 1.0;  // sampling temperature
  int64_t top_k = 0;         // sample among the K most likely events; 0: all
  uint64_t seed = 1;         // the same seed gives the same piece
  std::string prime;         // a MIDI file whose melodic notes start the piece (kept in it)
  double bpm = 0;            // tempo; 0: the prime's first tempo, else 120
  int program = 0;           // General MIDI program of channel 0
};

struct GeneratedMusic {
  MidiPiece piece;  // the prime's notes and the sampled ones, at 480 pulses per quarter
  int64_t prime_events = 0, sampled_events = 0;
  int64_t skipped_words = 0;  // sampled words that were not events in context
  double beats = 0;           // to the end of the last note
  double bpm = 120;
  double seconds() const { return beats * 60.0 / bpm; }
};

// InputError when the prime cannot be read or has no notes outside the percussion channel; Error
// when the model sampled no note at all (another seed or a lower temperature helps).
GeneratedMusic generate_music(Seq2Seq& model, const Tokenizer& tokenizer, torch::Device device,
                              const MusicGenerationOptions& options);

}  // namespace seqlab
