//! `ann2snn.modules`: the `VoltageHook` that records an activation scale during calibration and the
//! `VoltageScaler` pair that surrounds each IF neuron of the converted network.
use super::Mode;
use crate::base::{Module, StepMode};
use crate::error::{op_error, Result, SjError};
use tch::{Kind, Tensor};

/// Errors unless `momentum` (of the hooks' running scale) is in [0, 1].
pub(super) fn check_momentum(momentum: f64) -> Result<()> {
    if (0.0..=1.0).contains(&momentum) {
        Ok(())
    } else {
        Err(SjError::config(
            "VoltageHook",
            format!("momentum={momentum} must be in [0, 1]"),
        ))
    }
}

/// `VoltageHook(scale=1.0, momentum=0.1, mode='Max')`: returns its input unchanged and records
/// the scale `s` of the activations it sees. Per batch, `s_t` is the max of the batch, its
/// percentile (`torch.quantile`'s linear interpolation over every element), or a fraction of the
/// max ([`Mode`]). The first batch sets `scale = s_t`, later ones `scale = (1 − m)·scale + m·s_t`
/// with the momentum `m`, in float32 as SpikingJelly does. It records in eval mode too (the
/// converter calibrates in eval mode, so that BatchNorm uses its running statistics).
#[derive(Debug)]
pub struct VoltageHook {
    scale: Tensor,
    mode: Mode,
    momentum: f64,
    num_batches_tracked: i64,
    step_mode: StepMode,
}

impl VoltageHook {
    /// A hook with `scale=1.0` and nothing tracked; `momentum` must be in [0, 1] and the mode's
    /// number in range.
    pub fn new(mode: Mode, momentum: f64) -> Result<Self> {
        check_momentum(momentum)?;
        let mode = mode.checked()?;
        Ok(VoltageHook {
            scale: Tensor::from(1.0f32),
            mode,
            momentum,
            num_batches_tracked: 0,
            step_mode: StepMode::S,
        })
    }

    /// The recorded scale (a float32 scalar tensor, the `scale` buffer).
    pub fn scale(&self) -> &Tensor {
        &self.scale
    }

    /// Samples seen so far (`num_batches_tracked` counts samples, as in SpikingJelly).
    pub fn num_batches_tracked(&self) -> i64 {
        self.num_batches_tracked
    }

    /// The statistic `s_t` of one batch.
    fn statistic(&self, x: &Tensor) -> Result<Tensor> {
        const M: &str = "VoltageHook";
        if x.numel() == 0 {
            return Err(SjError::Input {
                module: M.into(),
                expected: "a non-empty batch of activations".into(),
                got: format!("shape {:?}", x.size()),
            });
        }
        let x = x.detach();
        let max = || x.f_max().map_err(op_error(M));
        Ok(match self.mode {
            Mode::Max => max()?,
            Mode::Fraction(f) => max()? * f,
            Mode::Percentile(p) => {
                // torch.quantile(x, q): position q·(n−1) in the sorted values, interpolated
                // linearly between its neighbours (k-th values, so no size limit applies).
                let flat = x.to_kind(Kind::Float).flatten(0, -1);
                let n = flat.numel() as f64;
                let pos = p / 100.0 * (n - 1.0);
                let (lo, hi) = (pos.floor(), pos.ceil());
                let kth = |k: f64| -> Result<f64> {
                    let (v, _) = flat
                        .f_kthvalue(k as i64 + 1, 0, false)
                        .map_err(op_error(M))?;
                    Ok(v.double_value(&[]))
                };
                let (a, b) = (kth(lo)?, kth(hi)?);
                Tensor::from((a + (b - a) * (pos - lo)) as f32).to_kind(x.kind())
            }
        })
    }
}

impl Module for VoltageHook {
    fn type_name(&self) -> &'static str {
        "VoltageHook"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let s_t = self
            .statistic(x)?
            .to_kind(Kind::Float)
            .to_device(tch::Device::Cpu);
        self.scale = if self.num_batches_tracked == 0 {
            s_t
        } else {
            &self.scale * (1.0 - self.momentum) + s_t * self.momentum
        };
        self.num_batches_tracked += if x.dim() > 0 { x.size()[0] } else { 1 };
        Ok(x.shallow_clone())
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn extra_repr(&self) -> String {
        format!(
            "scale={:.6}, mode={}, momentum={}",
            self.scale.double_value(&[]),
            self.mode,
            self.momentum
        )
    }
    fn named_tensors(&self) -> Vec<crate::base::NamedTensor> {
        vec![("scale".into(), self.scale.shallow_clone())]
    }
}

/// `VoltageScaler(scale=1.0)`: `x·scale`, with `scale` a float32 buffer. Printed with the scale
/// as `'%f'`, e.g. `VoltageScaler(0.240048)`.
#[derive(Debug)]
pub struct VoltageScaler {
    scale: Tensor,
    step_mode: StepMode,
}

impl VoltageScaler {
    /// Multiplies by `scale` (stored as float32, as `torch.tensor(scale)` does).
    pub fn new(scale: f64) -> Self {
        VoltageScaler {
            scale: Tensor::from(scale as f32),
            step_mode: StepMode::S,
        }
    }

    /// The scale (a float32 scalar tensor).
    pub fn scale(&self) -> &Tensor {
        &self.scale
    }
}

impl Module for VoltageScaler {
    fn type_name(&self) -> &'static str {
        "VoltageScaler"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        crate::base::check_float("VoltageScaler", x)?;
        x.f_mul(&self.scale).map_err(op_error("VoltageScaler"))
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn extra_repr(&self) -> String {
        format!("{:.6}", self.scale.double_value(&[]))
    }
    fn named_tensors(&self) -> Vec<crate::base::NamedTensor> {
        vec![("scale".into(), self.scale.shallow_clone())]
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
