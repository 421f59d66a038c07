//! `layer.Linear`: `y = x Wᵀ + b` over the last dimension, in either step mode.
use crate::base::{check_free_name, variable, Module, NamedTensor, StepMode};
use crate::error::{op_error, Result, SjError};
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
    /// `Linear(in_features, out_features, bias)` with PyTorch's initialisation: weight and bias
    /// uniform in `±1/sqrt(in_features)` (`kaiming_uniform_(a=sqrt(5))`). Errors on a negative size
    /// or when `path` already holds a `weight`.
    pub fn new(path: &nn::Path, in_features: i64, out_features: i64, bias: bool) -> Result<Self> {
        if in_features < 0 || out_features < 0 {
            return Err(SjError::config(
                "Linear",
                format!(
                    "in_features and out_features must be >= 0, got {in_features}, {out_features}"
                ),
            ));
        }
        let bound = 1.0 / (in_features.max(1) as f64).sqrt();
        let init = nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        check_free_name("Linear", path, "weight")?;
        // Bias first, then weight: tch's `nn::linear` order, so seeded weights stay the same.
        let bs = match bias {
            true => Some(variable("Linear", path, "bias", &[out_features], init)?),
            false => None,
        };
        let ws = variable("Linear", path, "weight", &[out_features, in_features], init)?;
        Ok(Linear {
            inner: nn::Linear { ws, bs },
            in_features,
            out_features,
            step_mode: StepMode::S,
        })
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
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
    fn type_name(&self) -> &'static str {
        "Linear"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        // Like torch's Linear (and SpikingJelly's in either step mode): any leading dims broadcast.
        if x.size().last() != Some(&self.in_features) {
            let lead = if self.step_mode == StepMode::M {
                "[T, N, *, "
            } else {
                "[N, *, "
            };
            return Err(SjError::Shape {
                module: "Linear".into(),
                expected: format!("{lead}{}]", self.in_features),
                got: x.size(),
            });
        }
        x.f_linear(&self.inner.ws, self.inner.bs.as_ref())
            .map_err(op_error("Linear"))
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
            if self.inner.bs.is_some() {
                "True"
            } else {
                "False"
            },
            self.step_mode
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn pytorch_initialisation_and_shape_errors() {
        let vs = nn::VarStore::new(Device::Cpu);
        tch::manual_seed(0);
        let mut fc = Linear::new(&vs.root(), 400, 300, true).unwrap();
        let w = fc.weight();
        // U(-1/20, 1/20): max |w| just under 0.05, std close to 0.05/sqrt(3).
        let max = w.abs().max().double_value(&[]);
        assert!(max <= 0.05 && max > 0.0499, "{max}");
        assert!((w.std(true).double_value(&[]) - 0.05 / 3f64.sqrt()).abs() < 5e-4);
        let y = fc
            .forward(&Tensor::ones([2, 400], (Kind::Float, Device::Cpu)))
            .unwrap();
        assert_eq!(y.size(), vec![2, 300]);
        fc.set_step_mode(StepMode::M).unwrap();
        assert_eq!(
            fc.forward(&Tensor::ones([5, 400], (Kind::Float, Device::Cpu)))
                .unwrap()
                .size(),
            vec![5, 300]
        );
        let err = fc
            .forward(&Tensor::ones([5, 400], (Kind::Double, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("Linear:"),
            "a dtype mismatch is an error, not a panic: {err}"
        );
        let err = fc
            .forward(&Tensor::ones([5, 2, 399], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[T, N, *, 400]") && err.contains("[5, 2, 399]"),
            "{err}"
        );
    }
}
