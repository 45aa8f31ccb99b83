// MIDI files (read by our own checked reader, written by libsmf) and the event representation:
// write, read back, same notes; events and notes round-trip on the grid; transposition; broken
// files are errors naming the file; the sequence task reads one sequence per line.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/files.h"
#include "data/midi.h"
#include "data/music.h"
#include "data/task.h"
#include "data/wad.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using seqlab::MidiNote;
using seqlab::MidiPiece;

namespace {

MidiPiece two_voices() {
  MidiPiece piece;
  piece.ppqn = 96;
  piece.tempos = {{0, 600000}, {384, 400000}};
  piece.programs[0] = 40;
  piece.programs[1] = 0;
  // A melody on channel 0 (with a repeated pitch and a rest) and a chord on channel 1.
  piece.notes = {{60, 90, 0, 48, 0},     {60, 70, 48, 96, 0}, {64, 80, 144, 240, 0},
                 {67, 100, 240, 480, 0}, {48, 60, 0, 192, 1}, {52, 60, 0, 192, 1},
                 {55, 60, 0, 192, 1}};
  std::sort(piece.notes.begin(), piece.notes.end(), [](const MidiNote& a, const MidiNote& b) {
    return std::tie(a.start, a.channel, a.pitch, a.end) <
           std::tie(b.start, b.channel, b.pitch, b.end);
  });
  return piece;
}

}  // namespace

TEST_CASE("MIDI: a written file reads back with the same notes, tempos and programs") {
  seqlab::testing::TempDir dir;
  const MidiPiece piece = two_voices();
  seqlab::write_midi(dir.file("two.mid"), piece);
  MidiPiece back = seqlab::read_midi(dir.file("two.mid"));
  CHECK(back.ppqn == 96);
  REQUIRE(back.notes.size() == piece.notes.size());
  for (size_t i = 0; i < piece.notes.size(); ++i) {
    INFO(i);
    CHECK(back.notes[i] == piece.notes[i]);
  }
  REQUIRE(back.tempos.size() == 2);
  CHECK(back.tempos[1].pulse == 384);
  CHECK(back.tempos[1].microseconds_per_quarter == 400000);
  CHECK(back.programs[0] == 40);
  // 384 pulses at 0.6 s per quarter (2.4 s), then 96 pulses at 0.4 s per quarter.
  CHECK(back.seconds == Approx(2.4 + 0.4).epsilon(1e-3));
}

TEST_CASE(
    "MIDI: not a MIDI file, a truncated one, lying chunk lengths and SMPTE timing are errors "
    "naming the file") {
  seqlab::testing::TempDir dir;
  seqlab::write_midi(dir.file("ok.mid"), two_voices());
  const std::string good = seqlab::read_file(dir.file("ok.mid"));
  seqlab::testing::write_text(dir.file("text.mid"), "this is not music");
  CHECK_THROWS_WITH(seqlab::read_midi(dir.file("text.mid")),
                    Catch::Contains("text.mid") && Catch::Contains("MThd"));
  seqlab::testing::write_text(dir.file("cut.mid"), good.substr(0, good.size() - 20));
  CHECK_THROWS_WITH(seqlab::read_midi(dir.file("cut.mid")),
                    Catch::Contains("cut.mid") && Catch::Contains("truncated"));
  std::string huge = good;
  huge[14 + 4] = char(0x7F);  // the first track chunk announces ~2 GB
  seqlab::testing::write_text(dir.file("huge.mid"), huge);
  CHECK_THROWS_WITH(seqlab::read_midi(dir.file("huge.mid")),
                    Catch::Contains("huge.mid") && Catch::Contains("announces"));
  std::string smpte = good;
  smpte[12] = char(0xE7);
  seqlab::testing::write_text(dir.file("smpte.mid"), smpte);
  CHECK_THROWS_WITH(seqlab::read_midi(dir.file("smpte.mid")), Catch::Contains("SMPTE"));
  CHECK_THROWS_AS(seqlab::read_midi(dir.file("missing.mid")), seqlab::InputError);
  CHECK_THROWS_WITH(seqlab::read_midi(dir.file("ok.mid"), /*max_pulses=*/100),
                    Catch::Contains("absurd"));
}

namespace {

// A format-0 MIDI file of one track holding `events` (delta times included) as given.
std::string midi_file(const std::string& events, uint32_t announced_length = 0xFFFFFFFF) {
  const uint32_t length =
      announced_length == 0xFFFFFFFF ? static_cast<uint32_t>(events.size()) : announced_length;
  std::string out = std::string("MThd\0\0\0\x06\0\0\0\x01\0\x60", 14) + "MTrk";
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((length >> shift) & 0xFF);
  return out + events;
}

const std::string kNote =
    std::string("\x00\x90\x3C\x40\x60\x80\x3C\x40", 8);  // one quarter of middle C
const std::string kEnd = std::string("\x00\xFF\x2F\x00", 4);

}  // namespace

TEST_CASE("MIDI: every event is checked, and a file that would lose events is an error naming it") {
  seqlab::testing::TempDir dir;
  auto read = [&](const std::string& name, const std::string& bytes) {
    seqlab::testing::write_text(dir.file(name), bytes);
    return seqlab::read_midi(dir.file(name));
  };
  // The well-formed file reads: one note.
  CHECK(read("ok.mid", midi_file(kNote + kEnd)).notes.size() == 1);
  // Running status (a data byte continues the last channel message) is read as the standard says.
  CHECK(read("running.mid",
             midi_file(std::string("\x00\x90\x3C\x40\x00\x40\x40\x60\x3C\x00\x00\x40\x00", 13) +
                       kEnd))
            .notes.size() == 2);
  // The cases libsmf aborted or corrupted memory on, and one it cut short silently.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"no-end.mid", midi_file(kNote)},    // no End-of-Track
      {"empty-track.mid", midi_file("")},  // an empty MTrk
      {"escape.mid",
       midi_file(kNote + std::string("\x00\xF7\x8F\xFF\xFF\x7F", 6) + kEnd)},  // F7, ~4 GB
      {"tempo.mid",
       midi_file(std::string("\x00\xFF\x51\x00", 4) + kNote + kEnd)},  // tempo of length 0
      {"meta.mid", midi_file(kNote +
                             std::string("\x00\xFF\x01\x40"
                                         "ab",
                                         6) +
                             kEnd)},  // text past the chunk
      {"vlq.mid",
       midi_file(std::string("\x81\x81\x81\x81\x01\x90\x3C\x40", 8) + kEnd)},  // a 5-byte VLQ
      {"status.mid", midi_file(std::string("\x00\x3C\x40", 3) + kEnd)},  // data without a status
      {"system.mid", midi_file(kNote + std::string("\x00\xF8", 2) + kEnd)},  // a real-time byte
      {"cut.mid", midi_file(kNote + std::string("\x00\x90\x3C", 3))},        // a message cut off
      {"after.mid", midi_file(kEnd + kNote)},                                // events after the end
      {"data.mid", midi_file(std::string("\x00\x90\x3C\xC0", 4) + kEnd)},    // a data byte over 127
  };
  for (const auto& [name, bytes] : bad) {
    INFO(name);
    CHECK_THROWS_AS(read(name, bytes), seqlab::InputError);
    CHECK_THROWS_WITH(read(name, bytes),
                      Catch::Contains(name) && Catch::Contains("not a usable MIDI file"));
  }
  CHECK_THROWS_WITH(read("no-end.mid", midi_file(kNote)), Catch::Contains("End-of-Track"));
  CHECK_THROWS_WITH(read("tempo.mid", midi_file(std::string("\x00\xFF\x51\x00", 4) + kNote + kEnd)),
                    Catch::Contains("tempo event with 0 data bytes"));
}

TEST_CASE(
    "music events: notes on the grid round-trip, off before on at a step, long rests as several "
    "waits") {
  const seqlab::MusicOptions grid;  // 4 steps per beat
  const MidiPiece piece = two_voices();
  std::vector<MidiNote> melody;
  for (const auto& n : piece.notes)
    if (n.channel == 0) melody.push_back(n);
  auto events = seqlab::notes_to_events(melody, piece.ppqn, grid);
  // 96 ppqn: a step is 24 pulses. 60 for 2 steps, 60 again for 2, rest 2, 64 for 4, 67 for 10.
  CHECK(events == std::vector<std::string>{"on60", "wait2", "off60", "on60", "wait2", "off60",
                                           "wait2", "on64", "wait4", "off64", "on67", "wait10",
                                           "off67"});
  auto notes = seqlab::events_to_notes(events, piece.ppqn, grid, 0, 80);
  REQUIRE(notes.size() == melody.size());
  for (size_t i = 0; i < notes.size(); ++i) {
    CHECK(notes[i].pitch == melody[i].pitch);
    CHECK(notes[i].start == melody[i].start);
    CHECK(notes[i].end == melody[i].end);
  }
  std::vector<MidiNote> rest = {{60, 80, 0, 24, 0}, {62, 80, 24 * 40, 24 * 41, 0}};
  CHECK(seqlab::notes_to_events(rest, 96, grid) ==
        std::vector<std::string>{"on60", "wait1", "off60", "wait16", "wait16", "wait7", "on62",
                                 "wait1", "off62"});
  int64_t skipped = 0;
  auto tolerant = seqlab::events_to_notes({"off50", "on62", "wait3", "banana", "<unk>"}, 96, grid,
                                          0, 80, &skipped);
  CHECK(skipped == 3);
  REQUIRE(tolerant.size() == 1);  // the open note closes at the end
  CHECK(tolerant[0].end == 72);
  std::vector<std::string> up;
  CHECK(seqlab::transpose_events({"on60", "wait2", "off60"}, 5, up));
  CHECK(up == std::vector<std::string>{"on65", "wait2", "off65"});
  CHECK_FALSE(seqlab::transpose_events({"on125"}, 5, up));
}

TEST_CASE(
    "sequence task: one sequence per line, transposed training copies, windows for long training "
    "lines") {
  seqlab::testing::TempDir dir;
  std::filesystem::create_directories(dir.file("m"));
  seqlab::testing::write_text(dir.file("m/train.txt"),
                              "on60 wait2 off60\n\non64 wait1 off64 on126 wait1 off126\n");
  seqlab::testing::write_text(dir.file("m/valid.txt"), "on60 wait1 off60\n");
  seqlab::testing::write_text(dir.file("m/test.txt"), "on62\tbad\n");
  auto config = seqlab::Config::from_json(
      {{"data",
        {{"task", "sequence"}, {"corpus", dir.file("m")}, {"transpose", 2}, {"max_length", 4}}}},
      {}, "test");
  auto task = seqlab::make_task(config);
  auto train = task->read_split("train");
  // Line 1 with -2..2 (5 copies); line 2 only where 126 stays in range: -2, -1, 0, +1.
  CHECK(train.size() == 9);
  CHECK(train[1].target == "on58 wait2 off58");
  CHECK(task->read_split("valid").size() == 1);
  CHECK_THROWS_WITH(task->read_split("test"), Catch::Contains("test.txt:1"));
  auto tokenizer = seqlab::train_tokenizer("word", task->tokenizer_texts(train), {});
  auto encoded = task->encode({train[5]}, *tokenizer, /*training=*/true);
  REQUIRE(encoded.examples.size() == 2);  // 6 tokens in windows of 4
  CHECK(encoded.examples[0].target.size() == 4);
  CHECK(encoded.examples[0].source.empty());
  CHECK(task->encode({train[5]}, *tokenizer, /*training=*/false).examples.size() == 1);
}

TEST_CASE(
    "Doom WAD music: MIDI lumps are extracted, MUS lumps skipped, a directory outside the file is "
    "an error") {
  seqlab::testing::TempDir dir;
  seqlab::write_midi(dir.file("song.mid"), two_voices());
  const std::string midi = seqlab::read_file(dir.file("song.mid"));
  const std::string mus = std::string("MUS\x1a", 4) + "data";
  auto le32 = [](uint32_t v) {
    return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)};
  };
  auto name8 = [](std::string n) {
    n.resize(8, '\0');
    return n;
  };
  // Header, lumps (MIDI, MUS, a map lump), directory.
  std::string body = midi + mus + "MAPDATA";
  const uint32_t directory = 12 + uint32_t(body.size());
  std::string wad = "IWAD" + le32(3) + le32(directory) + body;
  wad += le32(12) + le32(uint32_t(midi.size())) + name8("D_E1M1");
  wad += le32(12 + uint32_t(midi.size())) + le32(uint32_t(mus.size())) + name8("D_INTRO");
  wad += le32(12 + uint32_t(midi.size() + mus.size())) + le32(7) + name8("E1M1");
  seqlab::testing::write_text(dir.file("game.wad"), wad);
  CHECK(seqlab::extract_wad_music(dir.file("game.wad"), dir.file("out")) == 1);
  CHECK(seqlab::read_midi(dir.file("out/game-D_E1M1.mid")).notes == two_voices().notes);
  std::string broken = wad;
  broken.replace(8, 4, le32(uint32_t(wad.size()) - 8));  // 3 entries cannot fit in the last 8 bytes
  seqlab::testing::write_text(dir.file("broken.wad"), broken);
  CHECK_THROWS_WITH(seqlab::extract_wad_music(dir.file("broken.wad"), dir.file("out2")),
                    Catch::Contains("broken.wad") && Catch::Contains("directory"));
  seqlab::testing::write_text(dir.file("text.wad"), "hello there, not a wad");
  CHECK_THROWS_WITH(seqlab::extract_wad_music(dir.file("text.wad"), dir.file("out3")),
                    Catch::Contains("IWAD"));
  // A music lump whose name would take the write out of the folder.
  std::string climbing = wad;
  climbing.replace(climbing.size() - 48 + 8, 8, "D_/../..");
  seqlab::testing::write_text(dir.file("climb.wad"), climbing);
  CHECK_THROWS_WITH(seqlab::extract_wad_music(dir.file("climb.wad"), dir.file("deep/out4")),
                    Catch::Contains("climb.wad") && Catch::Contains("not a plain name"));
  CHECK(fs::is_empty(dir.file("deep/out4")));
}
