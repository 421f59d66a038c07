//! `layer.VotingLayer`: average pooling with kernel = stride = `voting_size` over the last
//! dimension, `[…, C·voting_size] → […, C]` (inventory §2.4.3, checklist 98).
use crate::base::{check_dims, check_float, Module, StepMode};
use crate::error::{Result, SjError};
use crate::functional::seq_to_ann_forward;
use tch::Tensor;

/// `VotingLayer(voting_size=10)`: each output class is the mean of its `voting_size` neurons.
#[derive(Debug)]
pub struct VotingLayer {
    voting_size: i64,
    step_mode: StepMode,
}

impl Default for VotingLayer {
    fn default() -> Self {
        VotingLayer {
            voting_size: 10,
            step_mode: StepMode::S,
        }
    }
}

impl VotingLayer {
    /// `VotingLayer(voting_size)`; errors unless `voting_size ≥ 1`.
    pub fn new(voting_size: i64) -> Result<Self> {
        if voting_size < 1 {
            return Err(SjError::config(
                "VotingLayer",
                format!("voting_size must be >= 1, got {voting_size}"),
            ));
        }
        Ok(VotingLayer {
            voting_size,
            ..Self::default()
        })
    }

    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    /// The pooling window.
    pub fn voting_size(&self) -> i64 {
        self.voting_size
    }

    fn single_step_forward(&self, x: &Tensor) -> Result<Tensor> {
        let v = self.voting_size;
        let last = x.size().last().copied().unwrap_or(0);
        if last % v != 0 {
            return Err(SjError::Shape {
                module: "VotingLayer".into(),
                expected: format!("[..., L] with L divisible by voting_size={v}"),
                got: x.size(),
            });
        }
        let mut shape = x.size();
        shape.pop();
        shape.extend([last / v, v]);
        Ok(x.reshape(shape.as_slice())
            .mean_dim(&[-1i64][..], false, x.kind()))
    }
}

impl Module for VotingLayer {
    fn type_name(&self) -> &'static str {
        "VotingLayer"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        crate::error::torch_guard("VotingLayer", || {
            check_float("VotingLayer", x)?;
            match self.step_mode {
                StepMode::S => {
                    check_dims("VotingLayer", x, 1, "[N, *, C·voting_size]")?;
                    self.single_step_forward(x)
                }
                StepMode::M => {
                    seq_to_ann_forward("VotingLayer", x, |y| self.single_step_forward(y))
                }
            }
        })
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn extra_repr(&self) -> String {
        format!(
            "voting_size={}, step_mode={}",
            self.voting_size, self.step_mode
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn averages_groups_of_voting_size_checklist_98() {
        let x = Tensor::from_slice(&[
            1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0,
        ])
        .view([2, 6]);
        let mut v = VotingLayer::new(3).unwrap();
        let y = v.forward(&x).unwrap();
        let want = Tensor::from_slice(&[1.0f32 / 3.0, 1.0, 0.0, 2.0 / 3.0]).view([2, 2]);
        assert!(y.allclose(&want, 1e-6, 1e-7, false), "{y}");
        // step mode m: the same per time step, [T, N, 6] -> [T, N, 2]
        let mut v = VotingLayer::new(3).unwrap().with_step_mode(StepMode::M);
        let y_m = v.forward(&Tensor::stack(&[&x, &(&x * 2.0)], 0)).unwrap();
        assert_eq!(y_m.size(), vec![2, 2, 2]);
        assert!(y_m.get(1).allclose(&(want * 2.0), 1e-6, 1e-7, false));
        assert_eq!(v.extra_repr(), "voting_size=3, step_mode=m");
        assert_eq!(VotingLayer::default().voting_size(), 10);
    }

    #[test]
    fn indivisible_last_dim_and_bad_size_are_errors() {
        let err = VotingLayer::default()
            .forward(&Tensor::zeros([2, 15], (Kind::Float, Device::Cpu)))
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("VotingLayer")
                && msg.contains("voting_size=10")
                && msg.contains("[2, 15]"),
            "{msg}"
        );
        assert!(VotingLayer::new(0).is_err());
    }
}
