//! Presets against Descant's own parameters: checking a preset's every value before any is set,
//! and taking the current values as a preset. The file format, the factory presets and the user
//! folder are `descant_inference::files::presets`. GUI thread (and tests); allocates.
//!
//! Guarantees: [`resolve`] either gives a normalised value for every entry of the preset, and the
//! default for every other parameter but the session's own ([`SESSION`]), so a preset sounds the
//! same whatever was loaded before it; or it refuses the whole preset with the first entry that
//! does not fit (unknown name, a parameter presets leave alone, a text the parameter does not
//! read), so a bad preset changes nothing;
//! [`capture`] writes every parameter but [`NOT_IN_PRESETS`] and the session's, as texts that
//! [`resolve`] reads back to the same values (each parameter's value → text → value round trip is exact).

use std::collections::BTreeMap;

use descant_inference::files::presets::{Preset, PRESET_VERSION};
use nice_plug::prelude::{ParamPtr, Params};

use crate::params::DescantParams;

/// Parameters a preset never sets: the host's bypass, and `Again` and `Answer now`, switches whose
/// every change is an action.
pub const NOT_IN_PRESETS: [&str; 3] = ["Bypass", "Again", "Answer now"];

/// Parameters a preset no longer sets, and a preset saved before that may still name: `Keep`,
/// Loop's switch and, since 0.3, an action in Answer and Continue mode (a preset that changed it
/// would keep an answer). A preset naming it loads and leaves it as it is.
pub const IGNORED_IN_PRESETS: [&str; 1] = ["Keep"];

/// Parameters of the session rather than the sound (how Descant is wired into the track and
/// clocked): a preset sets them only when it names them, and otherwise leaves them as they are.
pub const SESSION: [&str; 5] = [
    "Enabled",
    "Pass through",
    "Chord channel",
    "Free run",
    "Tempo",
];

/// Every parameter with its name.
fn named(params: &DescantParams) -> Vec<(String, ParamPtr)> {
    params
        .param_map()
        .into_iter()
        // SAFETY: the pointers point into `params`, which the caller holds for as long as it
        // uses them (nice-plug's `param_map` contract).
        .map(|(_, ptr, _)| (unsafe { ptr.name() }.to_owned(), ptr))
        .collect()
}

/// The normalised value of every entry of `preset`, or why the preset is refused.
pub fn resolve(preset: &Preset, params: &DescantParams) -> Result<Vec<(ParamPtr, f32)>, String> {
    let all = named(params);
    let mut out = Vec::with_capacity(preset.params.len());
    for (name, text) in &preset.params {
        if IGNORED_IN_PRESETS.contains(&name.as_str()) {
            continue;
        }
        if NOT_IN_PRESETS.contains(&name.as_str()) {
            return Err(format!("\"{name}\" is not set by presets"));
        }
        let Some((_, ptr)) = all.iter().find(|(n, _)| n == name) else {
            return Err(format!("Descant has no parameter \"{name}\""));
        };
        // SAFETY: as in `named`.
        let Some(v) = (unsafe { ptr.string_to_normalized_value(text) }) else {
            return Err(format!("\"{text}\" is not a value of {name}"));
        };
        out.push((*ptr, v));
    }
    for (name, ptr) in &all {
        let named = preset.params.contains_key(name);
        let kept = NOT_IN_PRESETS.contains(&name.as_str())
            || SESSION.contains(&name.as_str())
            || IGNORED_IN_PRESETS.contains(&name.as_str());
        if !named && !kept {
            // SAFETY: as in `named`.
            out.push((*ptr, unsafe { ptr.default_normalized_value() }));
        }
    }
    Ok(out)
}

/// The current values as a preset called `name`.
pub fn capture(params: &DescantParams, name: &str, description: &str) -> Preset {
    let values: BTreeMap<String, String> = named(params)
        .into_iter()
        .filter(|(n, _)| {
            !NOT_IN_PRESETS.contains(&n.as_str())
                && !SESSION.contains(&n.as_str())
                && !IGNORED_IN_PRESETS.contains(&n.as_str())
        })
        .map(|(n, ptr)| {
            // SAFETY: as in `named`.
            let text =
                unsafe { ptr.normalized_value_to_string(ptr.unmodulated_normalized_value(), true) };
            (n, text)
        })
        .collect();
    Preset {
        descant_preset: PRESET_VERSION,
        name: name.to_owned(),
        description: description.to_owned(),
        params: values,
        // A preset saved from the editor plays whatever model plays when it is loaded.
        model: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use descant_inference::files::presets::{factory, parse, to_text};

    /// Sets every resolved value, as the host does when the editor asks it to.
    fn apply(values: &[(ParamPtr, f32)]) {
        for (ptr, v) in values {
            // SAFETY: the pointers point into a `DescantParams` the test holds; one thread.
            unsafe {
                ptr._internal_set_normalized_value(*v);
            }
        }
    }

    #[test]
    fn every_factory_preset_fits_the_plugins_parameters() {
        let params = DescantParams::default();
        for preset in factory() {
            let values = resolve(&preset, &params)
                .unwrap_or_else(|e| panic!("factory preset {}: {e}", preset.name));
            let kept = NOT_IN_PRESETS.len() + SESSION.len() + IGNORED_IN_PRESETS.len();
            assert_eq!(values.len(), named(&params).len() - kept);
        }
    }

    #[test]
    fn a_preset_saved_before_0_3_with_keep_loads_and_leaves_keep_alone() {
        let params = DescantParams::default();
        let mut old = capture(&params, "old", "");
        assert!(!old.params.contains_key("Keep"), "no longer saved");
        old.params.insert("Keep".to_owned(), "On".to_owned());
        let values = resolve(&old, &params).expect("it loads");
        let keep = named(&params)
            .into_iter()
            .find(|(n, _)| n == "Keep")
            .map(|(_, p)| p)
            .unwrap();
        assert!(
            values.iter().all(|(p, _)| *p != keep),
            "Keep is left as it is"
        );
    }

    #[test]
    fn a_preset_round_trips_through_its_file() {
        let a = DescantParams::default();
        apply(&resolve(&factory()[3], &a).unwrap());
        let saved = capture(&a, "mine", "");
        assert_eq!(
            saved.params["Mode"], "Loop",
            "the factory preset was applied"
        );
        assert!(!saved.params.contains_key("Bypass"));
        assert!(
            !saved.params.contains_key("Pass through"),
            "a saved preset leaves the session's routing alone"
        );
        let read = parse(&to_text(&saved)).unwrap();
        let b = DescantParams::default();
        apply(&resolve(&read, &b).unwrap());
        assert_eq!(capture(&b, "mine", ""), saved);
    }

    #[test]
    fn what_a_preset_leaves_out_goes_to_its_default_but_the_session_stays() {
        let p = DescantParams::default();
        let preset = |pairs: &[(&str, &str)]| Preset {
            descant_preset: PRESET_VERSION,
            name: "t".into(),
            description: String::new(),
            params: pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            model: None,
        };
        apply(
            &resolve(
                &preset(&[("Scale lock", "60%"), ("Pass through", "Off")]),
                &p,
            )
            .unwrap(),
        );
        apply(&resolve(&preset(&[("Mode", "Loop")]), &p).unwrap());
        assert!(
            p.scale_lock.value().abs() < 1e-6,
            "Scale lock back to its default"
        );
        assert!(
            !p.pass_through.value(),
            "Pass through is the session's: kept"
        );
        assert_eq!(p.mode.value(), crate::params::ModeChoice::Loop);
    }

    #[test]
    fn a_preset_with_one_bad_value_is_refused_whole() {
        let params = DescantParams::default();
        let mut preset = capture(&params, "bad", "");
        preset.params.insert("Mode".into(), "Loop".into());
        preset.params.insert("Temperature".into(), "hot".into());
        assert_eq!(
            resolve(&preset, &params).unwrap_err(),
            "\"hot\" is not a value of Temperature"
        );
        preset.params.remove("Temperature");
        preset.params.insert("Loudness".into(), "11".into());
        assert!(resolve(&preset, &params)
            .unwrap_err()
            .contains("no parameter \"Loudness\""));
        preset.params.remove("Loudness");
        preset.params.insert("Bypass".into(), "On".into());
        assert!(resolve(&preset, &params)
            .unwrap_err()
            .contains("not set by presets"));
        assert_eq!(
            params.mode.value(),
            crate::params::ModeChoice::Answer,
            "nothing changed"
        );
    }
}
