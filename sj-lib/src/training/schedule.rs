//! Learning-rate schedules stepped once per epoch (`torch.optim.lr_scheduler`), as closed forms
//! of the epoch so that a resumed run gets the same rates.
use crate::error::{Result, SjError};
use std::f64::consts::PI;

/// The learning rate of each epoch as a function of the base rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LrSchedule {
    /// The base rate throughout.
    Constant,
    /// `StepLR(step_size, gamma)`: `lr·gamma^⌊epoch/step_size⌋`.
    Step {
        /// Epochs between decays.
        step_size: usize,
        /// Decay factor.
        gamma: f64,
    },
    /// `CosineAnnealingLR(T_max, eta_min)`: `eta_min + (lr − eta_min)(1 + cos(π·epoch/T_max))/2`.
    Cosine {
        /// Epochs of the half period.
        t_max: usize,
        /// The final rate.
        eta_min: f64,
    },
}

impl LrSchedule {
    /// `StepLR(step_size, gamma)`; `step_size` must be at least 1.
    pub fn step(step_size: usize, gamma: f64) -> Result<Self> {
        if step_size == 0 {
            return Err(SjError::config("StepLR", "step_size must be at least 1"));
        }
        Ok(LrSchedule::Step { step_size, gamma })
    }

    /// `CosineAnnealingLR(T_max, eta_min=0)`; `t_max` must be at least 1.
    pub fn cosine(t_max: usize) -> Result<Self> {
        if t_max == 0 {
            return Err(SjError::config(
                "CosineAnnealingLR",
                "T_max must be at least 1",
            ));
        }
        Ok(LrSchedule::Cosine {
            t_max,
            eta_min: 0.0,
        })
    }

    /// The rate of epoch `epoch` (0-based) for base rate `base_lr`.
    pub fn lr(&self, base_lr: f64, epoch: usize) -> f64 {
        match *self {
            LrSchedule::Constant => base_lr,
            LrSchedule::Step { step_size, gamma } => {
                base_lr * gamma.powi((epoch / step_size) as i32)
            }
            LrSchedule::Cosine { t_max, eta_min } => {
                eta_min
                    + (base_lr - eta_min) * (1.0 + (PI * epoch as f64 / t_max as f64).cos()) / 2.0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_and_cosine_values() {
        let step = LrSchedule::step(2, 0.1).unwrap();
        let rates: Vec<f64> = (0..5).map(|e| step.lr(1.0, e)).collect();
        assert_eq!(rates, vec![1.0, 1.0, 0.1, 0.1, 0.1 * 0.1]);
        // cos(π/4) = 0.7071: (1 + 0.7071)/2 = 0.8536; cos(3π/4): 0.1464
        let cos = LrSchedule::cosine(4).unwrap();
        let rates: Vec<f64> = (0..=4).map(|e| cos.lr(0.1, e)).collect();
        let expected = [0.1, 0.085355339, 0.05, 0.014644661, 0.0];
        for (r, e) in rates.iter().zip(expected) {
            assert!((r - e).abs() < 1e-9, "{rates:?}");
        }
        assert_eq!(LrSchedule::Constant.lr(0.3, 9), 0.3);
        assert!(LrSchedule::step(0, 0.1).is_err() && LrSchedule::cosine(0).is_err());
    }
}
