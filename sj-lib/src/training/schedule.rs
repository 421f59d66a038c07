//! Learning-rate schedules stepped once per epoch (`torch.optim.lr_scheduler`), as closed forms
//! of the epoch so that a resumed run gets the same rates.
use crate::error::{Result, SjError};
use std::f64::consts::PI;

/// The learning rate of each epoch as a function of the base rate.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// `ExponentialLR(gamma)`: `lr·gamma^epoch`.
    Exponential {
        /// Decay factor per epoch.
        gamma: f64,
    },
}

/// How the rate rises during a warm-up (`--lr-warmup-method` of SpikingJelly's Trainer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WarmupMethod {
    /// `LinearLR(start_factor=decay, total_iters=epochs)`: the factor rises linearly from `decay`
    /// to 1 over the warm-up epochs.
    Linear,
    /// `ConstantLR(factor=decay, total_iters=epochs)`: the factor is `decay` during the warm-up.
    Constant,
}

/// A warm-up before a schedule, as `SequentialLR([warmup, main], milestones=[epochs])` chains them:
/// the main schedule starts counting its epochs at the end of the warm-up.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Warmup {
    /// `linear` or `constant`.
    pub method: WarmupMethod,
    /// Warm-up epochs (`--lr-warmup-epochs`).
    pub epochs: usize,
    /// The starting factor (`--lr-warmup-decay`), in (0, 1].
    pub decay: f64,
}

impl Warmup {
    /// The rate of `epoch` with this warm-up before `main`.
    pub fn lr(&self, main: &LrSchedule, base_lr: f64, epoch: usize) -> Result<f64> {
        if !(self.decay > 0.0 && self.decay <= 1.0) || self.epochs == 0 {
            return Err(SjError::config(
                "Warmup",
                format!(
                    "needs epochs >= 1 and a decay in (0, 1], got epochs {} and decay {}",
                    self.epochs, self.decay
                ),
            ));
        }
        if epoch >= self.epochs {
            return main.lr(base_lr, epoch - self.epochs);
        }
        let factor = match self.method {
            WarmupMethod::Linear => {
                self.decay + (1.0 - self.decay) * epoch as f64 / self.epochs as f64
            }
            WarmupMethod::Constant => self.decay,
        };
        // The warm-up scales the main schedule's first rate, as SequentialLR's first scheduler
        // sees the base rate.
        Ok(main.lr(base_lr, 0)? * factor)
    }
}

impl LrSchedule {
    /// `StepLR(step_size, gamma)`; `step_size` must be at least 1 and `gamma` finite and > 0.
    pub fn step(step_size: usize, gamma: f64) -> Result<Self> {
        let schedule = LrSchedule::Step { step_size, gamma };
        schedule.validate()?;
        Ok(schedule)
    }

    /// `CosineAnnealingLR(T_max, eta_min=0)`; `t_max` must be at least 1.
    pub fn cosine(t_max: usize) -> Result<Self> {
        let schedule = LrSchedule::Cosine {
            t_max,
            eta_min: 0.0,
        };
        schedule.validate()?;
        Ok(schedule)
    }

    /// `ExponentialLR(gamma)`; `gamma` must be finite and > 0.
    pub fn exponential(gamma: f64) -> Result<Self> {
        let schedule = LrSchedule::Exponential { gamma };
        schedule.validate()?;
        Ok(schedule)
    }

    /// The PyTorch class name, for errors.
    fn name(&self) -> &'static str {
        match self {
            LrSchedule::Constant => "LrSchedule::Constant",
            LrSchedule::Step { .. } => "StepLR",
            LrSchedule::Cosine { .. } => "CosineAnnealingLR",
            LrSchedule::Exponential { .. } => "ExponentialLR",
        }
    }

    /// Checks the parameters (also of a schedule built from the variants' public fields).
    fn validate(&self) -> Result<()> {
        let problem = match *self {
            LrSchedule::Constant => None,
            LrSchedule::Step { step_size: 0, .. } => {
                Some("step_size must be at least 1".to_string())
            }
            LrSchedule::Step { gamma, .. } | LrSchedule::Exponential { gamma } => {
                (!(gamma.is_finite() && gamma > 0.0))
                    .then(|| format!("gamma must be finite and > 0, got {gamma}"))
            }
            LrSchedule::Cosine { t_max: 0, .. } => Some("T_max must be at least 1".to_string()),
            LrSchedule::Cosine { eta_min, .. } => (!(eta_min.is_finite() && eta_min >= 0.0))
                .then(|| format!("eta_min must be finite and >= 0, got {eta_min}")),
        };
        problem.map_or(Ok(()), |message| Err(SjError::config(self.name(), message)))
    }

    /// The rate of epoch `epoch` (0-based) for base rate `base_lr`. Errors on invalid parameters,
    /// a base rate that is not finite and >= 0, and a rate that leaves the finite values (e.g. a
    /// `gamma > 1` grown to infinity).
    pub fn lr(&self, base_lr: f64, epoch: usize) -> Result<f64> {
        self.validate()?;
        if !(base_lr.is_finite() && base_lr >= 0.0) {
            return Err(SjError::config(
                self.name(),
                format!("the base learning rate must be finite and >= 0, got {base_lr}"),
            ));
        }
        let lr = match *self {
            LrSchedule::Constant => base_lr,
            LrSchedule::Step { step_size, gamma } => {
                // gamma^(2^31 - 1) is 0 or infinite for every gamma != 1, as a larger power is.
                let decays = i32::try_from(epoch / step_size).unwrap_or(i32::MAX);
                base_lr * gamma.powi(decays)
            }
            LrSchedule::Cosine { t_max, eta_min } => {
                eta_min
                    + (base_lr - eta_min) * (1.0 + (PI * epoch as f64 / t_max as f64).cos()) / 2.0
            }
            LrSchedule::Exponential { gamma } => {
                base_lr * gamma.powi(i32::try_from(epoch).unwrap_or(i32::MAX))
            }
        };
        if !lr.is_finite() {
            return Err(SjError::config(
                self.name(),
                format!("the learning rate of epoch {epoch} is {lr} (base {base_lr}, {self:?}); use a schedule that stays finite"),
            ));
        }
        Ok(lr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_and_cosine_values() {
        let step = LrSchedule::step(2, 0.1).unwrap();
        let rates: Vec<f64> = (0..5).map(|e| step.lr(1.0, e).unwrap()).collect();
        assert_eq!(rates, vec![1.0, 1.0, 0.1, 0.1, 0.1 * 0.1]);
        // cos(π/4) = 0.7071: (1 + 0.7071)/2 = 0.8536; cos(3π/4): 0.1464
        let cos = LrSchedule::cosine(4).unwrap();
        let rates: Vec<f64> = (0..=4).map(|e| cos.lr(0.1, e).unwrap()).collect();
        let expected = [0.1, 0.085355339, 0.05, 0.014644661, 0.0];
        for (r, e) in rates.iter().zip(expected) {
            assert!((r - e).abs() < 1e-9, "{rates:?}");
        }
        assert_eq!(LrSchedule::Constant.lr(0.3, 9).unwrap(), 0.3);
        assert!(LrSchedule::step(0, 0.1).is_err() && LrSchedule::cosine(0).is_err());
        assert!(LrSchedule::exponential(0.0).is_err());
    }

    #[test]
    fn warmup_then_schedule_as_sequential_lr() {
        // SpikingJelly's defaults: 5 linear warm-up epochs from 0.01, then cosine over the rest.
        let warmup = Warmup {
            method: WarmupMethod::Linear,
            epochs: 5,
            decay: 0.01,
        };
        let cos = LrSchedule::cosine(10).unwrap();
        let rates: Vec<f64> = (0..16).map(|e| warmup.lr(&cos, 0.1, e).unwrap()).collect();
        // LinearLR: factor 0.01 + 0.99·e/5 for e < 5.
        for (e, want) in [0.001, 0.0208, 0.0406, 0.0604, 0.0802].iter().enumerate() {
            assert!((rates[e] - want).abs() < 1e-12, "{e}: {rates:?}");
        }
        // Then CosineAnnealingLR(T_max=10) from its epoch 0: 0.1, 0.0976, ..., 0 at epoch 15.
        assert_eq!(rates[5], 0.1);
        assert!((rates[6] - 0.05 * (1.0 + (PI / 10.0).cos())).abs() < 1e-12);
        assert!(rates[15].abs() < 1e-12);
        let constant = Warmup {
            method: WarmupMethod::Constant,
            ..warmup
        };
        let exp = LrSchedule::exponential(0.5).unwrap();
        let rates: Vec<f64> = (0..7).map(|e| constant.lr(&exp, 1.0, e).unwrap()).collect();
        assert_eq!(rates, [0.01, 0.01, 0.01, 0.01, 0.01, 1.0, 0.5]);
        let bad = Warmup {
            decay: 0.0,
            ..warmup
        };
        assert!(bad.lr(&cos, 0.1, 0).is_err());
    }
}
