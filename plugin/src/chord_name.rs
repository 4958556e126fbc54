//! Names for what the roll shows: a key's note name ("C4") and the chord the sounding keys make
//! ("G7", "Am"). Pure functions; GUI thread (and tests); allocate the returned text.
//!
//! Guarantees: [`chord`] names a set of pitch classes only when it is exactly one of
//! [`SHAPES`] on one of its own notes (the lowest sounding key's class is tried first, so an
//! inversion is named by its root, not its bass); any other set of two or more classes is
//! spelled out note by note, lowest first, and no sound is `None`.

/// Note names of the twelve pitch classes (sharps, as the parameters' key names).
const NAMES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

/// The chord shapes named, as intervals above the root, and their suffixes.
const SHAPES: [(&[u8], &str); 10] = [
    (&[0, 4, 7], ""),
    (&[0, 3, 7], "m"),
    (&[0, 3, 6], "dim"),
    (&[0, 4, 8], "aug"),
    (&[0, 5, 7], "sus4"),
    (&[0, 4, 7, 10], "7"),
    (&[0, 4, 7, 11], "maj7"),
    (&[0, 3, 7, 10], "m7"),
    (&[0, 3, 6, 10], "m7b5"),
    (&[0, 7], "5"),
];

/// A MIDI key's name with its octave, middle C (60) as "C4".
pub fn note_name(key: u8) -> String {
    format!(
        "{}{}",
        NAMES[usize::from(key % 12)],
        i32::from(key / 12) - 1
    )
}

/// The chord the sounding `keys` make (see the module doc); `None` when nothing sounds.
pub fn chord(keys: &[u8]) -> Option<String> {
    let bass = *keys.iter().min()?;
    let classes: u16 = keys.iter().fold(0, |set, k| set | 1 << (k % 12));
    if classes.count_ones() == 1 {
        return Some(NAMES[usize::from(bass % 12)].to_owned());
    }
    // Roots in order from the bass's class up.
    for root in (0..12).map(|i| (bass + i) % 12) {
        if classes & 1 << root == 0 {
            continue;
        }
        for (shape, suffix) in SHAPES {
            let set = shape
                .iter()
                .fold(0u16, |set, i| set | 1 << ((root + i) % 12));
            if set == classes {
                return Some(format!("{}{suffix}", NAMES[usize::from(root)]));
            }
        }
    }
    let mut sorted: Vec<u8> = keys.to_vec();
    sorted.sort_unstable();
    sorted.dedup_by_key(|k| *k % 12);
    let names: Vec<&str> = sorted.iter().map(|k| NAMES[usize::from(k % 12)]).collect();
    Some(names.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_names_count_octaves_from_middle_c_as_c4() {
        assert_eq!(note_name(60), "C4");
        assert_eq!(note_name(21), "A0");
        assert_eq!(note_name(70), "A#4");
        assert_eq!(note_name(108), "C8");
    }

    #[test]
    fn chords_are_named_by_their_root_in_any_inversion() {
        assert_eq!(chord(&[60, 64, 67]).as_deref(), Some("C"));
        assert_eq!(
            chord(&[64, 67, 72]).as_deref(),
            Some("C"),
            "first inversion"
        );
        assert_eq!(chord(&[57, 60, 64]).as_deref(), Some("Am"));
        assert_eq!(chord(&[55, 59, 62, 65]).as_deref(), Some("G7"));
        assert_eq!(chord(&[65, 69, 72, 76]).as_deref(), Some("Fmaj7"));
        assert_eq!(chord(&[59, 62, 65]).as_deref(), Some("Bdim"));
        assert_eq!(chord(&[50, 57]).as_deref(), Some("D5"));
        assert_eq!(chord(&[48, 60]).as_deref(), Some("C"), "octaves: one class");
    }

    #[test]
    fn anything_else_is_spelled_out_and_silence_has_no_name() {
        assert_eq!(chord(&[]), None);
        assert_eq!(chord(&[62, 60, 64]).as_deref(), Some("C D E"));
        assert_eq!(chord(&[60, 61]).as_deref(), Some("C C#"));
    }
}
