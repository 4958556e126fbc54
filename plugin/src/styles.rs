//! The `Style` and `Style B` parameters' text: "Any", then the loaded model's own style names
//! (written by the worker when a model loads), so hosts and the editor show the styles the model
//! declares. Called on the main and GUI threads (parameter text); never on the audio thread.

use std::sync::Arc;

use nice_plug::prelude::*;
use parking_lot::RwLock;

/// The shipped model's style ids in its control order (its sidecar's `control.styles`, written by
/// `training/extract.py`); a unit test holds them to the sidecar.
pub const STYLE_IDS: [&str; 5] = [
    "folk-european",
    "folk-chinese",
    "irish-scottish",
    "chorale",
    "renaissance",
];

/// Style choices in parameter order: "Any" (unconditioned), then a name for each of
/// [`STYLE_IDS`], in that order, then "Yours": the style a model learned from the musician's own
/// melodies adds after the shipped ones (`training/learn.py`; a model without it plays that
/// choice unconditioned, as "Any"). A custom model's styles are addressed by the same indices.
pub const STYLE_NAMES: [&str; 2 + STYLE_IDS.len()] = [
    "Any",
    "European folk",
    "Chinese folk",
    "Irish & Scottish",
    "Chorale",
    "Renaissance",
    "Yours",
];

/// The text of a `Style` value: "Any", the loaded model's name for it, or, for a slot the model
/// does not declare, the built-in name marked as unconditioned.
pub fn style_text(value: i32, loaded: &[String]) -> String {
    let Ok(slot) = usize::try_from(value) else {
        return "?".to_owned();
    };
    if slot == 0 {
        return STYLE_NAMES[0].to_owned();
    }
    match loaded.get(slot - 1) {
        Some(name) => name.clone(),
        None => format!(
            "{} (not in this model: Any)",
            STYLE_NAMES.get(slot).copied().unwrap_or("?")
        ),
    }
}

/// The `Style` value a text names: the loaded model's style names, the built-in names or a
/// number (case-insensitive).
fn style_value(text: &str, loaded: &[String]) -> Option<i32> {
    let s = text.trim();
    let s = s.split(" (not in this model").next().unwrap_or(s);
    if s.eq_ignore_ascii_case(STYLE_NAMES[0]) {
        return Some(0);
    }
    loaded
        .iter()
        .position(|n| n.eq_ignore_ascii_case(s))
        .map(|i| i as i32 + 1)
        .or_else(|| {
            STYLE_NAMES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(s))
                .map(|i| i as i32)
        })
        .or_else(|| s.parse().ok())
}

/// A `Style` parameter whose text follows the loaded model's styles.
pub(crate) fn style_param(name: &str, names: &Arc<RwLock<Vec<String>>>) -> IntParam {
    let (show, read) = (names.clone(), names.clone());
    IntParam::new(
        name,
        0,
        IntRange::Linear {
            min: 0,
            max: STYLE_NAMES.len() as i32 - 1,
        },
    )
    .with_value_to_string(Arc::new(move |v| style_text(v, &show.read())))
    .with_string_to_value(Arc::new(move |s| style_value(s, &read.read())))
}
