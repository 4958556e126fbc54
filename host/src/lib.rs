//! A small CLAP host for Descant: loads the *built* `.clap` through `clack-host`, drives it with
//! notes, parameter changes and a transport, block by block, and collects the note events it
//! sends, with their absolute sample positions. Used by the `descant` program (render,
//! self-check, bench) and by the tests that load the built plugin.
//!
//! Threads: the host calls the plugin's main-thread and audio-thread functions from the calling
//! thread, one after the other, as a single-threaded host may.

pub mod answers;
pub mod benchmark;
pub mod discriminator;
pub mod duet;
mod events;
pub mod harmony;
pub mod heldout;
mod host;
pub mod idiom;
mod jobs;
pub mod melodies;
pub mod musician;
mod pace;
pub mod phrase_ends;
pub mod render;
mod selfcheck;
pub mod situations;

pub use events::{phrase_script, unmatched, HostTransport, Input, OutNote};
pub use host::PluginHost;
pub use pace::Pacer;
pub use selfcheck::{play_phrase, selfcheck};

use std::path::PathBuf;

/// Where `cargo xtask test` puts the debug `.clap` (with the allocation check) and ONNX Runtime
/// (`$DESCANT_CLAP` overrides it).
pub fn test_plugin_path() -> PathBuf {
    match std::env::var_os("DESCANT_CLAP") {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-plugin/Descant.clap")
        }
    }
}

/// Where an installed Descant CLAP is: on Linux where `cargo xtask install` puts it
/// (`~/.clap/Descant.clap`), on Windows where the installer does
/// (`%COMMONPROGRAMFILES%\CLAP\Descant\Descant.clap`), on macOS the per-user CLAP folder
/// (`~/Library/Audio/Plug-Ins/CLAP/Descant.clap`). `None` when the variable it starts from is
/// unset.
pub fn installed_plugin_path() -> Option<PathBuf> {
    #[cfg(windows)]
    let path = std::env::var_os("COMMONPROGRAMFILES").map(|d| {
        PathBuf::from(d)
            .join("CLAP")
            .join("Descant")
            .join("Descant.clap")
    });
    #[cfg(target_os = "macos")]
    let path = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join("Library/Audio/Plug-Ins/CLAP/Descant.clap"));
    #[cfg(not(any(windows, target_os = "macos")))]
    let path = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".clap/Descant.clap"));
    path
}
