//! `layer.Flatten`: flattens each sample (each time step's sample in step mode `m`).
use crate::base::{check_dims, Module, StepMode};
use crate::error::Result;
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
        match self.step_mode {
            StepMode::S => {
                check_dims("Flatten", x, 1, "[N, *]")?;
                Ok(x.flatten(s, e))
            }
            StepMode::M => seq_to_ann_forward("Flatten", x, |y| Ok(y.flatten(s, e))),
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
