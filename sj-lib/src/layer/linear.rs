//! `layer.Linear`: `y = x Wᵀ + b` over the last dimension, in either step mode.
use crate::base::{Module, NamedTensor, StepMode};
use crate::error::{Result, SjError};
use tch::{nn, Tensor};

/// A fully connected layer whose parameters are `weight` `[out, in]` and `bias` `[out]` under the
/// given path, as in a PyTorch `state_dict`. In step mode `m` the leading `[T, N]` broadcast.
#[derive(Debug)]
pub struct Linear {
    inner: nn::Linear,
    in_features: i64,
    out_features: i64,
    step_mode: StepMode,
}

impl Linear {
    /// `Linear(in_features, out_features, bias)` with PyTorch's initialisation.
    pub fn new(path: &nn::Path, in_features: i64, out_features: i64, bias: bool) -> Self {
        let config = nn::LinearConfig { bias, ..Default::default() };
        Linear { inner: nn::linear(path, in_features, out_features, config), in_features, out_features, step_mode: StepMode::S }
    }

    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    /// The weight `[out_features, in_features]`.
    pub fn weight(&self) -> &Tensor {
        &self.inner.ws
    }

    /// The bias, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.inner.bs.as_ref()
    }
}

impl Module for Linear {
    fn type_name(&self) -> &'static str {
        "Linear"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let min = if self.step_mode == StepMode::M { 3 } else { 2 };
        if x.dim() < min || x.size().last() != Some(&self.in_features) {
            let lead = if min == 3 { "[T, N, *, " } else { "[N, *, " };
            return Err(SjError::Shape { module: "Linear".into(), expected: format!("{lead}{}]", self.in_features), got: x.size() });
        }
        Ok(x.apply(&self.inner))
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn named_tensors(&self) -> Vec<NamedTensor> {
        let mut v = vec![("weight".to_string(), self.inner.ws.shallow_clone())];
        if let Some(b) = &self.inner.bs {
            v.push(("bias".to_string(), b.shallow_clone()));
        }
        v
    }
    fn extra_repr(&self) -> String {
        format!(
            "in_features={}, out_features={}, bias={}, step_mode={}",
            self.in_features,
            self.out_features,
            if self.inner.bs.is_some() { "True" } else { "False" },
            self.step_mode
        )
    }
}
