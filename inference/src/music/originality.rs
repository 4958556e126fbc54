//! The originality index: a Bloom filter of the distinctive interval n-grams of the model's
//! training set (written by `training/ngram_index.py`), so the generator can tell when the next
//! note would copy a training melody verbatim. Loaded on the inference worker; read-only after.
//!
//! Guarantees: [`NgramIndex::contains`] never says "no" for an n-gram the index was built from (a
//! Bloom filter has false positives, about 1 % as shipped, and no false negatives); hashing agrees
//! bit for bit with the Python writer (golden vectors checked on both sides);
//! [`NgramIndex::from_bytes`] refuses a malformed or oversized file with a reason.

use crate::error::ModelError;

/// File magic.
const MAGIC: &[u8; 4] = b"DSNG";
/// The only version this reader knows.
const VERSION: u32 = 1;
/// Header length: magic, version, n, k, m.
const HEADER: usize = 4 + 4 + 4 + 4 + 8;
/// Largest index accepted (bits), 64 MiB of filter.
const MAX_BITS: u64 = 64 * 1024 * 1024 * 8;

/// A loaded index.
#[derive(Debug, Clone)]
pub struct NgramIndex {
    /// Intervals per n-gram.
    n: usize,
    /// Hash functions.
    k: u32,
    /// Bits in the filter.
    m: u64,
    /// The filter, bit `i` in byte `i / 8` at bit `i % 8`.
    bits: Vec<u8>,
}

fn fnv1a(intervals: &[i8]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for &i in intervals {
        h ^= u64::from(i.clamp(-127, 127) as u8);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The filter bits an n-gram sets in a filter of `m` bits with `k` hashes.
pub fn bit_positions(intervals: &[i8], k: u32, m: u64) -> impl Iterator<Item = u64> {
    let h1 = fnv1a(intervals);
    let h2 = splitmix64(h1) | 1;
    (0..u64::from(k)).map(move |j| h1.wrapping_add(j.wrapping_mul(h2)) % m)
}

impl NgramIndex {
    /// Parses and checks an index file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<NgramIndex, ModelError> {
        let bad = |why: &str| Err(ModelError::Contract(format!("originality index: {why}")));
        if bytes.len() < HEADER || &bytes[..4] != MAGIC {
            return bad("not a Descant n-gram index");
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or([0; 4]));
        let (version, n, k) = (u32_at(4), u32_at(8), u32_at(12));
        let m = u64::from_le_bytes(bytes[16..24].try_into().unwrap_or([0; 8]));
        if version != VERSION {
            return bad(&format!("version {version}, expected {VERSION}"));
        }
        if !(2..=32).contains(&n) || !(1..=32).contains(&k) || m == 0 || m > MAX_BITS {
            return bad("sizes out of range");
        }
        if (bytes.len() - HEADER) as u64 != m.div_ceil(8) {
            return bad("length does not match its header (truncated?)");
        }
        Ok(NgramIndex {
            n: n as usize,
            k,
            m,
            bits: bytes[HEADER..].to_vec(),
        })
    }

    /// An index of `grams` (each `n` intervals long; others are skipped) sized for about 1 %
    /// false positives, as `training/ngram_index.py` sizes the shipped one.
    pub fn build(n: usize, grams: &[Vec<i8>]) -> NgramIndex {
        let count = grams.len().max(1) as f64;
        let ln2 = std::f64::consts::LN_2;
        let m = ((-count * 0.01f64.ln() / (ln2 * ln2)).ceil() as u64).max(64);
        let k = ((m as f64 / count * ln2).round() as u32).clamp(1, 32);
        let mut bits = vec![0u8; m.div_ceil(8) as usize];
        for g in grams.iter().filter(|g| g.len() == n) {
            for b in bit_positions(g, k, m) {
                bits[(b / 8) as usize] |= 1 << (b % 8);
            }
        }
        NgramIndex { n, k, m, bits }
    }

    /// Intervals per n-gram.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Whether `intervals` (exactly [`NgramIndex::n`] of them) is probably a distinctive training
    /// n-gram. Any other length is never in the index.
    pub fn contains(&self, intervals: &[i8]) -> bool {
        intervals.len() == self.n
            && bit_positions(intervals, self.k, self.m)
                .all(|b| self.bits[(b / 8) as usize] >> (b % 8) & 1 == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = include_str!("../../../training/golden/ngram_hash_v1.json");

    #[derive(serde::Deserialize)]
    struct Case {
        intervals: Vec<i32>,
        fnv1a: String,
        k: u32,
        m: u64,
        bits: Vec<u64>,
    }

    fn as_i8(v: &[i32]) -> Vec<i8> {
        v.iter().map(|&i| i.clamp(-127, 127) as i8).collect()
    }

    #[test]
    fn hashing_matches_the_python_writer() {
        let cases: Vec<Case> = serde_json::from_str(GOLDEN).unwrap();
        assert!(!cases.is_empty());
        for c in cases {
            let iv = as_i8(&c.intervals);
            assert_eq!(fnv1a(&iv).to_string(), c.fnv1a, "{:?}", c.intervals);
            assert_eq!(
                bit_positions(&iv, c.k, c.m).collect::<Vec<_>>(),
                c.bits,
                "{:?}",
                c.intervals
            );
        }
    }

    fn index_of(grams: &[[i8; 7]]) -> Vec<u8> {
        let (k, m) = (7u32, 4096u64);
        let mut bits = vec![0u8; m.div_ceil(8) as usize];
        for g in grams {
            for b in bit_positions(g, k, m) {
                bits[(b / 8) as usize] |= 1 << (b % 8);
            }
        }
        let mut out = b"DSNG".to_vec();
        for v in [1u32, 7, k] {
            out.extend(v.to_le_bytes());
        }
        out.extend(m.to_le_bytes());
        out.extend(bits);
        out
    }

    #[test]
    fn an_index_holds_what_it_was_built_from() {
        let grams = [[2, 2, 1, 2, 2, 2, 1], [-5, 3, 0, 0, 7, -2, -1]];
        let index = NgramIndex::from_bytes(&index_of(&grams)).unwrap();
        assert_eq!(index.n(), 7);
        for g in &grams {
            assert!(index.contains(g));
        }
        assert!(!index.contains(&[9, -9, 9, -9, 9, -9, 9]));
        assert!(!index.contains(&[2, 2, 1, 2, 2, 2]), "wrong length");
    }

    #[test]
    fn malformed_files_are_refused_with_a_reason() {
        let good = index_of(&[[1, 1, 1, 1, 1, 1, 1]]);
        for (bytes, why) in [
            (b"nope".to_vec(), "not a Descant"),
            (good[..good.len() - 1].to_vec(), "truncated"),
            (
                [&good[..4], &9u32.to_le_bytes(), &good[8..]].concat(),
                "version",
            ),
            (vec![0u8; 3], "not a Descant"),
        ] {
            let err = NgramIndex::from_bytes(&bytes).unwrap_err().to_string();
            assert!(err.contains(why), "{err}");
        }
    }

    #[test]
    fn the_shipped_index_loads() {
        let index = NgramIndex::from_bytes(crate::NON_COMMERCIAL_NGRAMS).unwrap();
        assert!(index.n() >= 4);
    }
}
