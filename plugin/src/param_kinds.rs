//! The kinds of parameter Descant builds more than once, or whose text needs its own reading:
//! a choice shown by name, the key, a register bound, a percentage. Called when the parameters
//! are made (main thread); the text conversions they set are called by the host and the editor.

use std::sync::Arc;

use descant_inference::music::key::{Key, KEY_COUNT};
use nice_plug::prelude::*;

/// Chord channel choices: off, then MIDI channels 1 to 16.
pub(crate) const CHANNEL_NAMES: [&str; 17] = [
    "Off", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
];

/// Display names for an `IntParam` indexing into `names`, and their inverse (case-insensitive).
pub(crate) fn named(param: IntParam, names: &'static [&'static str]) -> IntParam {
    param
        .with_value_to_string(Arc::new(move |v| {
            names
                .get(usize::try_from(v).unwrap_or(0))
                .copied()
                .unwrap_or("?")
                .to_string()
        }))
        .with_string_to_value(Arc::new(move |s| {
            let s = s.trim();
            names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(s))
                .map(|i| i as i32)
                .or_else(|| s.parse().ok())
        }))
}

/// `Key`: Auto, then every key by its name.
pub(crate) fn key_param() -> IntParam {
    IntParam::new(
        "Key",
        0,
        IntRange::Linear {
            min: 0,
            max: KEY_COUNT as i32,
        },
    )
    .with_value_to_string(Arc::new(|v| {
        if v <= 0 {
            "Auto".to_string()
        } else {
            Key::from_index((v - 1) as usize).name()
        }
    }))
    .with_string_to_value(Arc::new(|s| {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auto") {
            return Some(0);
        }
        (0..KEY_COUNT)
            .find(|&i| Key::from_index(i).name().eq_ignore_ascii_case(s))
            .map(|i| i as i32 + 1)
    }))
}

/// A register bound: a MIDI key, shown by its name.
pub(crate) fn register_param(name: &str, default: i32) -> IntParam {
    IntParam::new(name, default, IntRange::Linear { min: 21, max: 108 })
        .with_value_to_string(formatters::v2s_i32_key_formatter())
        .with_string_to_value(formatters::s2v_i32_key_formatter())
}

/// A share, 0–100 %, in steps of 1 %.
pub(crate) fn percent_param(name: &str, default: f32) -> FloatParam {
    FloatParam::new(name, default, FloatRange::Linear { min: 0.0, max: 1.0 })
        .with_step_size(0.01)
        .with_unit("%")
        .with_value_to_string(formatters::v2s_f32_percentage(0))
        .with_string_to_value(formatters::s2v_f32_percentage())
}
