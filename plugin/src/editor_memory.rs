//! The editor's own settings persisted with the project (window size, bars of `Save take…`).
//! Written by the GUI thread, read when the editor opens and when a project loads; the audio
//! thread never touches them.
//!
//! Guarantees: [`EditorMemory::bounded`] puts every value in its range, so a damaged project file
//! cannot open a window of any size or save a take of any length.

use serde::{Deserialize, Serialize};

/// The editor's own settings, persisted with the project.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EditorMemory {
    /// Window width in logical pixels.
    pub width: u32,
    /// Window height in logical pixels.
    pub height: u32,
    /// Bars of Descant's playing that `Save take…` writes.
    pub take_bars: u32,
}

/// Smallest editor size (logical pixels).
pub const EDITOR_MIN: (u32, u32) = (640, 480);
/// Largest editor size (logical pixels).
pub const EDITOR_MAX: (u32, u32) = (2400, 1600);

impl Default for EditorMemory {
    fn default() -> Self {
        EditorMemory {
            width: 800,
            height: 600,
            take_bars: 8,
        }
    }
}

impl EditorMemory {
    /// The memory with every value in its range (a project file is untrusted input).
    pub fn bounded(self) -> EditorMemory {
        EditorMemory {
            width: self.width.clamp(EDITOR_MIN.0, EDITOR_MAX.0),
            height: self.height.clamp(EDITOR_MIN.1, EDITOR_MAX.1),
            take_bars: self.take_bars.clamp(1, 64),
        }
    }
}
