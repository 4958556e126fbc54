//! Vetting a model file before ONNX Runtime reads it. A model from someone else is untrusted input:
//! ONNX Runtime follows a graph's references to external data files and loads custom
//! operators, so a shared `.onnx` could make it read other files or run code Descant never
//! shipped. [`vet`] reads the file's protobuf wire format itself and refuses it when:
//! - a tensor keeps its data in an external file (`data_location = EXTERNAL`, `external_data`);
//! - it imports an operator set from a domain other than ONNX's own, or a node uses one;
//! - it defines its own functions (model-local operators) or carries training graphs;
//! - a node's operator is not on [`ALLOWED_OPS`], the operators the shipped and learned models use;
//! - it has more than [`MAX_NODES`] nodes or nests subgraphs deeper than [`MAX_DEPTH`];
//! - its bytes are not a well-formed protobuf message.
//!
//! Guarantees: [`vet`] never panics and never recurses deeper than [`MAX_DEPTH`] graphs, on any
//! bytes; a refusal says why in words a user can act on. Runs on the worker thread (and in tools).

use crate::error::ModelError;

/// Operators a model may use: exactly those of the shipped models (float and int8), the
/// contract v1 fixture, the random-weight placeholder (`training/make_placeholder_model.py`) and
/// what `training/train.py` exports (so also any model fine-tuned from the shipped one), all in
/// ONNX's default domain. A unit test reads them off the shipped files.
pub const ALLOWED_OPS: &[&str] = &[
    "Add",
    "Cast",
    "Concat",
    "Constant",
    "DequantizeLinear",
    "Div",
    "DynamicQuantizeLinear",
    "Erf",
    "Gather",
    "LayerNormalization",
    "MatMul",
    "MatMulInteger",
    "Mul",
    "Relu",
    "Reshape",
    "Softmax",
    "Split",
    "Transpose",
    "Unsqueeze",
];

/// Most nodes a model may have (the shipped model has a few hundred).
pub const MAX_NODES: usize = 20_000;
/// Deepest nesting of subgraphs (an `If` or `Loop` body is one level); the shipped models have none.
pub const MAX_DEPTH: usize = 4;

/// What [`vet`] found in a model it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vetted {
    /// Every operator the model's graphs use, sorted, once each.
    pub ops: Vec<String>,
    /// Nodes in all its graphs.
    pub nodes: usize,
}

/// Reads `bytes` as an ONNX `ModelProto` and refuses what ONNX Runtime should not be handed (see
/// the module docs).
pub fn vet(bytes: &[u8]) -> Result<Vetted, ModelError> {
    let mut v = Vetting::default();
    v.model(bytes)?;
    v.ops.sort();
    v.ops.dedup();
    Ok(Vetted {
        ops: v.ops,
        nodes: v.nodes,
    })
}

fn refuse(why: impl Into<String>) -> ModelError {
    ModelError::Untrusted(why.into())
}

fn malformed() -> ModelError {
    refuse("the file is not a well-formed ONNX model")
}

/// One field of a protobuf message.
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// The fields of one protobuf message, in order.
struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn of(buf: &'a [u8]) -> Self {
        Fields { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, ModelError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or_else(malformed)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed())
    }

    fn skip(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self.pos.checked_add(n).ok_or_else(malformed)?;
        let bytes = self.buf.get(self.pos..end).ok_or_else(malformed)?;
        self.pos = end;
        Ok(bytes)
    }

    /// The next field, or `None` at the message's end.
    fn next_field(&mut self) -> Result<Option<(u64, Value<'a>)>, ModelError> {
        if self.pos == self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let (field, wire) = (key >> 3, key & 7);
        if field == 0 {
            return Err(malformed());
        }
        let value = match wire {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.skip(8)?;
                Value::Fixed
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| malformed())?;
                Value::Bytes(self.skip(len)?)
            }
            5 => {
                self.skip(4)?;
                Value::Fixed
            }
            // Groups (3, 4) are not in ONNX's schema; 6 and 7 do not exist.
            _ => return Err(malformed()),
        };
        Ok(Some((field, value)))
    }
}

/// Calls `f` on each length-delimited field of `msg` (the sub-messages and strings); a varint or
/// fixed field goes to `f` as empty bytes with its varint.
fn each<'a>(
    msg: &'a [u8],
    mut f: impl FnMut(u64, &'a [u8], Option<u64>) -> Result<(), ModelError>,
) -> Result<(), ModelError> {
    let mut fields = Fields::of(msg);
    while let Some((field, value)) = fields.next_field()? {
        match value {
            Value::Bytes(b) => f(field, b, None)?,
            Value::Varint(n) => f(field, &[], Some(n))?,
            Value::Fixed => f(field, &[], None)?,
        }
    }
    Ok(())
}

/// Whether `domain` is ONNX's own operator domain.
fn default_domain(domain: &[u8]) -> bool {
    domain.is_empty() || domain == b"ai.onnx"
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(64).collect()
}

#[derive(Default)]
struct Vetting {
    ops: Vec<String>,
    nodes: usize,
}

impl Vetting {
    /// `ModelProto`: opset_import 8, graph 7, training_info 20, functions 25.
    fn model(&mut self, msg: &[u8]) -> Result<(), ModelError> {
        let mut graphs = 0;
        each(msg, |field, b, _| match field {
            7 => {
                graphs += 1;
                self.graph(b, 0)
            }
            8 => each(b, |f, domain, _| {
                if f == 1 && !default_domain(domain) {
                    Err(refuse(format!(
                        "it imports operators from the domain '{}' (custom operators are refused)",
                        text(domain)
                    )))
                } else {
                    Ok(())
                }
            }),
            20 => Err(refuse(
                "it carries training graphs, which Descant does not run",
            )),
            25 => Err(refuse(
                "it defines its own functions (model-local operators are refused)",
            )),
            _ => Ok(()),
        })?;
        if graphs == 1 {
            Ok(())
        } else {
            Err(malformed())
        }
    }

    /// `GraphProto`: node 1, initializer 5, sparse_initializer 15.
    fn graph(&mut self, msg: &[u8], depth: usize) -> Result<(), ModelError> {
        if depth > MAX_DEPTH {
            return Err(refuse(format!(
                "it nests subgraphs more than {MAX_DEPTH} deep"
            )));
        }
        each(msg, |field, b, _| match field {
            1 => self.node(b, depth),
            5 => tensor(b),
            15 => sparse_tensor(b),
            _ => Ok(()),
        })
    }

    /// `NodeProto`: op_type 4, domain 7, attribute 5.
    fn node(&mut self, msg: &[u8], depth: usize) -> Result<(), ModelError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(refuse(format!("it has more than {MAX_NODES} nodes")));
        }
        let (mut op, mut domain): (&[u8], &[u8]) = (&[], &[]);
        each(msg, |field, b, _| {
            match field {
                4 => op = b,
                7 => domain = b,
                5 => self.attribute(b, depth)?,
                _ => {}
            }
            Ok(())
        })?;
        if !default_domain(domain) {
            return Err(refuse(format!(
                "its operator '{}' is from the domain '{}' (custom operators are refused)",
                text(op),
                text(domain)
            )));
        }
        let name = std::str::from_utf8(op).map_err(|_| malformed())?;
        if !ALLOWED_OPS.contains(&name) {
            return Err(refuse(format!(
                "it uses the operator '{}', which Descant's models never use",
                text(op)
            )));
        }
        if !self.ops.iter().any(|o| o == name) {
            self.ops.push(name.to_owned());
        }
        Ok(())
    }

    /// `AttributeProto`: t 5, g 6, tensors 10, graphs 11, sparse_tensor 22, sparse_tensors 23.
    fn attribute(&mut self, msg: &[u8], depth: usize) -> Result<(), ModelError> {
        each(msg, |field, b, _| match field {
            5 | 10 => tensor(b),
            6 | 11 => self.graph(b, depth + 1),
            22 | 23 => sparse_tensor(b),
            _ => Ok(()),
        })
    }
}

/// `TensorProto`: external_data 13, data_location 14 (1 = EXTERNAL).
fn tensor(msg: &[u8]) -> Result<(), ModelError> {
    each(msg, |field, _, varint| match (field, varint) {
        (13, _) | (14, Some(1)) => Err(refuse(
            "it keeps tensor data in external files (such a model could read any file)",
        )),
        _ => Ok(()),
    })
}

/// `SparseTensorProto`: values 1, indices 2 (both tensors).
fn sparse_tensor(msg: &[u8]) -> Result<(), ModelError> {
    each(msg, |field, b, _| match field {
        1 | 2 => tensor(b),
        _ => Ok(()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A protobuf writer for the crafted models below.
    fn varint(mut n: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    fn bytes_field(field: u64, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        varint(field << 3 | 2, &mut out);
        varint(body.len() as u64, &mut out);
        out.extend_from_slice(body);
        out
    }
    fn varint_field(field: u64, n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        varint(field << 3, &mut out);
        varint(n, &mut out);
        out
    }
    fn node(op: &str, domain: &str) -> Vec<u8> {
        let mut n = bytes_field(4, op.as_bytes());
        if !domain.is_empty() {
            n.extend(bytes_field(7, domain.as_bytes()));
        }
        n
    }
    /// A model of one graph holding `graph_fields`, with `model_fields` beside it.
    fn model(graph_fields: &[Vec<u8>], model_fields: &[Vec<u8>]) -> Vec<u8> {
        let mut m = varint_field(1, 8); // ir_version
        m.extend(bytes_field(8, &bytes_field(1, b""))); // opset_import: the default domain
        m.extend(bytes_field(7, &graph_fields.concat()));
        for f in model_fields {
            m.extend_from_slice(f);
        }
        m
    }
    fn why(bytes: &[u8]) -> String {
        match vet(bytes) {
            Err(ModelError::Untrusted(why)) => why,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn the_shipped_models_pass_and_use_only_allowed_operators() {
        let mut used = Vec::new();
        for (name, bytes) in [
            ("descant.onnx", crate::NON_COMMERCIAL_MODEL),
            (
                "descant.int8.onnx",
                &include_bytes!("../../../assets/descant.int8.onnx")[..],
            ),
            (
                "descant-melody-v2.onnx",
                &include_bytes!("../../../tests/fixtures/descant-melody-v2.onnx")[..],
            ),
        ] {
            let vetted = vet(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(vetted.nodes > 50, "{name}: {} nodes", vetted.nodes);
            assert!(vetted.ops.iter().any(|o| o == "MatMul"), "{name}");
            used.extend(vetted.ops);
        }
        // The allow-list is no wider than what the shipped files use, and the placeholder's Relu.
        used.push("Relu".into());
        used.sort();
        used.dedup();
        let mut allowed: Vec<String> = ALLOWED_OPS.iter().map(|s| s.to_string()).collect();
        allowed.sort();
        assert_eq!(used, allowed);
    }

    #[test]
    fn a_crafted_model_of_allowed_operators_passes() {
        let ok = model(
            &[
                bytes_field(1, &node("MatMul", "")),
                bytes_field(1, &node("Add", "ai.onnx")),
            ],
            &[],
        );
        assert_eq!(
            vet(&ok).unwrap(),
            Vetted {
                ops: vec!["Add".into(), "MatMul".into()],
                nodes: 2
            }
        );
    }

    #[test]
    fn external_data_is_refused() {
        let location = model(&[bytes_field(5, &varint_field(14, 1))], &[]);
        assert!(why(&location).contains("external files"));
        let entry = bytes_field(13, &bytes_field(1, b"location"));
        let listed = model(&[bytes_field(5, &entry)], &[]);
        assert!(why(&listed).contains("external files"));
        // In a node's attribute (a Constant's value) too.
        let attr = bytes_field(5, &bytes_field(5, &varint_field(14, 1)));
        let mut constant = node("Constant", "");
        constant.extend(attr);
        assert!(why(&model(&[bytes_field(1, &constant)], &[])).contains("external files"));
        // A sparse initializer's values.
        let sparse = bytes_field(15, &bytes_field(1, &varint_field(14, 1)));
        assert!(why(&model(&[sparse], &[])).contains("external files"));
    }

    #[test]
    fn custom_operator_domains_are_refused() {
        let opset = bytes_field(8, &bytes_field(1, b"com.example.evil"));
        assert!(why(&model(&[], &[opset])).contains("'com.example.evil'"));
        let custom = bytes_field(1, &node("Exec", "com.example.evil"));
        let w = why(&model(&[custom], &[]));
        assert!(
            w.contains("'Exec'") && w.contains("custom operators"),
            "{w}"
        );
        let functions = bytes_field(25, &bytes_field(1, b"MyOp"));
        assert!(why(&model(&[], &[functions])).contains("functions"));
        let training = bytes_field(20, b"");
        assert!(why(&model(&[], &[training])).contains("training"));
    }

    #[test]
    fn operators_outside_the_allow_list_are_refused() {
        for op in ["RandomNormal", "If", "Loop", "StringNormalizer", ""] {
            let w = why(&model(&[bytes_field(1, &node(op, ""))], &[]));
            assert!(w.contains(&format!("'{op}'")), "{op}: {w}");
        }
    }

    #[test]
    fn deep_nesting_and_too_many_nodes_are_refused_without_overflowing() {
        // A subgraph in an attribute, nested 10,000 deep: refused at MAX_DEPTH, no stack overflow.
        let mut graph = Vec::new();
        for _ in 0..10_000 {
            let mut n = node("MatMul", "");
            n.extend(bytes_field(5, &bytes_field(6, &graph)));
            graph = bytes_field(1, &n);
        }
        assert!(why(&model(&[graph], &[])).contains("deep"));
        let many = vec![bytes_field(1, &node("Add", "")); MAX_NODES + 1];
        assert!(why(&model(&many, &[])).contains("nodes"));
    }

    #[test]
    fn damaged_bytes_are_refused_as_not_a_model() {
        let good = model(&[bytes_field(1, &node("Add", ""))], &[]);
        for cut in 1..good.len() {
            // Every truncation is refused or (where it cuts between fields) vetted; none panics.
            let _ = vet(&good[..cut]);
        }
        assert!(why(b"").contains("not a well-formed"), "no graph");
        assert!(why(b"\xff\xff\xff").contains("not a well-formed"));
        assert!(why(&[0x0b]).contains("not a well-formed"), "a group");
        let mut lying = Vec::new();
        varint(7 << 3 | 2, &mut lying);
        varint(u64::MAX >> 1, &mut lying);
        assert!(
            why(&lying).contains("not a well-formed"),
            "a length past the end"
        );
        let twice = [
            good.clone(),
            bytes_field(7, &bytes_field(1, &node("Add", ""))),
        ]
        .concat();
        assert!(why(&twice).contains("not a well-formed"), "two graphs");
    }
}
