//! The training-time extras of SpikingJelly's `train_classify` (torchvision's classification
//! reference): `RandomMixup` / `RandomCutmix` on a batch, the model EMA
//! (`ExponentialMovingAverage`), and `clip_grad_norm_`.
//!
//! Mixup and cutmix draw from a [`SplitMix64`] seeded from the trainer's seed, the epoch and the
//! batch index, so a resumed run draws the same.
use crate::base::NamedTensor;
use crate::error::{Result, SjError};
use sj_datasets::shuffle::SplitMix64;
use tch::{nn, Kind, Tensor};

/// A uniform draw in [0, 1) (53 random bits).
fn uniform(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut SplitMix64) -> f64 {
    let u1 = 1.0 - uniform(rng); // (0, 1]
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A `Gamma(shape, 1)` draw (Marsaglia-Tsang; `shape < 1` through `Gamma(shape + 1)·U^(1/shape)`).
fn gamma(rng: &mut SplitMix64, shape: f64) -> f64 {
    if shape < 1.0 {
        let u = 1.0 - uniform(rng);
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = 1.0 - uniform(rng);
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// A `Beta(alpha, alpha)` draw: torchvision's `torch._sample_dirichlet([alpha, alpha])[0]`.
pub(crate) fn beta(rng: &mut SplitMix64, alpha: f64) -> f64 {
    let a = gamma(rng, alpha);
    let b = gamma(rng, alpha);
    if a + b > 0.0 {
        a / (a + b)
    } else {
        0.5
    }
}

/// What one batch gets: SpikingJelly applies `RandomChoice([RandomMixup, RandomCutmix])` with
/// `p = 1` to every training batch when `--mixup-alpha` / `--cutmix-alpha` are positive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mix {
    /// `x = λ·x + (1 − λ)·roll(x, 1)`, targets likewise.
    Mixup {
        /// The weight of the batch itself.
        lambda: f64,
    },
    /// The box `[y1, y2) × [x1, x2)` of every image is replaced by the rolled batch's; targets
    /// mix with `λ = 1 − box area / image area`.
    Cutmix {
        /// Rows `y1..y2` and columns `x1..x2` of the box.
        rows: (i64, i64),
        /// Columns.
        cols: (i64, i64),
    },
}

impl Mix {
    /// Draws the mix of one batch of `[h, w]` images: mixup or cutmix with equal probability
    /// when both alphas are positive, the one whose alpha is positive otherwise, `None` when
    /// both are 0.
    pub fn draw(
        rng: &mut SplitMix64,
        mixup_alpha: f64,
        cutmix_alpha: f64,
        h: i64,
        w: i64,
    ) -> Option<Mix> {
        let use_mixup = match (mixup_alpha > 0.0, cutmix_alpha > 0.0) {
            (false, false) => return None,
            (true, false) => true,
            (false, true) => false,
            (true, true) => rng.below(2) == 0,
        };
        if use_mixup {
            return Some(Mix::Mixup {
                lambda: beta(rng, mixup_alpha),
            });
        }
        let lambda = beta(rng, cutmix_alpha);
        let r_x = rng.below(w.max(1) as usize) as i64;
        let r_y = rng.below(h.max(1) as usize) as i64;
        let r = 0.5 * (1.0 - lambda).sqrt();
        let (r_w_half, r_h_half) = ((r * w as f64) as i64, (r * h as f64) as i64);
        Some(Mix::Cutmix {
            rows: ((r_y - r_h_half).max(0), (r_y + r_h_half).min(h)),
            cols: ((r_x - r_w_half).max(0), (r_x + r_w_half).min(w)),
        })
    }

    /// The weight of the batch's own targets.
    pub fn lambda(&self, h: i64, w: i64) -> f64 {
        match *self {
            Mix::Mixup { lambda } => lambda,
            Mix::Cutmix { rows, cols } => {
                1.0 - ((cols.1 - cols.0) * (rows.1 - rows.0)) as f64 / (w * h) as f64
            }
        }
    }

    /// Mixes images `x` `[N, ..., H, W]` with the batch rolled by one.
    pub fn mix_images(&self, x: &Tensor) -> Result<Tensor> {
        let size = x.size();
        if size.len() < 3 {
            return Err(SjError::Shape {
                module: "Mixup/Cutmix".into(),
                expected: "images [N, ..., H, W]".into(),
                got: size,
            });
        }
        let rolled = x.f_roll([1], [0])?;
        Ok(match *self {
            Mix::Mixup { lambda } => (x * lambda).f_add(&(rolled * (1.0 - lambda)))?,
            Mix::Cutmix { rows, cols } => {
                let out = x.copy();
                let d = size.len() as i64;
                let patch = |t: &Tensor| -> Result<Tensor> {
                    Ok(t.f_narrow(d - 2, rows.0, rows.1 - rows.0)?.f_narrow(
                        d - 1,
                        cols.0,
                        cols.1 - cols.0,
                    )?)
                };
                patch(&out)?.f_copy_(&patch(&rolled)?)?;
                out
            }
        })
    }

    /// Mixes soft targets `[N, classes]` of `[h, w]` images as [`Mix::mix_images`] mixed them.
    pub fn mix_targets(&self, target: &Tensor, h: i64, w: i64) -> Result<Tensor> {
        let lambda = self.lambda(h, w);
        let rolled = target.f_roll([1], [0])?;
        Ok((target * lambda).f_add(&(rolled * (1.0 - lambda)))?)
    }
}

/// torchvision's `ExponentialMovingAverage` (an `AveragedModel` over parameters and buffers):
/// every `steps` optimizer steps `ema = decay·ema + (1 − decay)·model` for floating-point tensors
/// (integer buffers are copied); the first update copies.
#[derive(Debug)]
pub struct ModelEma {
    steps: usize,
    decay: f64,
    n_averaged: i64,
    averaged: Vec<NamedTensor>,
}

impl ModelEma {
    /// An average of `vs`'s variables updated every `steps` steps with `decay`.
    pub fn new(vs: &nn::VarStore, steps: usize, decay: f64) -> Result<Self> {
        if steps == 0 || !(0.0..=1.0).contains(&decay) {
            return Err(SjError::config(
                "ModelEma",
                format!(
                    "needs steps >= 1 and decay in [0, 1], got steps {steps} and decay {decay}"
                ),
            ));
        }
        let mut averaged: Vec<NamedTensor> = vs
            .variables()
            .into_iter()
            .map(|(k, t)| (k, t.detach().copy()))
            .collect();
        averaged.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(ModelEma {
            steps,
            decay,
            n_averaged: 0,
            averaged,
        })
    }

    /// torchvision's reference: `alpha = min(1, (1 − decay)·world_size·batch_size·steps/epochs)`,
    /// and the average's decay is `1 − alpha`.
    pub fn adjusted_decay(
        decay: f64,
        world_size: usize,
        batch_size: usize,
        steps: usize,
        epochs: usize,
    ) -> f64 {
        let adjust = (world_size * batch_size * steps) as f64 / epochs.max(1) as f64;
        1.0 - ((1.0 - decay) * adjust).min(1.0)
    }

    /// Called after optimizer step number `step` (1-based, counted over the epoch): updates the
    /// average every `steps` steps from `vs`. During the learning-rate warm-up the count is reset
    /// after each update (torchvision's reference), so the average follows the model.
    pub fn after_step(&mut self, vs: &nn::VarStore, step: usize, in_warmup: bool) -> Result<()> {
        if step % self.steps != 0 {
            return Ok(());
        }
        let current = vs.variables();
        tch::no_grad(|| -> Result<()> {
            for (name, avg) in self.averaged.iter_mut() {
                let model = current.get(name).ok_or_else(|| {
                    SjError::config("ModelEma", format!("the model lost its variable '{name}'"))
                })?;
                if self.n_averaged == 0 || !avg.is_floating_point() {
                    avg.f_copy_(model)?;
                } else {
                    // ema + (1 − decay)(model − ema), as torch's lerp_ computes it.
                    let _ = avg.f_lerp_(model, 1.0 - self.decay)?;
                }
            }
            Ok(())
        })?;
        self.n_averaged += 1;
        if in_warmup {
            self.n_averaged = 0;
        }
        Ok(())
    }

    /// Swaps the average into `vs` (and the model's values into the average); calling it again
    /// swaps back. Evaluating between two calls tests the averaged model.
    pub fn swap(&mut self, vs: &nn::VarStore) -> Result<()> {
        let current = vs.variables();
        tch::no_grad(|| -> Result<()> {
            for (name, avg) in self.averaged.iter_mut() {
                if let Some(model) = current.get(name) {
                    let keep = model.detach().copy();
                    model.shallow_clone().f_copy_(avg)?;
                    avg.f_copy_(&keep)?;
                }
            }
            Ok(())
        })
    }

    /// The state for a checkpoint: `n_averaged` and the averaged tensors by variable name.
    pub fn state(&self) -> Vec<NamedTensor> {
        let mut out = vec![(
            "n_averaged".to_string(),
            Tensor::from_slice(&[self.n_averaged]),
        )];
        out.extend(self.averaged.iter().map(|(k, t)| (k.clone(), t.copy())));
        out
    }

    /// Restores [`ModelEma::state`]; errors on missing or mis-shaped entries.
    pub fn load_state(&mut self, state: &[NamedTensor]) -> Result<()> {
        let find = |name: &str| state.iter().find(|(k, _)| k == name).map(|(_, t)| t);
        let n = find("n_averaged")
            .and_then(super::count)
            .ok_or_else(|| SjError::config("ModelEma", "load_state: no 'n_averaged' count"))?;
        for (name, avg) in &self.averaged {
            let t = find(name).ok_or_else(|| {
                SjError::config("ModelEma", format!("load_state: no average for '{name}'"))
            })?;
            if t.size() != avg.size() {
                return Err(SjError::Shape {
                    module: format!("ModelEma '{name}'"),
                    expected: format!("{:?}", avg.size()),
                    got: t.size(),
                });
            }
        }
        tch::no_grad(|| -> Result<()> {
            for (name, avg) in self.averaged.iter_mut() {
                if let Some(t) = find(name) {
                    avg.f_copy_(t)?;
                }
            }
            Ok(())
        })?;
        self.n_averaged = n;
        Ok(())
    }
}

/// `torch.cuda.amp.GradScaler` (dynamic loss scaling for float16 training): the loss is multiplied
/// by `scale` (65536 at first) before backward; after it the gradients are divided by `scale` and,
/// when one is infinite or NaN, the step is skipped and `scale` halves; after 2000 steps without
/// one it doubles.
#[derive(Clone, Debug, PartialEq)]
pub struct GradScaler {
    scale: f64,
    good_steps: usize,
}

impl Default for GradScaler {
    fn default() -> Self {
        GradScaler {
            scale: 65536.0,
            good_steps: 0,
        }
    }
}

impl GradScaler {
    /// The current scale.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Divides `vs`'s gradients by the scale; `false` (and the scale halved) when one is not
    /// finite: skip that step.
    pub fn unscale(&mut self, vs: &nn::VarStore) -> Result<bool> {
        let mut finite = true;
        tch::no_grad(|| -> Result<()> {
            for p in vs.trainable_variables() {
                let g = p.grad();
                if g.defined() {
                    let _ = g.shallow_clone().f_div_scalar_(self.scale)?;
                    finite &= g.f_isfinite()?.f_all()?.f_int64_value(&[])? == 1;
                }
            }
            Ok(())
        })?;
        if finite {
            self.good_steps += 1;
            if self.good_steps == 2000 {
                self.scale *= 2.0;
                self.good_steps = 0;
            }
        } else {
            self.scale *= 0.5;
            self.good_steps = 0;
        }
        Ok(finite)
    }
}

/// `torch.nn.utils.clip_grad_norm_(parameters, max_norm)`: scales every gradient by
/// `max_norm / (total_norm + 1e-6)` when the 2-norm of all gradients together exceeds
/// `max_norm`; returns the total norm.
pub fn clip_grad_norm(vs: &nn::VarStore, max_norm: f64) -> Result<f64> {
    let grads: Vec<Tensor> = vs
        .trainable_variables()
        .iter()
        .map(|p| p.grad())
        .filter(|g| g.defined())
        .collect();
    if grads.is_empty() {
        return Ok(0.0);
    }
    let norms: Vec<Tensor> = grads
        .iter()
        .map(|g| g.f_norm().and_then(|n| n.f_to_kind(Kind::Double)))
        .collect::<std::result::Result<_, _>>()?;
    let total = Tensor::f_stack(&norms, 0)?.f_norm()?.f_double_value(&[])?;
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        tch::no_grad(|| -> Result<()> {
            for g in &grads {
                let _ = g.shallow_clone().f_mul_scalar_(coef)?;
            }
            Ok(())
        })?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn beta_draws_have_the_beta_mean_and_variance() {
        // Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)).
        for alpha in [0.2, 1.0, 3.0] {
            let mut rng = SplitMix64::new(7);
            let draws: Vec<f64> = (0..20_000).map(|_| beta(&mut rng, alpha)).collect();
            let mean = draws.iter().sum::<f64>() / draws.len() as f64;
            let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
            let want = 1.0 / (4.0 * (2.0 * alpha + 1.0));
            assert!((mean - 0.5).abs() < 0.01, "{alpha}: mean {mean}");
            assert!(
                (var / want - 1.0).abs() < 0.05,
                "{alpha}: var {var} vs {want}"
            );
            assert!(draws.iter().all(|d| (0.0..=1.0).contains(d)));
        }
    }

    #[test]
    fn mixup_and_cutmix_against_hand_computations() {
        // Two one-pixel-valued images 2x4: image 0 all 1, image 1 all 3; one-hot targets.
        let x = Tensor::cat(
            &[
                Tensor::ones([1, 1, 2, 4], (Kind::Float, Device::Cpu)),
                Tensor::full([1, 1, 2, 4], 3.0, (Kind::Float, Device::Cpu)),
            ],
            0,
        );
        let t = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0]).view([2, 2]);
        let mixup = Mix::Mixup { lambda: 0.25 };
        let (mx, mt) = (
            mixup.mix_images(&x).unwrap(),
            mixup.mix_targets(&t, 2, 4).unwrap(),
        );
        // image 0: 0.25·1 + 0.75·3 = 2.5 (rolled: image 1 comes first); image 1: 0.25·3 + 0.75·1 = 1.5
        assert_eq!(
            Vec::<f32>::try_from(mx.mean_dim(&[1i64, 2, 3][..], false, Kind::Float)).unwrap(),
            [2.5, 1.5]
        );
        assert_eq!(
            Vec::<f32>::try_from(mt.flatten(0, -1)).unwrap(),
            [0.25, 0.75, 0.75, 0.25]
        );
        // Cutmix box rows 0..1, cols 1..3: 2 of 8 pixels swapped, lambda = 0.75.
        let cut = Mix::Cutmix {
            rows: (0, 1),
            cols: (1, 3),
        };
        assert_eq!(cut.lambda(2, 4), 0.75);
        let (cx, ct) = (
            cut.mix_images(&x).unwrap(),
            cut.mix_targets(&t, 2, 4).unwrap(),
        );
        let row0: Vec<f32> = Vec::try_from(cx.get(0).get(0).get(0)).unwrap();
        assert_eq!(row0, [1.0, 3.0, 3.0, 1.0]);
        let row1: Vec<f32> = Vec::try_from(cx.get(0).get(0).get(1)).unwrap();
        assert_eq!(row1, [1.0; 4]);
        assert_eq!(
            Vec::<f32>::try_from(ct.flatten(0, -1)).unwrap(),
            [0.75, 0.25, 0.25, 0.75]
        );
        // The input is not modified.
        assert_eq!(x.get(0).sum(Kind::Float).double_value(&[]), 8.0);
        // Draws: only cutmix when mixup_alpha is 0, a box inside the image.
        let mut rng = SplitMix64::new(1);
        for _ in 0..100 {
            match Mix::draw(&mut rng, 0.0, 1.0, 32, 32).unwrap() {
                Mix::Cutmix { rows, cols } => {
                    assert!(0 <= rows.0 && rows.0 <= rows.1 && rows.1 <= 32);
                    assert!(0 <= cols.0 && cols.0 <= cols.1 && cols.1 <= 32);
                }
                m => panic!("{m:?}"),
            }
        }
        assert!(Mix::draw(&mut rng, 0.0, 0.0, 32, 32).is_none());
    }

    #[test]
    fn grad_scaler_skips_non_finite_steps_and_adapts() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32, 2.0]));
        let mut scaler = GradScaler::default();
        (&w * scaler.scale()).sum(Kind::Float).backward();
        assert!(scaler.unscale(&vs).unwrap());
        assert_eq!(Vec::<f32>::try_from(w.grad()).unwrap(), [1.0, 1.0]);
        let mut g = w.grad();
        tch::no_grad(|| g.copy_(&Tensor::from_slice(&[f32::INFINITY, 0.0])));
        assert!(!scaler.unscale(&vs).unwrap());
        assert_eq!(scaler.scale(), 32768.0);
        for _ in 0..2000 {
            tch::no_grad(|| g.copy_(&Tensor::from_slice(&[1.0f32, 1.0])));
            assert!(scaler.unscale(&vs).unwrap());
        }
        assert_eq!(scaler.scale(), 65536.0);
    }

    #[test]
    fn ema_against_hand_computation_and_clip_grad_norm() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut w = vs.root().var_copy("w", &Tensor::from_slice(&[0.0f32, 0.0]));
        let mut ema = ModelEma::new(&vs, 2, 0.9).unwrap();
        let set = |w: &mut Tensor, v: f32| tch::no_grad(|| w.copy_(&Tensor::from_slice(&[v, v])));
        set(&mut w, 1.0);
        ema.after_step(&vs, 1, false).unwrap(); // not a multiple of 2: no update
        ema.after_step(&vs, 2, false).unwrap(); // first update copies: 1
        set(&mut w, 3.0);
        ema.after_step(&vs, 4, false).unwrap(); // 0.9·1 + 0.1·3 = 1.2
        ema.swap(&vs).unwrap();
        assert_eq!(Vec::<f32>::try_from(&w).unwrap(), [1.2, 1.2]);
        ema.swap(&vs).unwrap();
        assert_eq!(Vec::<f32>::try_from(&w).unwrap(), [3.0, 3.0]);
        // torchvision's adjustment: decay 0.99998, 1 process, batch 32, steps 32, 90 epochs.
        let d = ModelEma::adjusted_decay(0.99998, 1, 32, 32, 90);
        assert!((d - (1.0 - 2e-5 * 1024.0 / 90.0)).abs() < 1e-12, "{d}");
        // Gradients (3, 4): norm 5, clipped to 1 -> (0.6, 0.8)/(1 + 1e-6·...).
        (&w * Tensor::from_slice(&[1.0f32, 4.0 / 3.0]))
            .sum(Kind::Float)
            .backward();
        tch::no_grad(|| w.grad().copy_(&Tensor::from_slice(&[3.0f32, 4.0])));
        let total = clip_grad_norm(&vs, 1.0).unwrap();
        assert!((total - 5.0).abs() < 1e-6);
        let g: Vec<f32> = Vec::try_from(w.grad()).unwrap();
        assert!(
            (g[0] - 0.6).abs() < 1e-5 && (g[1] - 0.8).abs() < 1e-5,
            "{g:?}"
        );
        let state = ema.state();
        let mut fresh = ModelEma::new(&vs, 2, 0.9).unwrap();
        fresh.load_state(&state).unwrap();
        assert_eq!(fresh.state()[1].1.double_value(&[0]), 1.2f32 as f64);
        assert!(fresh.load_state(&state[1..]).is_err());
    }
}
