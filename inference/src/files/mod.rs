//! Files Descant reads and writes: MIDI files, kept takes, presets, the catalog of models a
//! musician can pick, and the melodic lines of a folder of MIDI files. Main or worker thread,
//! and tools; never the audio thread.

pub mod catalog;
pub mod kept_phrase;
pub mod melody_lines;
pub mod midi_file;
pub mod presets;
pub mod take;
