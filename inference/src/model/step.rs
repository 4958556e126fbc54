//! What "a model that steps" is to the generator: feed one token, get the next token's logits.
//! Implemented by the ONNX [`crate::model::Model`] and, in the engine's unit tests, by a small
//! deterministic fake, so the generator and the mode planners are tested without ONNX Runtime.
//! Called on the inference worker (or in tests and tools); implementations may allocate.
//!
//! Guarantees an implementation gives: [`StepModel::step`] feeds exactly one token at the state's
//! position, advances [`StepState::position`] by one, and leaves [`StepState::logits`] holding
//! `contract().vocab_size` logits; it refuses (with [`ModelError::Contract`]) a token outside the
//! vocabulary or a step past `contract().max_context`.

use crate::error::ModelError;
use crate::model::contract::ModelContract;

/// Per-generation state spawned from a [`StepModel`] (tract's `State` beside its `Model`).
pub trait StepState {
    /// Tokens fed so far (the next token's position).
    fn position(&self) -> usize;
    /// Logits after the last token fed; empty before the first.
    fn logits(&self) -> &[f32];
}

/// An autoregressive step model under Descant's contract.
pub trait StepModel {
    /// The per-generation state (KV cache, position, logits).
    type State: StepState;

    /// What the model is: vocabulary, control layout, context size, name.
    fn contract(&self) -> &ModelContract;

    /// A fresh state with nothing fed.
    fn new_state(&self) -> Self::State;

    /// A copy of `state` that goes on independently (the answer's candidates share one prefill).
    fn fork_state(&self, state: &Self::State) -> Result<Self::State, ModelError>;

    /// Feeds `token` with the control vector `control` (missing entries are zero) and returns the
    /// logits for the next token.
    fn step<'s>(
        &mut self,
        state: &'s mut Self::State,
        token: u32,
        control: &[f32],
    ) -> Result<&'s [f32], ModelError>;
}
