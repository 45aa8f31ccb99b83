// Music as a sequence of events, the representation the music recipe, the `sequence` task and
// `seqlab generate` share. A channel's notes become words on a grid of `steps_per_beat` steps
// per quarter note (default 4: sixteenths):
//   onP     note P (0-127) starts
//   offP    note P ends
//   waitK   time moves on K steps (1..max_wait; longer rests are several waits)
// This is the note-on/note-off/time-shift representation of Performance RNN (Oore et al. 2018) on
// a beat grid instead of milliseconds, and without velocity: the packaged game music is
// sequenced, so its timing is on a grid and its dynamics carry little, while a beat grid keeps
// the vocabulary small (128 + 128 + max_wait words) and makes rhythm a matter of counting steps,
// which every family can learn. Pitch + duration tokens would need chords spelled out in a fixed
// order; on/off events handle polyphony (chords, overlapping voices) for free.
#pragma once

#include <string>
#include <vector>

#include "data/midi.h"

namespace seqlab {

struct MusicOptions {
  int steps_per_beat = 4;
  int max_wait = 16;
};

// One channel's notes (any channel field) -> events. Times are rounded to the grid; a note shorter
// than a step lasts one step; a note cut by a repeat of its own pitch ends where the repeat starts.
std::vector<std::string> notes_to_events(const std::vector<MidiNote>& notes, int ppqn,
                                         const MusicOptions& options);

// Events -> notes on `channel` with `velocity`, at `ppqn`. Words that are not events are skipped
// and counted in *skipped (if given); an offP without an open P is skipped; notes still open at the
// end close there (one step after the last event, at least).
std::vector<MidiNote> events_to_notes(const std::vector<std::string>& events, int ppqn,
                                      const MusicOptions& options, int channel = 0,
                                      int velocity = 80, int64_t* skipped = nullptr);

// Shifts every pitch of an event sequence by `semitones`; false (and `out` untouched) when a pitch
// would leave 0-127.
bool transpose_events(const std::vector<std::string>& events, int semitones,
                      std::vector<std::string>& out);

}  // namespace seqlab
