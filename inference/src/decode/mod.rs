//! Decoding: the beat-time generator that continues a line note by note under the grammar, the
//! sampler, the steering (the musician's controls and the model's control vector) and the logit
//! shaping that backs them up. Worker thread (or tests).

pub mod calibration;
pub mod generator;
pub mod sampler;
pub mod shaping;
pub mod steering;
