// A piano roll of notes as a PNG: time (beats) across, pitch up, one bar per note, octave lines at
// every C, and the piece's name above.
#pragma once

#include <string>

#include "data/midi.h"

namespace seqlab {

// Draws `piece` (at most `max_beats` beats of it) into `path`; Error if there are no notes.
void write_piano_roll(const std::string& path, const MidiPiece& piece, const std::string& title,
                      double max_beats = 64);

}  // namespace seqlab
