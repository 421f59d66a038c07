//! `layer.NeuNorm` from "Direct Training for Spiking Neural Networks: Faster, Larger, Better"
//! (inventory §2.4.3, checklist 87).
use crate::base::{check_float, variable, Memory, Module, NamedTensor, StepMode};
use crate::error::{Result, SjError};
use crate::functional::step_by_step;
use tch::{nn, Tensor};

/// `NeuNorm(in_channels, height, width, k=0.9, shared_across_channels=False)`: placed after the
/// neurons that follow a conv. Memory `x`: `x = k0·x + k1·Σ_c in` (`[N, 1, H, W]`), with
/// `k0 = k`, `k1 = (1 − k0)/C²`; the output is `in − w·x` with a learnable `w`.
#[derive(Debug)]
pub struct NeuNorm {
    k0: f64,
    k1: f64,
    w: Tensor,
    in_channels: i64,
    height: i64,
    width: i64,
    x: Memory,
    step_mode: StepMode,
}

impl NeuNorm {
    /// `NeuNorm(in_channels, height, width, k=0.9)`: registers `w` `[C, H, W]` under `path`,
    /// initialised like `kaiming_uniform_(a=√5)`, i.e. `U(−1/√(H·W), 1/√(H·W))`.
    pub fn new(path: &nn::Path, in_channels: i64, height: i64, width: i64) -> Result<Self> {
        Self::with_options(path, in_channels, height, width, 0.9, false)
    }

    /// `NeuNorm(in_channels, height, width, k, shared_across_channels)`; `w` is `[1, H, W]` when shared.
    pub fn with_options(
        path: &nn::Path,
        in_channels: i64,
        height: i64,
        width: i64,
        k: f64,
        shared_across_channels: bool,
    ) -> Result<Self> {
        if in_channels < 1 || height < 1 || width < 1 {
            return Err(SjError::config(
                "NeuNorm",
                format!("in_channels, height and width must be >= 1, got {in_channels}, {height}, {width}"),
            ));
        }
        let bound = 1.0 / ((height * width) as f64).sqrt();
        let channels = if shared_across_channels {
            1
        } else {
            in_channels
        };
        let w = variable(
            "NeuNorm",
            path,
            "w",
            &[channels, height, width],
            nn::Init::Uniform {
                lo: -bound,
                up: bound,
            },
        )?;
        let k1 = (1.0 - k) / (in_channels * in_channels) as f64;
        Ok(NeuNorm {
            k0: k,
            k1,
            w,
            in_channels,
            height,
            width,
            x: Memory::Float(0.0),
            step_mode: StepMode::S,
        })
    }

    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    /// The learnable `w`, `[C, H, W]` (or `[1, H, W]` when shared across channels).
    pub fn w(&self) -> &Tensor {
        &self.w
    }

    /// The memory `x` (`None` until the first step and after `reset()`).
    pub fn x(&self) -> Option<&Tensor> {
        self.x.tensor()
    }

    fn single_step_forward(&mut self, in_spikes: &Tensor) -> Result<Tensor> {
        let (h, w) = (self.height, self.width);
        let size = in_spikes.size();
        if size.len() != 4 || size[1] != self.in_channels || size[2] != h || size[3] != w {
            let lead = if self.step_mode == StepMode::M {
                "[T, N, "
            } else {
                "[N, "
            };
            return Err(SjError::Shape {
                module: "NeuNorm".into(),
                expected: format!("{lead}{}, {h}, {w}]", self.in_channels),
                got: size,
            });
        }
        let sum = in_spikes.sum_dim_intlist(&[1i64][..], true, in_spikes.kind());
        let x = self.x.to_tensor_like("NeuNorm", &sum)? * self.k0 + sum * self.k1;
        self.x = Memory::Tensor(x.shallow_clone());
        Ok(in_spikes - &self.w * x)
    }
}

impl Module for NeuNorm {
    fn type_name(&self) -> &'static str {
        "NeuNorm"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        crate::error::torch_guard("NeuNorm", || {
            check_float("NeuNorm", x)?;
            match self.step_mode {
                StepMode::S => self.single_step_forward(x),
                StepMode::M => step_by_step("NeuNorm", x, |x_t| self.single_step_forward(x_t)),
            }
        })
    }
    crate::memory_module! {
        step_mode: step_mode,
        memories: { "x": x = Memory::Float(0.0) },
    }
    fn named_tensors(&self) -> Vec<NamedTensor> {
        vec![("w".into(), self.w.shallow_clone())]
    }
    fn extra_repr(&self) -> String {
        format!("shape=torch.Size({:?})", self.w.size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functional::reset_net;
    use tch::{Device, Kind};

    #[test]
    fn hand_computed_output_checklist_87() {
        let vs = nn::VarStore::new(Device::Cpu);
        // C = 2, H = 1, W = 2, k = 0.5: k1 = 0.5 / 4 = 0.125
        let mut n = NeuNorm::with_options(&vs.root(), 2, 1, 2, 0.5, false).unwrap();
        tch::no_grad(|| {
            n.w()
                .shallow_clone()
                .copy_(&Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).view([2, 1, 2]))
        });
        let s1 = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 1.0]).view([1, 2, 1, 2]);
        // x = 0.125 * [2, 1]; out = s - w * x
        let y1 = n.forward(&s1).unwrap();
        let want1 = Tensor::from_slice(&[1.0f32 - 0.25, 0.0 - 0.25, 1.0 - 0.75, 1.0 - 0.5])
            .view([1, 2, 1, 2]);
        assert!(y1.allclose(&want1, 1e-6, 1e-7, false), "{y1}");
        // s2 sums to [2, 0]: x = 0.5 * [0.25, 0.125] + 0.125 * [2, 0] = [0.375, 0.0625]
        let s2 = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 0.0]).view([1, 2, 1, 2]);
        let y2 = n.forward(&s2).unwrap();
        let x2 = Tensor::from_slice(&[0.375f32, 0.0625]).view([1, 1, 1, 2]);
        assert!(
            n.x().unwrap().allclose(&x2, 1e-6, 1e-7, false),
            "{}",
            n.x().unwrap()
        );
        let want2 = Tensor::from_slice(&[0.625f32, -0.125, -0.125, -0.25]).view([1, 2, 1, 2]);
        assert!(y2.allclose(&want2, 1e-6, 1e-7, false), "{y2}");
        // step mode m gives the same sequence
        reset_net(&mut n);
        n.set_step_mode(StepMode::M).unwrap();
        let y = n.forward(&Tensor::stack(&[&s1, &s2], 0)).unwrap();
        assert!(
            y.get(0).allclose(&y1, 1e-6, 1e-7, false) && y.get(1).allclose(&y2, 1e-6, 1e-7, false)
        );
    }

    #[test]
    fn init_shapes_and_errors() {
        let vs = nn::VarStore::new(Device::Cpu);
        let n = NeuNorm::new(&(vs.root() / "a"), 3, 4, 4).unwrap();
        assert_eq!(n.extra_repr(), "shape=torch.Size([3, 4, 4])");
        assert!(
            n.w().abs().max().double_value(&[]) <= 0.25,
            "bound 1/sqrt(16)"
        );
        let mut s = NeuNorm::with_options(&(vs.root() / "b"), 3, 4, 4, 0.9, true).unwrap();
        assert_eq!(s.w().size(), vec![1, 4, 4]);
        let err = s
            .forward(&Tensor::ones([2, 2, 4, 4], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("NeuNorm") && err.contains("[N, 3, 4, 4]"),
            "{err}"
        );
        assert!(NeuNorm::new(&vs.root(), 0, 4, 4).is_err());
    }
}
