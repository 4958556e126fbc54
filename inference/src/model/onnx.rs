//! The step model: an immutable [`Model`] (ONNX Runtime session and its contract) and the
//! per-generation [`State`] (KV cache, position, last logits), after tract's `causal_llm` split.
//! Owned and called by the inference worker (or tests and benches); allocates.
//!
//! Guarantees: a [`Model`] exists only for a graph whose inputs and outputs match contract v1 and
//! a sidecar that passed [`ModelContract::parse`]; [`Model::step`] never runs past the model's
//! `max_context` (it returns [`ModelError::Contract`] instead).

use std::path::{Path, PathBuf};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::{DynValue, Tensor, TensorElementType, TensorRef, ValueType};

use crate::error::ModelError;
use crate::model::contract::ModelContract;
use crate::model::step::{StepModel, StepState};

/// Largest model file Descant will read (bounds memory for untrusted files).
pub const MAX_MODEL_BYTES: u64 = 512 * 1024 * 1024;
/// Largest sidecar file Descant will read.
pub const MAX_SIDECAR_BYTES: u64 = 1024 * 1024;

/// A loaded step model. One per inference worker; not shared between threads.
pub struct Model {
    /// The ONNX Runtime session (one intra-op thread, spinning off).
    session: Session,
    /// What the sidecar says the model is.
    contract: ModelContract,
    /// The graph's batch axis is free, so [`crate::model::batch::Batch`]es can be stepped (read off the
    /// graph at load: older models have batch 1 only).
    pub(crate) batch_axis_free: bool,
}

/// Generation state spawned from a [`Model`]: everything that changes per token.
///
/// The KV cache is the previous step's `present_*` outputs, kept as ONNX Runtime values and fed
/// back as the next step's inputs: ONNX Runtime allocates each step's outputs (the graph's cache
/// grows by one position per step), and Descant copies none of it.
#[derive(Debug)]
pub struct State {
    /// Keys and values of all past positions, `[L, 1, H, position, D]` each; `None` before the
    /// first step.
    past: Option<(DynValue, DynValue)>,
    /// Number of tokens fed so far (the next token's position).
    position: usize,
    /// Logits after the last token fed; empty before the first step.
    logits: Vec<f32>,
}

impl State {
    /// Tokens fed so far.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Logits after the last step (empty before the first).
    pub fn logits(&self) -> &[f32] {
        &self.logits
    }

    /// The KV cache (`None` before the first step), for [`Model::batch_of`].
    pub(crate) fn past(&self) -> Option<&(DynValue, DynValue)> {
        self.past.as_ref()
    }

    /// A deep copy (the KV cache's data is copied into new tensors).
    pub fn try_clone(&self) -> Result<State, ModelError> {
        let copy = |v: &DynValue| -> Result<DynValue, ModelError> {
            let (shape, data) = v.try_extract_tensor::<f32>()?;
            let dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
            Ok(Tensor::from_array((dims, data.to_vec().into_boxed_slice()))?.into_dyn())
        };
        let past = match &self.past {
            Some((k, v)) => Some((copy(k)?, copy(v)?)),
            None => None,
        };
        Ok(State {
            past,
            position: self.position,
            logits: self.logits.clone(),
        })
    }
}

fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, ModelError> {
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > cap {
        return Err(ModelError::Contract(format!(
            "{} is {len} bytes, more than the {cap} Descant accepts",
            path.display()
        )));
    }
    std::fs::read(path).map_err(io)
}

/// The sidecar path of a model file: `x.onnx` → `x.json`.
pub fn sidecar_path(model: &Path) -> PathBuf {
    model.with_extension("json")
}

impl Model {
    /// Loads `x.onnx` and its sidecar `x.json` from disk. The runtime must be loaded
    /// ([`crate::model::runtime::ensure_runtime`]).
    pub fn from_file(model: &Path) -> Result<Model, ModelError> {
        let sidecar = read_capped(&sidecar_path(model), MAX_SIDECAR_BYTES)?;
        let sidecar = String::from_utf8(sidecar)
            .map_err(|_| ModelError::Sidecar("sidecar is not UTF-8".into()))?;
        let bytes = read_capped(model, MAX_MODEL_BYTES)?;
        Model::from_bytes(&bytes, &sidecar)
    }

    /// Builds a model from the `.onnx` bytes and the sidecar text, after [`crate::model::vetting::vet`]
    /// accepts them. The runtime must be loaded.
    pub fn from_bytes(model_bytes: &[u8], sidecar: &str) -> Result<Model, ModelError> {
        let contract = ModelContract::parse(sidecar)?;
        contract.check_bytes(model_bytes)?;
        // An untrusted file is refused before ONNX Runtime reads it.
        crate::model::vetting::vet(model_bytes)?;
        let Some(env) = crate::model::runtime::environment() else {
            return Err(ModelError::Ort("ONNX Runtime is not loaded".into()));
        };
        let ort_err = |e: ort::Error<_>| ModelError::Ort(e.to_string());
        let session = Session::builder(env)?
            .with_intra_threads(1)
            .map_err(ort_err)?
            .with_inter_threads(1)
            .map_err(ort_err)?
            .with_intra_op_spinning(false)
            .map_err(ort_err)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(ort_err)?
            .commit_from_memory(model_bytes)?;
        check_graph(&session, &contract)?;
        let batch_axis_free = session.inputs().iter().any(|o| {
            o.name() == "token"
                && matches!(o.dtype(), ValueType::Tensor { shape, .. } if shape.first() == Some(&-1))
        });
        Ok(Model {
            session,
            contract,
            batch_axis_free,
        })
    }

    /// The session, for [`crate::model::batch`]'s steps.
    pub(crate) fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// The model's contract (sizes, vocabulary, styles, name).
    pub fn contract(&self) -> &ModelContract {
        &self.contract
    }

    /// A fresh generation state with an empty KV cache.
    pub fn new_state(&self) -> State {
        State {
            past: None,
            position: 0,
            logits: Vec::with_capacity(self.contract.vocab_size),
        }
    }

    /// Feeds one token at the state's position with `control` (length `control.size`, missing
    /// entries are zero) and returns the logits for the next token.
    pub fn step<'s>(
        &mut self,
        state: &'s mut State,
        token: u32,
        control: &[f32],
    ) -> Result<&'s [f32], ModelError> {
        let c = &self.contract;
        check_step(c, state.position, &[token])?;
        let control_v = control_rows(c, 1, control);
        let (l, h, d, p) = (c.layers, c.heads, c.head_dim, state.position);
        let token_v = [i64::from(token)];
        let position_v = [p as i64];
        let empty: [f32; 0] = [];
        let empty_kv = [l, 1, h, 0, d];
        let mut outputs = match &state.past {
            Some((past_key, past_value)) => self.session.run(ort::inputs![
                "token" => TensorRef::from_array_view(([1usize, 1], &token_v[..]))?,
                "position" => TensorRef::from_array_view(([1usize], &position_v[..]))?,
                "control" => TensorRef::from_array_view(([1usize, c.control.size], &control_v[..]))?,
                "past_key" => past_key,
                "past_value" => past_value,
            ])?,
            None => self.session.run(ort::inputs![
                "token" => TensorRef::from_array_view(([1usize, 1], &token_v[..]))?,
                "position" => TensorRef::from_array_view(([1usize], &position_v[..]))?,
                "control" => TensorRef::from_array_view(([1usize, c.control.size], &control_v[..]))?,
                "past_key" => TensorRef::from_array_view((empty_kv, &empty[..]))?,
                "past_value" => TensorRef::from_array_view((empty_kv, &empty[..]))?,
            ])?,
        };
        let (shape, logits) = outputs["logits"].try_extract_tensor::<f32>()?;
        if shape.iter().product::<i64>() as usize != c.vocab_size {
            return Err(ModelError::Contract(format!("logits have shape {shape:?}")));
        }
        state.logits.clear();
        state.logits.extend_from_slice(logits);
        let want = [l as i64, 1, h as i64, p as i64 + 1, d as i64];
        let present = (
            checked_present(outputs.remove("present_key"), "present_key", want)?,
            checked_present(outputs.remove("present_value"), "present_value", want)?,
        );
        drop(outputs);
        state.past = Some(present);
        state.position += 1;
        Ok(&state.logits)
    }
}

/// Refuses a step at `position` past the context, or with a token outside the vocabulary.
pub(crate) fn check_step(
    c: &ModelContract,
    position: usize,
    tokens: &[u32],
) -> Result<(), ModelError> {
    if position >= c.max_context {
        return Err(ModelError::Contract(format!(
            "context full ({} tokens)",
            c.max_context
        )));
    }
    if let Some(&t) = tokens.iter().find(|&&t| t as usize >= c.vocab_size) {
        return Err(ModelError::Contract(format!("token {t} not in vocabulary")));
    }
    Ok(())
}

/// `control` (missing entries zero, extra ones dropped) once per row, `rows × control.size`.
pub(crate) fn control_rows(c: &ModelContract, rows: usize, control: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0f32; c.control.size * rows];
    for row in out.chunks_exact_mut(c.control.size.max(1)) {
        for (dst, src) in row.iter_mut().zip(control) {
            *dst = *src;
        }
    }
    out
}

/// A step's `name` output (`present_key` or `present_value`), refused unless the graph gave it
/// with shape `want`.
pub(crate) fn checked_present(
    value: Option<DynValue>,
    name: &str,
    want: [i64; 5],
) -> Result<DynValue, ModelError> {
    let value = value.ok_or_else(|| ModelError::Contract(format!("graph gave no {name}")))?;
    let (shape, _) = value.try_extract_tensor::<f32>()?;
    if **shape != want {
        return Err(ModelError::Contract(format!(
            "{name} has shape {shape:?}, expected {want:?}"
        )));
    }
    Ok(value)
}

/// Checks the graph's inputs and outputs against the contract.
fn check_graph(session: &Session, c: &ModelContract) -> Result<(), ModelError> {
    let (l, h, d) = (c.layers as i64, c.heads as i64, c.head_dim as i64);
    let kv = [l, 1, h, -1, d];
    let expect_in: [(&str, TensorElementType, &[i64]); 5] = [
        ("token", TensorElementType::Int64, &[1, 1]),
        ("position", TensorElementType::Int64, &[1]),
        (
            "control",
            TensorElementType::Float32,
            &[1, c.control.size as i64],
        ),
        ("past_key", TensorElementType::Float32, &kv),
        ("past_value", TensorElementType::Float32, &kv),
    ];
    let expect_out: [(&str, TensorElementType, &[i64]); 3] = [
        (
            "logits",
            TensorElementType::Float32,
            &[1, c.vocab_size as i64],
        ),
        ("present_key", TensorElementType::Float32, &kv),
        ("present_value", TensorElementType::Float32, &kv),
    ];
    for (outlets, expected, side) in [
        (session.inputs(), &expect_in[..], "input"),
        (session.outputs(), &expect_out[..], "output"),
    ] {
        if outlets.len() != expected.len() {
            return Err(ModelError::Contract(format!(
                "graph has {} {side}s, contract v1 has {}",
                outlets.len(),
                expected.len()
            )));
        }
        for (name, ty, dims) in expected {
            let outlet = outlets
                .iter()
                .find(|o| o.name() == *name)
                .ok_or_else(|| ModelError::Contract(format!("graph has no {side} '{name}'")))?;
            let ok = match outlet.dtype() {
                ValueType::Tensor {
                    ty: got_ty, shape, ..
                } => {
                    got_ty == ty
                        && shape.len() == dims.len()
                        && shape
                            .iter()
                            .zip(dims.iter())
                            .all(|(&g, &w)| w == -1 || g == -1 || g == w)
                }
                _ => false,
            };
            if !ok {
                return Err(ModelError::Contract(format!(
                    "{side} '{name}' is {:?}, contract v1 wants {ty:?} {dims:?}",
                    outlet.dtype()
                )));
            }
        }
    }
    Ok(())
}

impl StepState for State {
    fn position(&self) -> usize {
        self.position
    }

    fn logits(&self) -> &[f32] {
        &self.logits
    }
}

impl StepModel for Model {
    type State = State;

    fn contract(&self) -> &ModelContract {
        Model::contract(self)
    }

    fn new_state(&self) -> State {
        Model::new_state(self)
    }

    fn fork_state(&self, state: &State) -> Result<State, ModelError> {
        state.try_clone()
    }

    fn step<'s>(
        &mut self,
        state: &'s mut State,
        token: u32,
        control: &[f32],
    ) -> Result<&'s [f32], ModelError> {
        Model::step(self, state, token, control)
    }
}
