//! The step-model contract, versions 1 and 2: the sidecar JSON that describes a `.onnx` file, and
//! its checks. Called on the inference worker when a model loads (and in tests); allocates.
//!
//! Guarantees: a [`ModelContract`] returned by [`ModelContract::parse`] names contract
//! `descant-step` version 1 or 2, has that version's vocabulary of [`crate::model::tokenizer`] (v1: the
//! single-line grammar; v2: the two-voice grammar, which appends heard notes, `OWN` and phrase
//! marks), sane sizes, and (with [`ModelContract::check_bytes`]) the sha256 of the model bytes it
//! was loaded with. The graph's inputs and outputs are the same in both versions.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::ModelError;
use crate::model::tokenizer;

/// Name of the only contract this engine speaks.
pub const CONTRACT_NAME: &str = "descant-step";
/// The newest version of that contract (the two-voice grammar).
pub const CONTRACT_VERSION: u32 = 2;
/// The oldest version Descant still plays (the single-line grammar of Descant 0.2's models).
pub const OLDEST_CONTRACT_VERSION: u32 = 1;
/// Largest context a model may declare (bounds the KV cache).
pub const MAX_CONTEXT_LIMIT: usize = 4096;

/// What the sidecar says about the model's control input.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ControlLayout {
    /// Length of the `control` vector.
    pub size: usize,
    /// Style names; the first `styles.len()` control entries are style weights.
    pub styles: Vec<String>,
    /// Attribute names (density, register, mode), after the styles.
    pub attributes: Vec<String>,
}

/// How the training pipeline normalised the attribute controls (z-scores over the training split),
/// so steering can turn "1.5 notes per beat" or "around E4" into the model's control values.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
pub struct AttributeNorms {
    /// Mean of ln(notes per beat).
    pub log_density_mean: f32,
    /// Standard deviation of ln(notes per beat).
    pub log_density_std: f32,
    /// Mean MIDI key.
    pub register_mean: f32,
    /// Standard deviation of the per-tune mean key.
    pub register_std: f32,
}

/// The vocabulary layout as the sidecar states it; must equal the tokenizer's constants. (One field
/// per token range, as the sidecar writes them.)
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct VocabLayout {
    /// PAD token.
    pub pad: u32,
    /// BOS token.
    pub bos: u32,
    /// EOS token.
    pub eos: u32,
    /// BAR token.
    pub bar: u32,
    /// First meter token.
    pub meter_base: u32,
    /// Meters, in token order.
    pub meters: Vec<(u8, u8)>,
    /// First position token.
    pub pos_base: u32,
    /// Number of position tokens.
    pub max_bar_ticks: i64,
    /// First pitch token.
    pub pitch_base: u32,
    /// Lowest key.
    pub pitch_low: u8,
    /// Highest key.
    pub pitch_high: u8,
    /// First duration token.
    pub dur_base: u32,
    /// Number of duration tokens.
    pub max_dur_ticks: i64,
    /// v2: first heard-pitch token.
    #[serde(default)]
    pub heard_base: Option<u32>,
    /// v2: the token that ends a bar's heard notes.
    #[serde(default)]
    pub own: Option<u32>,
    /// v2: first phrase mark.
    #[serde(default)]
    pub phrase_base: Option<u32>,
    /// v2: number of phrase marks.
    #[serde(default)]
    pub phrase_bars: Option<u32>,
}

/// The sidecar JSON next to a model (`descant.json` beside `descant.onnx`). (Its fields are the
/// sidecar's, as `training/` writes them.)
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ModelContract {
    /// Must be [`CONTRACT_NAME`].
    pub contract: String,
    /// [`OLDEST_CONTRACT_VERSION`]..=[`CONTRACT_VERSION`].
    pub contract_version: u32,
    /// Human-readable model name, shown in the GUI.
    pub name: String,
    /// False for the random-weight placeholder; the GUI says so.
    pub trained: bool,
    /// Number of tokens.
    pub vocab_size: usize,
    /// Grid resolution.
    pub ticks_per_beat: i64,
    /// Longest token context the model was built for (its position table).
    pub max_context: usize,
    /// Transformer layers (`L` of the KV cache).
    pub layers: usize,
    /// Attention heads (`H`).
    pub heads: usize,
    /// Size of one head (`D`).
    pub head_dim: usize,
    /// The control vector's layout.
    pub control: ControlLayout,
    /// The vocabulary's layout.
    pub vocab: VocabLayout,
    /// Attribute normalisation; absent for the placeholder (steering then feeds no attributes).
    #[serde(default)]
    pub attribute_norms: Option<AttributeNorms>,
    /// Hex sha256 of the `.onnx` bytes.
    pub sha256: String,
}

impl ModelContract {
    /// Parses and checks a sidecar.
    pub fn parse(json: &str) -> Result<ModelContract, ModelError> {
        let c: ModelContract =
            serde_json::from_str(json).map_err(|e| ModelError::Sidecar(e.to_string()))?;
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), ModelError> {
        let bad = |what: String| Err(ModelError::Contract(what));
        let known = OLDEST_CONTRACT_VERSION..=CONTRACT_VERSION;
        if self.contract != CONTRACT_NAME || !known.contains(&self.contract_version) {
            return bad(format!(
                "model speaks contract '{}' v{}, Descant needs '{CONTRACT_NAME}' \
                 v{OLDEST_CONTRACT_VERSION} to v{CONTRACT_VERSION}",
                self.contract, self.contract_version
            ));
        }
        let two_voice = self.two_voice();
        let expected = VocabLayout {
            pad: tokenizer::PAD,
            bos: tokenizer::BOS,
            eos: tokenizer::EOS,
            bar: tokenizer::BAR,
            meter_base: tokenizer::METER_BASE,
            meters: tokenizer::METERS.to_vec(),
            pos_base: tokenizer::POS_BASE,
            max_bar_ticks: tokenizer::MAX_BAR_TICKS,
            pitch_base: tokenizer::PITCH_BASE,
            pitch_low: tokenizer::PITCH_LOW,
            pitch_high: tokenizer::PITCH_HIGH,
            dur_base: tokenizer::DUR_BASE,
            max_dur_ticks: tokenizer::MAX_DUR_TICKS,
            heard_base: two_voice.then_some(tokenizer::HEARD_BASE),
            own: two_voice.then_some(tokenizer::OWN),
            phrase_base: two_voice.then_some(tokenizer::PHRASE_BASE),
            phrase_bars: two_voice.then_some(tokenizer::PHRASE_BARS),
        };
        let size = if two_voice {
            tokenizer::VOCAB_SIZE_V2
        } else {
            tokenizer::VOCAB_SIZE_V1
        };
        if self.vocab != expected || self.vocab_size != size {
            return bad(format!(
                "the model's vocabulary differs from Descant's token grammar v{}",
                self.contract_version
            ));
        }
        if self.ticks_per_beat != tokenizer::TICKS_PER_BEAT {
            return bad(format!(
                "grid of {} ticks per beat, expected {}",
                self.ticks_per_beat,
                tokenizer::TICKS_PER_BEAT
            ));
        }
        if !(16..=MAX_CONTEXT_LIMIT).contains(&self.max_context)
            || !(1..=64).contains(&self.layers)
            || !(1..=64).contains(&self.heads)
            || !(1..=512).contains(&self.head_dim)
        {
            return bad("layer, head or context sizes out of range".into());
        }
        let c = &self.control;
        if c.size == 0 || c.size > 256 || c.styles.len() + c.attributes.len() > c.size {
            return bad("control layout does not fit the control size".into());
        }
        if let Some(n) = self.attribute_norms {
            let finite = n.log_density_mean.is_finite() && n.register_mean.is_finite();
            let spreads = n.log_density_std > 0.0 && n.register_std > 0.0;
            if !finite || !spreads || !n.log_density_std.is_finite() || !n.register_std.is_finite()
            {
                return bad("attribute norms must be finite with positive spreads".into());
            }
        }
        Ok(())
    }

    /// Whether the model speaks the two-voice grammar (contract v2): it is told what Descant hears,
    /// bar by bar, before its own notes. A v1 model continues one merged line.
    pub fn two_voice(&self) -> bool {
        self.contract_version >= 2
    }

    /// Checks that `model_bytes` are the bytes the sidecar describes.
    pub fn check_bytes(&self, model_bytes: &[u8]) -> Result<(), ModelError> {
        let digest = Sha256::digest(model_bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        if hex.eq_ignore_ascii_case(self.sha256.trim()) {
            Ok(())
        } else {
            Err(ModelError::Contract(format!(
                "model file does not match its sidecar (sha256 {hex}, sidecar says {})",
                self.sha256
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../assets/descant.json");
    /// Descant 0.2's model (contract v1), kept as a fixture: v1 models must still load and play.
    const V1: &str = include_str!("../../../tests/fixtures/descant-melody-v2.json");

    #[test]
    fn shipped_sidecar_passes() {
        let c = ModelContract::parse(SHIPPED).unwrap();
        assert_eq!(c.vocab_size, tokenizer::VOCAB_SIZE_V2);
        assert!(c.two_voice());
    }

    #[test]
    fn a_v1_sidecar_still_passes() {
        let c = ModelContract::parse(V1).unwrap();
        assert_eq!(c.vocab_size, tokenizer::VOCAB_SIZE_V1);
        assert!(!c.two_voice());
        c.check_bytes(include_bytes!(
            "../../../tests/fixtures/descant-melody-v2.onnx"
        ))
        .unwrap();
    }

    #[test]
    fn a_v1_sidecar_with_the_v2_vocabulary_is_refused() {
        let json = SHIPPED.replace("\"contract_version\": 2", "\"contract_version\": 1");
        let err = ModelContract::parse(&json).unwrap_err().to_string();
        assert!(err.contains("grammar v1"), "{err}");
    }

    #[test]
    fn shipped_model_matches_its_sidecar() {
        let c = ModelContract::parse(SHIPPED).unwrap();
        c.check_bytes(include_bytes!("../../../assets/descant.onnx"))
            .unwrap();
        assert!(c.check_bytes(b"not the model").is_err());
    }

    #[test]
    fn wrong_contract_version_is_refused_with_a_reason() {
        let json = SHIPPED.replace("\"contract_version\": 2", "\"contract_version\": 3");
        let err = ModelContract::parse(&json).unwrap_err().to_string();
        assert!(err.contains("v3"), "{err}");
    }

    #[test]
    fn changed_vocabulary_is_refused() {
        let json = SHIPPED.replace("\"pitch_low\": 21", "\"pitch_low\": 20");
        assert!(ModelContract::parse(&json).is_err());
    }

    #[test]
    fn malformed_json_is_refused() {
        assert!(matches!(
            ModelContract::parse("{ not json"),
            Err(ModelError::Sidecar(_))
        ));
    }
}
