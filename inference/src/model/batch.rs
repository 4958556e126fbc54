//! Several lines stepped in one call: a [`Batch`] of generation states that share a position,
//! for candidate answers forked from one line (the critic's "best of N"). Worker thread (or tests
//! and benches); allocates.
//!
//! Guarantees: row `r` of a batch computes what a [`State`] stepped alone with row `r`'s tokens
//! computes (the same graph, so to float rounding); a batch is only made for a graph whose batch
//! axis is free ([`Model::batches`]), never past `max_context`, and every row is at the same
//! position.

use ort::value::{DynValue, Tensor, TensorRef};

use super::onnx::{check_step, checked_present, control_rows};
use super::{Model, State};
use crate::error::ModelError;

/// The generation state of several lines at one position: what [`State`] is for one.
#[derive(Debug)]
pub struct Batch {
    /// Keys and values of all past positions of every row, `[L, rows, H, position, D]` each.
    past: (DynValue, DynValue),
    /// Lines in the batch.
    rows: usize,
    /// Tokens fed to every row so far (the next token's position).
    position: usize,
    /// Logits after the last step, `rows × vocab`, row after row.
    logits: Vec<f32>,
}

impl Batch {
    /// Lines in the batch.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Tokens fed to every row so far.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Row `row`'s logits after the last step. Panics when `row` is not below [`Batch::rows`],
    /// as slice indexing does.
    pub fn logits(&self, row: usize) -> &[f32] {
        let v = self.logits.len() / self.rows.max(1);
        &self.logits[row * v..(row + 1) * v]
    }
}

impl Model {
    /// Whether the graph takes a batch of more than one line (its batch axis is free, as in
    /// every model `training/train.py` exports now). Older models step one line
    /// at a time; they still load and play.
    pub fn batches(&self) -> bool {
        self.batch_axis_free
    }

    /// A batch of `rows` (at least one) copies of `state`, which must have been stepped at least
    /// once: the KV cache is copied once per row, and the logits too, so each row goes on from
    /// where `state` is, as a [`State::try_clone`] would.
    pub fn batch_of(&self, state: &State, rows: usize) -> Result<Batch, ModelError> {
        if rows == 0 {
            return Err(ModelError::Contract("a batch has at least one row".into()));
        }
        if !self.batches() {
            return Err(ModelError::Contract(
                "this model steps one line at a time (its graph has no free batch axis)".into(),
            ));
        }
        let Some((key, value)) = state.past() else {
            return Err(ModelError::Contract(
                "a batch forks a line that has been stepped".into(),
            ));
        };
        let tile = |v: &DynValue| -> Result<DynValue, ModelError> {
            let (shape, data) = v.try_extract_tensor::<f32>()?;
            let dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
            // [L, 1, H, P, D]: each layer's block is repeated once per row.
            let block = dims[2..].iter().product::<usize>();
            let mut out = Vec::with_capacity(data.len() * rows);
            for layer in data.chunks_exact(block.max(1)) {
                for _ in 0..rows {
                    out.extend_from_slice(layer);
                }
            }
            let tiled = [dims[0], rows, dims[2], dims[3], dims[4]];
            Ok(Tensor::from_array((tiled, out.into_boxed_slice()))?.into_dyn())
        };
        let mut logits = Vec::with_capacity(state.logits().len() * rows);
        for _ in 0..rows {
            logits.extend_from_slice(state.logits());
        }
        Ok(Batch {
            past: (tile(key)?, tile(value)?),
            rows,
            position: state.position(),
            logits,
        })
    }

    /// Feeds `tokens[r]` to row `r` of `batch`, every row with `control`, and returns the
    /// logits of every row (`rows × vocab`).
    pub fn step_batch<'b>(
        &mut self,
        batch: &'b mut Batch,
        tokens: &[u32],
        control: &[f32],
    ) -> Result<&'b [f32], ModelError> {
        let c = self.contract();
        let (rows, p) = (batch.rows, batch.position);
        if tokens.len() != rows {
            return Err(ModelError::Contract(format!(
                "{} tokens for a batch of {rows}",
                tokens.len()
            )));
        }
        check_step(c, p, tokens)?;
        let (vocab, size) = (c.vocab_size, c.control.size);
        let (l, h, d) = (c.layers as i64, c.heads as i64, c.head_dim as i64);
        let control_v = control_rows(c, rows, control);
        let token_v: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        let position_v = vec![p as i64; rows];
        let mut outputs = self.session_mut().run(ort::inputs![
            "token" => TensorRef::from_array_view(([rows, 1], &token_v[..]))?,
            "position" => TensorRef::from_array_view(([rows], &position_v[..]))?,
            "control" => TensorRef::from_array_view(([rows, size], &control_v[..]))?,
            "past_key" => &batch.past.0,
            "past_value" => &batch.past.1,
        ])?;
        let (shape, logits) = outputs["logits"].try_extract_tensor::<f32>()?;
        if **shape != [rows as i64, vocab as i64] {
            return Err(ModelError::Contract(format!("logits have shape {shape:?}")));
        }
        batch.logits.clear();
        batch.logits.extend_from_slice(logits);
        let want = [l, rows as i64, h, p as i64 + 1, d];
        let present = (
            checked_present(outputs.remove("present_key"), "present_key", want)?,
            checked_present(outputs.remove("present_value"), "present_value", want)?,
        );
        drop(outputs);
        batch.past = present;
        batch.position += 1;
        Ok(&batch.logits)
    }
}
