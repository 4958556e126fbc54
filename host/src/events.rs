//! What goes into the plugin and what comes out: the host's transport, input events, the notes
//! the plugin sent, and helpers over them. Plain data; any thread.

/// The host's transport, as it reports it at the start of each block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostTransport {
    /// Whether the transport plays.
    pub playing: bool,
    /// Tempo in BPM.
    pub tempo: f64,
    /// Time signature.
    pub time_sig: (u16, u16),
    /// Loop range in beats, if looping.
    pub loop_beats: Option<(f64, f64)>,
}

/// One event for the plugin, at a sample offset in the next block.
#[derive(Debug, Clone)]
pub enum Input {
    /// The player presses `key` on `channel`.
    NoteOn {
        /// Sample offset in the block.
        offset: u32,
        /// Key.
        key: u8,
        /// Channel.
        channel: u8,
        /// Velocity 0..=1.
        velocity: f64,
    },
    /// The player releases `key`.
    NoteOff {
        /// Sample offset in the block.
        offset: u32,
        /// Key.
        key: u8,
        /// Channel.
        channel: u8,
    },
    /// The player moves controller `cc` on `channel` to `value` (a MIDI control change).
    Cc {
        /// Sample offset in the block.
        offset: u32,
        /// Channel, 0..=15.
        channel: u8,
        /// Controller number.
        cc: u8,
        /// Value, 0..=127.
        value: u8,
    },
    /// The host sets a parameter (by name) to a plain value.
    Param {
        /// Sample offset in the block.
        offset: u32,
        /// Parameter name as the plugin reports it.
        name: &'static str,
        /// Normalised value, 0..=1 (nice-plug exposes normalised values).
        normalized: f64,
    },
}

impl Input {
    /// The same input at another offset.
    pub fn with_offset(&self, at: u32) -> Input {
        let mut i = self.clone();
        match &mut i {
            Input::NoteOn { offset, .. }
            | Input::NoteOff { offset, .. }
            | Input::Cc { offset, .. }
            | Input::Param { offset, .. } => *offset = at,
        }
        i
    }
}

/// A note event the plugin sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutNote {
    /// Absolute sample position (block start + offset).
    pub sample: u64,
    /// Offset inside its block.
    pub offset: u32,
    /// Length of its block.
    pub block_len: u32,
    /// Whether it is a note-on.
    pub on: bool,
    /// Key.
    pub key: u8,
    /// Channel.
    pub channel: u8,
    /// Velocity (note-ons).
    pub velocity: f64,
    /// Position in beats on the host's timeline (as the host reported it for the block, plus the
    /// offset at the block's tempo).
    pub beat: f64,
}

/// A phrase of eighth notes (each held 0.45 beat) on channel 0 from `start_beat`, at
/// `samples_per_beat`: the script for [`PluginHost::run_script`] and the beat its last note ends on.
pub fn phrase_script(
    samples_per_beat: f64,
    start_beat: f64,
    keys: &[u8],
) -> (Vec<(u64, Input)>, f64) {
    let mut script = Vec::new();
    for (i, &key) in keys.iter().enumerate() {
        let on = start_beat + i as f64 * 0.5;
        script.push((
            (on * samples_per_beat).round() as u64,
            Input::NoteOn {
                offset: 0,
                key,
                channel: 0,
                velocity: 0.8,
            },
        ));
        script.push((
            ((on + 0.45) * samples_per_beat).round() as u64,
            Input::NoteOff {
                offset: 0,
                key,
                channel: 0,
            },
        ));
    }
    let last_off = start_beat + keys.len().saturating_sub(1) as f64 * 0.5 + 0.45;
    (script, last_off)
}

/// Pairs note-ons with note-offs (same key and channel, in order); returns the notes still
/// sounding at the end and any note-off that had no note-on.
pub fn unmatched(notes: &[OutNote]) -> (Vec<OutNote>, Vec<OutNote>) {
    let mut sounding: Vec<OutNote> = Vec::new();
    let mut orphans = Vec::new();
    for n in notes {
        if n.on {
            sounding.push(*n);
        } else if let Some(i) = sounding
            .iter()
            .position(|s| s.key == n.key && s.channel == n.channel)
        {
            sounding.remove(i);
        } else {
            orphans.push(*n);
        }
    }
    (sounding, orphans)
}
