//! `layer.Dropout` / `layer.Dropout2d`: dropout whose mask is drawn on the first step of a
//! simulation and kept for every time step until `reset()` (inventory §2.4.3, checklist 88-89).
use crate::base::{check_dims, check_float, Module, StepMode};
use crate::error::{Result, SjError};
use std::fmt::Debug;
use std::marker::PhantomData;
use tch::Tensor;

/// How a [`MaskedDropout`] draws its mask from a tensor of ones shaped like one time step.
pub trait DropoutMask: Debug + Send + 'static {
    /// The SpikingJelly class name.
    const NAME: &'static str;
    /// SpikingJelly's default `p`.
    const DEFAULT_P: f64;
    /// The number of dimensions one time step must have (`None`: at least one).
    const STEP_DIMS: Option<usize>;
    /// The shape one step must have, for error messages.
    const STEP_SHAPE: &'static str;
    /// Draws the mask (`F.dropout` / `F.dropout2d` of `ones` in training mode).
    fn sample(ones: &Tensor, p: f64) -> Tensor;
}

/// Element-wise mask (`F.dropout`), used by [`Dropout`].
#[derive(Debug)]
pub struct ElementMask;

/// Channel-wise mask (`F.dropout2d`), used by [`Dropout2d`].
#[derive(Debug)]
pub struct ChannelMask;

impl DropoutMask for ElementMask {
    const NAME: &'static str = "Dropout";
    const DEFAULT_P: f64 = 0.5;
    const STEP_DIMS: Option<usize> = None;
    const STEP_SHAPE: &'static str = "[N, *]";
    fn sample(ones: &Tensor, p: f64) -> Tensor {
        ones.dropout(p, true)
    }
}

impl DropoutMask for ChannelMask {
    const NAME: &'static str = "Dropout2d";
    const DEFAULT_P: f64 = 0.2;
    const STEP_DIMS: Option<usize> = Some(4);
    const STEP_SHAPE: &'static str = "[N, C, H, W]";
    fn sample(ones: &Tensor, p: f64) -> Tensor {
        ones.feature_dropout(p, true)
    }
}

/// SpikingJelly's SNN dropout: in training the mask (kept entries `1/(1−p)`, dropped ones 0) is
/// drawn on the first step and multiplies every step until [`Module::reset`]; in step mode `m`
/// it comes from `x_seq[0]` and broadcasts over `T`. Identity when not training.
#[derive(Debug)]
pub struct MaskedDropout<K: DropoutMask> {
    p: f64,
    mask: Option<Tensor>,
    training: bool,
    step_mode: StepMode,
    kind: PhantomData<K>,
}

/// `Dropout(p=0.5)`: an element-wise mask fixed for the whole simulation.
pub type Dropout = MaskedDropout<ElementMask>;
/// `Dropout2d(p=0.2)`: a channel-wise mask over `[N, C, H, W]` fixed for the whole simulation.
pub type Dropout2d = MaskedDropout<ChannelMask>;

impl<K: DropoutMask> Default for MaskedDropout<K> {
    fn default() -> Self {
        MaskedDropout {
            p: K::DEFAULT_P,
            mask: None,
            training: true,
            step_mode: StepMode::S,
            kind: PhantomData,
        }
    }
}

impl<K: DropoutMask> MaskedDropout<K> {
    /// `Dropout(p)` / `Dropout2d(p)`, in training mode; errors unless `0 ≤ p < 1`.
    pub fn new(p: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(SjError::config(
                K::NAME,
                format!("p must satisfy 0 <= p < 1, got {p}"),
            ));
        }
        Ok(MaskedDropout {
            p,
            ..Self::default()
        })
    }

    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    /// The drop probability.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// The current mask (`None` before the first training step and after `reset()`).
    pub fn mask(&self) -> Option<&Tensor> {
        self.mask.as_ref()
    }

    /// The mask for a step shaped like `step`: drawn now if there is none, else checked against it.
    fn mask_for(&mut self, step: &Tensor) -> Result<Tensor> {
        let step_ok = match K::STEP_DIMS {
            Some(d) => step.dim() == d,
            None => step.dim() >= 1,
        };
        if !step_ok {
            let expected = if self.step_mode == StepMode::M {
                format!("[T, {}", &K::STEP_SHAPE[1..])
            } else {
                K::STEP_SHAPE.into()
            };
            return Err(SjError::Shape {
                module: K::NAME.into(),
                expected,
                got: step.size(),
            });
        }
        match &self.mask {
            Some(mask) if mask.size() != step.size() => Err(SjError::StaleState {
                module: K::NAME.into(),
                state: mask.size(),
                input: step.size(),
            }),
            Some(mask) => Ok(mask.shallow_clone()),
            None => {
                let mask = K::sample(&step.detach().ones_like(), self.p);
                self.mask = Some(mask.shallow_clone());
                Ok(mask)
            }
        }
    }
}

impl<K: DropoutMask> Module for MaskedDropout<K> {
    fn type_name(&self) -> &'static str {
        K::NAME
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        check_float(K::NAME, x)?;
        if !self.training {
            return Ok(x.shallow_clone());
        }
        let first_step = match self.step_mode {
            StepMode::S => x.shallow_clone(),
            StepMode::M => {
                check_dims(K::NAME, x, 2, "[T, N, *] in step mode 'm'")?;
                x.get(0)
            }
        };
        Ok(x * self.mask_for(&first_step)?)
    }
    crate::memory_module! {
        step_mode: step_mode,
        memories: { "mask": mask = None },
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn extra_repr(&self) -> String {
        format!("p={:?}", self.p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functional::reset_net;
    use tch::{Device, Kind};

    fn ones(shape: &[i64]) -> Tensor {
        Tensor::ones(shape, (Kind::Float, Device::Cpu))
    }

    #[test]
    fn mask_is_fixed_over_steps_until_reset_and_scaled_checklist_88() {
        tch::manual_seed(0);
        let mut d = Dropout::new(0.5).unwrap();
        assert!(d.mask().is_none());
        let x = Tensor::rand([4, 64], (Kind::Float, Device::Cpu)) + 0.5;
        let y0 = d.forward(&x).unwrap();
        let mask = d.mask().unwrap().shallow_clone();
        // kept entries are 1/(1-p) = 2, dropped ones 0, and the output is x * mask
        let kept = mask.eq(2.0).sum(Kind::Int64).int64_value(&[]);
        let dropped = mask.eq(0.0).sum(Kind::Int64).int64_value(&[]);
        assert_eq!(kept + dropped, 256);
        assert!(kept > 64 && dropped > 64, "kept {kept}, dropped {dropped}");
        assert!(y0.equal(&(&x * &mask)));
        // the same mask on every later step, even for other inputs
        for _ in 0..3 {
            let y = d.forward(&ones(&[4, 64])).unwrap();
            assert!(y.equal(&mask));
        }
        reset_net(&mut d);
        assert!(d.mask().is_none());
        let y = d.forward(&ones(&[4, 64])).unwrap();
        assert!(!y.equal(&mask), "a new mask after reset");
    }

    #[test]
    fn multi_step_mask_broadcasts_over_t_and_matches_single_step() {
        tch::manual_seed(1);
        let mut d = Dropout::new(0.25).unwrap().with_step_mode(StepMode::M);
        let y = d.forward(&ones(&[5, 3, 8])).unwrap();
        assert_eq!(d.mask().unwrap().size(), vec![3, 8]);
        for t in 1..5 {
            assert!(y.get(t).equal(&y.get(0)));
        }
        // every entry is 0 or 1/(1-0.25), and both occur
        let kept = (&y - 1.0 / 0.75).abs().lt(1e-6);
        assert!(
            kept.logical_or(&y.eq(0.0)).all().int64_value(&[]) == 1,
            "{y}"
        );
        assert!(kept.any().int64_value(&[]) == 1 && y.eq(0.0).any().int64_value(&[]) == 1);
        // a second sequence before reset reuses the mask
        assert!(d
            .forward(&(ones(&[2, 3, 8]) * 3.0))
            .unwrap()
            .get(1)
            .equal(&(y.get(0) * 3.0)));
    }

    #[test]
    fn dropout2d_zeroes_whole_channels_checklist_89() {
        tch::manual_seed(2);
        let mut d = Dropout2d::default();
        assert_eq!(d.p(), 0.2);
        let y = d.forward(&ones(&[4, 16, 3, 3])).unwrap();
        let per_channel = y.flatten(2, 3);
        // every channel is constant: all 0 or all 1/(1-0.2) = 1.25
        let max = per_channel.amax(&[2i64][..], false);
        let min = per_channel.amin(&[2i64][..], false);
        assert!(max.equal(&min));
        assert!(max.eq(0.0).logical_or(&max.eq(1.25)).all().int64_value(&[]) == 1);
        assert!(max.eq(0.0).any().int64_value(&[]) == 1);
        assert!(d
            .forward(&(ones(&[4, 16, 3, 3]) * 2.0))
            .unwrap()
            .equal(&(y * 2.0)));
    }

    #[test]
    fn eval_is_identity_and_bad_inputs_are_errors() {
        let mut d = Dropout::new(0.9).unwrap();
        d.set_training(false);
        let x = Tensor::rand([3, 7], (Kind::Float, Device::Cpu));
        assert!(d.forward(&x).unwrap().equal(&x));
        assert!(d.mask().is_none());
        assert_eq!(d.extra_repr(), "p=0.9");
        for p in [-0.1, 1.0, f64::NAN] {
            let err = Dropout::new(p).unwrap_err().to_string();
            assert!(
                err.contains("Dropout") && err.contains("0 <= p < 1"),
                "{err}"
            );
        }
        let err = Dropout2d::new(0.2)
            .unwrap()
            .forward(&ones(&[4, 3]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Dropout2d") && err.contains("[N, C, H, W]"),
            "{err}"
        );
        let mut d = Dropout::new(0.5).unwrap();
        let _ = d.forward(&ones(&[2, 3])).unwrap();
        let err = d.forward(&ones(&[4, 3])).unwrap_err().to_string();
        assert!(err.contains("reset_net"), "{err}");
    }
}
