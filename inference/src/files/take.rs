//! Play modes and takes: how Descant plays with the track, and the loop take it can keep.
//! Used by the worker (which makes and replays takes) and by the plugin (which persists the kept
//! take in the host project). Allocates; never used on the audio thread.
//!
//! Guarantees: a [`KeptTake`] that deserialises is valid: at most [`MAX_TAKE_NOTES`] notes, keys
//! in 0..=127, velocities in 0..=1, every note inside the take's length and after the previous
//! one (the line is monophonic). A blob that breaks any of these is refused with a message, so an
//! untrusted project cannot hand the worker an absurd take.

use serde::{Deserialize, Serialize};

/// How Descant plays with the track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlayMode {
    /// Call and response: answers the player's phrase after a pause, for up to `Answer length`
    /// bars, and stops the moment the player plays.
    #[default]
    Answer,
    /// Plays one continuous line while time runs; the player's notes and its own feed the model.
    Continue,
    /// Plays a phrase per loop cycle (the host's loop range, or `Loop length` bars); a kept take
    /// repeats exactly.
    Loop,
}

/// Most notes a take may hold (a 16-bar loop of thirty-second notes is 512).
pub const MAX_TAKE_NOTES: usize = 4096;
/// Longest take, in beats.
pub const MAX_TAKE_BEATS: f64 = 1024.0;

/// One note of a take, relative to the start of its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TakeNote {
    /// Onset in beats from the cycle start.
    pub onset: f64,
    /// Length in beats.
    pub length: f64,
    /// MIDI key.
    pub key: u8,
    /// Velocity, 0..=1.
    pub velocity: f32,
}

/// A loop take as it is persisted: what repeats while `Keep` is on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawTake")]
pub struct KeptTake {
    /// The cycle length in beats the take was made for (it replays only in a loop of that length).
    pub cycle_beats: f64,
    /// The model that generated it (shown in the editor and written into exported files).
    pub model: String,
    /// The notes, in order.
    pub notes: Vec<TakeNote>,
}

/// The unchecked form a blob deserialises into before [`KeptTake::try_from`] validates it.
#[derive(Deserialize)]
struct RawTake {
    cycle_beats: f64,
    model: String,
    notes: Vec<TakeNote>,
}

impl TryFrom<RawTake> for KeptTake {
    type Error = String;

    fn try_from(raw: RawTake) -> Result<KeptTake, String> {
        let take = KeptTake {
            cycle_beats: raw.cycle_beats,
            model: raw.model,
            notes: raw.notes,
        };
        take.validate()?;
        Ok(take)
    }
}

impl KeptTake {
    /// Checks the guarantees listed in the module docs.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.cycle_beats > 0.0 && self.cycle_beats <= MAX_TAKE_BEATS) {
            return Err(format!(
                "take length {} beats is out of range",
                self.cycle_beats
            ));
        }
        if self.notes.len() > MAX_TAKE_NOTES {
            return Err(format!(
                "take has {} notes (at most {MAX_TAKE_NOTES})",
                self.notes.len()
            ));
        }
        if self.model.len() > 256 {
            return Err("take's model name is longer than 256 bytes".into());
        }
        let mut free = 0.0;
        for n in &self.notes {
            let inside = n.onset >= free - 1e-9
                && n.length > 0.0
                && n.onset + n.length <= self.cycle_beats + 1e-9;
            if !inside || n.key > 127 || !(0.0..=1.0).contains(&n.velocity) {
                return Err(format!("take note {n:?} is invalid or out of order"));
            }
            free = n.onset + n.length;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(onset: f64, length: f64) -> TakeNote {
        TakeNote {
            onset,
            length,
            key: 60,
            velocity: 0.7,
        }
    }

    #[test]
    fn a_valid_take_round_trips_through_json() {
        let take = KeptTake {
            cycle_beats: 8.0,
            model: "m".into(),
            notes: vec![note(0.0, 0.5), note(0.5, 1.0), note(7.0, 1.0)],
        };
        let json = serde_json::to_string(&take).unwrap();
        assert_eq!(serde_json::from_str::<KeptTake>(&json).unwrap(), take);
    }

    #[test]
    fn invalid_takes_are_refused() {
        let bad = [
            r#"{"cycle_beats":8,"model":"m","notes":[{"onset":7.5,"length":1,"key":60,"velocity":0.5}]}"#,
            r#"{"cycle_beats":8,"model":"m","notes":[{"onset":1,"length":1,"key":60,"velocity":0.5},{"onset":0,"length":1,"key":60,"velocity":0.5}]}"#,
            r#"{"cycle_beats":-1,"model":"m","notes":[]}"#,
            r#"{"cycle_beats":8,"model":"m","notes":[{"onset":0,"length":1,"key":60,"velocity":3}]}"#,
            r#"{"cycle_beats":8,"model":"m","notes":[{"onset":0,"length":1,"key":200,"velocity":0.5}]}"#,
            r#"{"cycle_beats":8,"model":"m"}"#,
        ];
        for b in bad {
            assert!(serde_json::from_str::<KeptTake>(b).is_err(), "{b}");
        }
    }
}
