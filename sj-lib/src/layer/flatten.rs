//! `layer.Flatten`: flattens each sample (each time step's sample in step mode `m`).
use crate::base::{check_dims, Module, StepMode};
use crate::error::{op_error, Result};
use crate::functional::seq_to_ann_forward;
use tch::Tensor;

/// `Flatten(start_dim=1, end_dim=-1)`.
#[derive(Debug)]
pub struct Flatten {
    start_dim: i64,
    end_dim: i64,
    step_mode: StepMode,
}

impl Default for Flatten {
    fn default() -> Self {
        Flatten {
            start_dim: 1,
            end_dim: -1,
            step_mode: StepMode::S,
        }
    }
}

impl Flatten {
    /// `Flatten()` with `start_dim=1, end_dim=-1`.
    pub fn new() -> Self {
        Self::default()
    }

    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }
}

impl Module for Flatten {
    fn type_name(&self) -> &'static str {
        "Flatten"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let (s, e) = (self.start_dim, self.end_dim);
        let flatten = |y: &Tensor| y.f_flatten(s, e).map_err(op_error("Flatten"));
        match self.step_mode {
            StepMode::S => {
                check_dims(
                    "Flatten",
                    x,
                    2,
                    "[N, *] with at least 2 dimensions in step mode 's' (a batch of samples; \
                     for one sample use x.unsqueeze(0))",
                )?;
                flatten(x)
            }
            StepMode::M => {
                check_dims(
                    "Flatten",
                    x,
                    3,
                    "[T, N, *] with at least 3 dimensions in step mode 'm' (for a [N, *] batch \
                     use step mode 's', or repeat it over T time steps first)",
                )?;
                seq_to_ann_forward("Flatten", x, flatten)
            }
        }
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn extra_repr(&self) -> String {
        format!(
            "start_dim={}, end_dim={}, step_mode={}",
            self.start_dim, self.end_dim, self.step_mode
        )
    }
}
