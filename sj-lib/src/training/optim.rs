//! `torch.optim.SGD`, `Adam`, `AdamW` and `RMSprop` over a VarStore's parameters, with their state as
//! named tensors so that a checkpoint can save and restore it (tch's `nn::Optimizer` hides its
//! state inside libtorch).
use super::count;
use crate::base::NamedTensor;
use crate::error::{Result, SjError};
use std::collections::BTreeMap;
use tch::{nn, Tensor};

/// An optimizer whose state can be saved and restored.
pub trait Optimizer: Send {
    /// The PyTorch class name, e.g. `"Adam"`.
    fn type_name(&self) -> &'static str;
    /// One update of every parameter that has a gradient (`optimizer.step()`).
    fn step(&mut self) -> Result<()>;
    /// Zeroes every parameter's gradient (`optimizer.zero_grad()`).
    fn zero_grad(&mut self);
    /// The learning rate in use.
    fn lr(&self) -> f64;
    /// Sets the learning rate (what an lr scheduler does each epoch); errors, changing nothing,
    /// unless `lr` is finite and >= 0.
    fn set_lr(&mut self, lr: f64) -> Result<()>;
    /// The state (momentum buffers, moments, step count) by name.
    fn state(&self) -> Vec<NamedTensor>;
    /// Restores a state returned by [`Optimizer::state`]; errors, changing nothing, on missing,
    /// unexpected or mis-shaped entries.
    fn load_state(&mut self, state: &[NamedTensor]) -> Result<()>;
}

/// The trainable variables of `vs` by name, sorted (the optimizer's parameter order).
fn named_parameters(vs: &nn::VarStore) -> Vec<NamedTensor> {
    let mut params: Vec<NamedTensor> = vs
        .variables()
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .collect();
    params.sort_by(|a, b| a.0.cmp(&b.0));
    params
}

/// PyTorch's check of a non-negative hyper-parameter: `Invalid <what>: <value>`.
fn non_negative(optimizer: &str, what: &str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(SjError::config(
            optimizer,
            format!("Invalid {what}: {value}"),
        ))
    }
}

/// Checks that `state` holds exactly the `expected` names, each shaped like its example tensor,
/// and returns copies by name with the example's kind and device.
fn match_state(
    optimizer: &str,
    state: &[NamedTensor],
    expected: &[(String, Tensor)],
) -> Result<BTreeMap<String, Tensor>> {
    let got: BTreeMap<&str, &Tensor> = state.iter().map(|(k, t)| (k.as_str(), t)).collect();
    let missing: Vec<&str> = expected
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !got.contains_key(k))
        .collect();
    let unexpected: Vec<&str> = got
        .keys()
        .copied()
        .filter(|k| !expected.iter().any(|(e, _)| e == k))
        .collect();
    if !missing.is_empty() || !unexpected.is_empty() {
        return Err(SjError::config(
            optimizer,
            format!("load_state: missing {missing:?}, unexpected {unexpected:?}"),
        ));
    }
    let mut out = BTreeMap::new();
    for (name, like) in expected {
        let t = got[name.as_str()];
        if t.size() != like.size() {
            return Err(SjError::Shape {
                module: format!("{optimizer} state '{name}'"),
                expected: format!("{:?}", like.size()),
                got: t.size(),
            });
        }
        let copy = t
            .f_to_kind(like.kind())
            .and_then(|t| t.f_to_device(like.device()))
            .map_err(|e| SjError::config(optimizer, format!("load_state: '{name}': {e}")))?;
        out.insert(name.clone(), copy.copy());
    }
    Ok(out)
}

/// The [`Optimizer`] methods every optimizer here shares over its `params` and `lr` fields.
macro_rules! optimizer_common {
    () => {
        fn zero_grad(&mut self) {
            for (_, p) in self.params.iter_mut() {
                p.zero_grad();
            }
        }
        fn lr(&self) -> f64 {
            self.lr
        }
        fn set_lr(&mut self, lr: f64) -> Result<()> {
            non_negative(self.type_name(), "learning rate", lr)?;
            self.lr = lr;
            Ok(())
        }
    };
}

/// The `step` entry of a saved state: one integer >= 0.
fn step_count(optimizer: &str, state: &[NamedTensor]) -> Result<i64> {
    let step = state
        .iter()
        .find(|(k, _)| k == "step")
        .ok_or_else(|| SjError::config(optimizer, "load_state: no 'step' entry"))?;
    count(&step.1).ok_or_else(|| {
        SjError::config(
            optimizer,
            format!(
                "load_state: 'step' must be one integer >= 0, got {:?}",
                step.1
            ),
        )
    })
}

/// `SGD(params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False)`, PyTorch's update:
/// `d = g + wd·p`; with momentum `b = d` at the first step, then `b = μ·b + (1 − dampening)·d`, and
/// `d = d + μ·b` (Nesterov) or `d = b`; `p -= lr·d`.
#[derive(Debug)]
pub struct SGD {
    params: Vec<NamedTensor>,
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
    buffers: BTreeMap<String, Tensor>,
}

impl SGD {
    /// Plain SGD over the trainable variables of `vs`.
    pub fn new(vs: &nn::VarStore, lr: f64) -> Result<Self> {
        non_negative("SGD", "learning rate", lr)?;
        Ok(SGD {
            params: named_parameters(vs),
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            buffers: BTreeMap::new(),
        })
    }

    /// `momentum=` (≥ 0).
    pub fn with_momentum(mut self, momentum: f64) -> Result<Self> {
        non_negative("SGD", "momentum value", momentum)?;
        self.momentum = momentum;
        Ok(self)
    }

    /// `dampening=` (finite).
    pub fn with_dampening(mut self, dampening: f64) -> Result<Self> {
        if !dampening.is_finite() {
            return Err(SjError::config(
                "SGD",
                format!("Invalid dampening value: {dampening}"),
            ));
        }
        self.dampening = dampening;
        Ok(self)
    }

    /// `weight_decay=` (L2 penalty, ≥ 0).
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Result<Self> {
        non_negative("SGD", "weight_decay value", weight_decay)?;
        self.weight_decay = weight_decay;
        Ok(self)
    }

    /// `nesterov=True` (needs momentum > 0 and zero dampening).
    pub fn with_nesterov(mut self, nesterov: bool) -> Result<Self> {
        if nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(SjError::config(
                "SGD",
                "Nesterov momentum requires a momentum and zero dampening",
            ));
        }
        self.nesterov = nesterov;
        Ok(self)
    }
}

impl Optimizer for SGD {
    fn type_name(&self) -> &'static str {
        "SGD"
    }
    fn step(&mut self) -> Result<()> {
        tch::no_grad(|| {
            for (name, p) in self.params.iter_mut() {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let mut d = if self.weight_decay != 0.0 {
                    &g + &*p * self.weight_decay
                } else {
                    g
                };
                if self.momentum != 0.0 {
                    let buf = match self.buffers.get_mut(name) {
                        Some(b) => {
                            let _ = b
                                .g_mul_scalar_(self.momentum)
                                .g_add_(&(&d * (1.0 - self.dampening)));
                            b.shallow_clone()
                        }
                        None => {
                            let b = d.detach().copy();
                            self.buffers.insert(name.clone(), b.shallow_clone());
                            b
                        }
                    };
                    d = if self.nesterov {
                        d + buf * self.momentum
                    } else {
                        buf
                    };
                }
                let _ = p.g_sub_(&(d * self.lr));
            }
        });
        Ok(())
    }
    optimizer_common!();
    fn state(&self) -> Vec<NamedTensor> {
        self.buffers
            .iter()
            .map(|(k, t)| (format!("momentum_buffer.{k}"), t.copy()))
            .collect()
    }
    fn load_state(&mut self, state: &[NamedTensor]) -> Result<()> {
        // No buffers yet (saved before the first step) is a valid state too.
        let expected: Vec<(String, Tensor)> = if state.is_empty() {
            Vec::new()
        } else {
            self.params
                .iter()
                .map(|(k, p)| (format!("momentum_buffer.{k}"), p.shallow_clone()))
                .collect()
        };
        let matched = match_state("SGD", state, &expected)?;
        self.buffers = matched
            .into_iter()
            .map(|(k, t)| (k["momentum_buffer.".len()..].to_string(), t))
            .collect();
        Ok(())
    }
}

/// `Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)`, PyTorch's update:
/// `m = β1·m + (1 − β1)·g`, `v = β2·v + (1 − β2)·g²`,
/// `p -= lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + eps)`.
///
/// [`Adam::adamw`] is `AdamW`: the weight decay is decoupled (`p -= lr·wd·p` before the update)
/// instead of added to the gradient.
#[derive(Debug)]
pub struct Adam {
    params: Vec<NamedTensor>,
    decoupled: bool,
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    step: i64,
    exp_avg: BTreeMap<String, Tensor>,
    exp_avg_sq: BTreeMap<String, Tensor>,
}

impl Adam {
    /// Adam over the trainable variables of `vs` (PyTorch's default lr is 1e-3).
    pub fn new(vs: &nn::VarStore, lr: f64) -> Result<Self> {
        non_negative("Adam", "learning rate", lr)?;
        Ok(Adam {
            params: named_parameters(vs),
            decoupled: false,
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            step: 0,
            exp_avg: BTreeMap::new(),
            exp_avg_sq: BTreeMap::new(),
        })
    }

    /// `AdamW(params, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)`.
    pub fn adamw(vs: &nn::VarStore, lr: f64) -> Result<Self> {
        Ok(Adam {
            decoupled: true,
            weight_decay: 0.01,
            ..Adam::new(vs, lr)?
        })
    }

    /// `betas=` (each in [0, 1)).
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&beta1) || !(0.0..1.0).contains(&beta2) {
            return Err(SjError::config(
                "Adam",
                format!("Invalid beta parameters: ({beta1}, {beta2})"),
            ));
        }
        self.betas = (beta1, beta2);
        Ok(self)
    }

    /// `eps=` (≥ 0).
    pub fn with_eps(mut self, eps: f64) -> Result<Self> {
        non_negative("Adam", "epsilon value", eps)?;
        self.eps = eps;
        Ok(self)
    }

    /// `weight_decay=` (L2 penalty added to the gradient, ≥ 0).
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Result<Self> {
        non_negative("Adam", "weight_decay value", weight_decay)?;
        self.weight_decay = weight_decay;
        Ok(self)
    }

    /// Steps taken so far.
    pub fn steps(&self) -> i64 {
        self.step
    }
}

impl Optimizer for Adam {
    fn type_name(&self) -> &'static str {
        if self.decoupled {
            "AdamW"
        } else {
            "Adam"
        }
    }
    fn step(&mut self) -> Result<()> {
        self.step += 1;
        let (b1, b2) = self.betas;
        // beta^(2^31 - 1) is 0 in f64 for every beta < 1, as a larger power is.
        let t = i32::try_from(self.step).unwrap_or(i32::MAX);
        let bias_correction1 = 1.0 - b1.powi(t);
        let bias_correction2_sqrt = (1.0 - b2.powi(t)).sqrt();
        let step_size = self.lr / bias_correction1;
        tch::no_grad(|| {
            for (name, p) in self.params.iter_mut() {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = if self.weight_decay == 0.0 {
                    g
                } else if self.decoupled {
                    let _ = p.g_mul_scalar_(1.0 - self.lr * self.weight_decay);
                    g
                } else {
                    &g + &*p * self.weight_decay
                };
                let m = self
                    .exp_avg
                    .entry(name.clone())
                    .or_insert_with(|| p.zeros_like());
                let _ = m.g_mul_scalar_(b1).g_add_(&(&g * (1.0 - b1)));
                let v = self
                    .exp_avg_sq
                    .entry(name.clone())
                    .or_insert_with(|| p.zeros_like());
                let _ = v.g_mul_scalar_(b2).g_add_(&(&g * &g * (1.0 - b2)));
                let denom = v.sqrt() / bias_correction2_sqrt + self.eps;
                let _ = p.g_sub_(&(&*m / denom * step_size));
            }
        });
        Ok(())
    }
    optimizer_common!();
    fn state(&self) -> Vec<NamedTensor> {
        let mut out = vec![("step".to_string(), Tensor::from_slice(&[self.step]))];
        out.extend(
            self.exp_avg
                .iter()
                .map(|(k, t)| (format!("exp_avg.{k}"), t.copy())),
        );
        out.extend(
            self.exp_avg_sq
                .iter()
                .map(|(k, t)| (format!("exp_avg_sq.{k}"), t.copy())),
        );
        out
    }
    fn load_state(&mut self, state: &[NamedTensor]) -> Result<()> {
        let step = step_count("Adam", state)?;
        let mut expected = vec![("step".to_string(), Tensor::from_slice(&[step]))];
        if step > 0 {
            for prefix in ["exp_avg", "exp_avg_sq"] {
                expected.extend(
                    self.params
                        .iter()
                        .map(|(k, p)| (format!("{prefix}.{k}"), p.shallow_clone())),
                );
            }
        }
        let matched = match_state("Adam", state, &expected)?;
        self.exp_avg = by_prefix(&matched, "exp_avg");
        self.exp_avg_sq = by_prefix(&matched, "exp_avg_sq");
        self.step = step;
        Ok(())
    }
}

/// `RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0)` (not centered),
/// PyTorch's update: `d = g + wd·p`, `s = α·s + (1 − α)·d²`, `a = sqrt(s) + eps`; with momentum
/// `b = μ·b + d/a`, `p -= lr·b`, else `p -= lr·d/a`. SpikingJelly's Trainer uses `alpha=0.9`,
/// `eps=0.0316`.
#[derive(Debug)]
pub struct RMSprop {
    params: Vec<NamedTensor>,
    lr: f64,
    alpha: f64,
    eps: f64,
    weight_decay: f64,
    momentum: f64,
    step: i64,
    square_avg: BTreeMap<String, Tensor>,
    buffers: BTreeMap<String, Tensor>,
}

impl RMSprop {
    /// RMSprop over the trainable variables of `vs`.
    pub fn new(vs: &nn::VarStore, lr: f64) -> Result<Self> {
        non_negative("RMSprop", "learning rate", lr)?;
        Ok(RMSprop {
            params: named_parameters(vs),
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            step: 0,
            square_avg: BTreeMap::new(),
            buffers: BTreeMap::new(),
        })
    }

    /// `alpha=` (≥ 0), the smoothing constant.
    pub fn with_alpha(mut self, alpha: f64) -> Result<Self> {
        non_negative("RMSprop", "alpha value", alpha)?;
        self.alpha = alpha;
        Ok(self)
    }

    /// `eps=` (≥ 0).
    pub fn with_eps(mut self, eps: f64) -> Result<Self> {
        non_negative("RMSprop", "epsilon value", eps)?;
        self.eps = eps;
        Ok(self)
    }

    /// `momentum=` (≥ 0).
    pub fn with_momentum(mut self, momentum: f64) -> Result<Self> {
        non_negative("RMSprop", "momentum value", momentum)?;
        self.momentum = momentum;
        Ok(self)
    }

    /// `weight_decay=` (L2 penalty added to the gradient, ≥ 0).
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Result<Self> {
        non_negative("RMSprop", "weight_decay value", weight_decay)?;
        self.weight_decay = weight_decay;
        Ok(self)
    }
}

impl Optimizer for RMSprop {
    fn type_name(&self) -> &'static str {
        "RMSprop"
    }
    fn step(&mut self) -> Result<()> {
        self.step += 1;
        tch::no_grad(|| {
            for (name, p) in self.params.iter_mut() {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let d = if self.weight_decay != 0.0 {
                    &g + &*p * self.weight_decay
                } else {
                    g
                };
                let s = self
                    .square_avg
                    .entry(name.clone())
                    .or_insert_with(|| p.zeros_like());
                let _ = s
                    .g_mul_scalar_(self.alpha)
                    .g_add_(&(&d * &d * (1.0 - self.alpha)));
                let update = d / (s.sqrt() + self.eps);
                let update = if self.momentum > 0.0 {
                    let b = self
                        .buffers
                        .entry(name.clone())
                        .or_insert_with(|| p.zeros_like());
                    let _ = b.g_mul_scalar_(self.momentum).g_add_(&update);
                    b.shallow_clone()
                } else {
                    update
                };
                let _ = p.g_sub_(&(update * self.lr));
            }
        });
        Ok(())
    }
    optimizer_common!();
    fn state(&self) -> Vec<NamedTensor> {
        let mut out = vec![("step".to_string(), Tensor::from_slice(&[self.step]))];
        out.extend(
            self.square_avg
                .iter()
                .map(|(k, t)| (format!("square_avg.{k}"), t.copy())),
        );
        out.extend(
            self.buffers
                .iter()
                .map(|(k, t)| (format!("momentum_buffer.{k}"), t.copy())),
        );
        out
    }
    fn load_state(&mut self, state: &[NamedTensor]) -> Result<()> {
        let step = step_count("RMSprop", state)?;
        let mut expected = vec![("step".to_string(), Tensor::from_slice(&[step]))];
        if step > 0 {
            let mut prefixes = vec!["square_avg"];
            if self.momentum > 0.0 {
                prefixes.push("momentum_buffer");
            }
            for prefix in prefixes {
                expected.extend(
                    self.params
                        .iter()
                        .map(|(k, p)| (format!("{prefix}.{k}"), p.shallow_clone())),
                );
            }
        }
        let matched = match_state("RMSprop", state, &expected)?;
        self.square_avg = by_prefix(&matched, "square_avg");
        self.buffers = by_prefix(&matched, "momentum_buffer");
        self.step = step;
        Ok(())
    }
}

/// The entries `<prefix>.<name>` of a matched state, by `<name>`.
fn by_prefix(matched: &BTreeMap<String, Tensor>, prefix: &str) -> BTreeMap<String, Tensor> {
    let dot = format!("{prefix}.");
    matched
        .iter()
        .filter_map(|(k, t)| {
            k.strip_prefix(&dot)
                .map(|n| (n.to_string(), t.shallow_clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::test_values;
    use tch::{nn::OptimizerConfig, Device, Kind};

    /// A least-squares problem: w [3, 2] fitted to fixed data, loss = mean((x w − y)²).
    fn problem(seed: u64) -> (nn::VarStore, Tensor, Tensor) {
        let vs = nn::VarStore::new(Device::Cpu);
        let _w = vs.root().var_copy("w", &test_values(seed, 6).view([3, 2]));
        let _b = vs.root().zeros("b", &[2]);
        let x = test_values(seed + 1, 24).view([8, 3]);
        let y = test_values(seed + 2, 16).view([8, 2]);
        (vs, x, y)
    }

    fn loss(vs: &nn::VarStore, x: &Tensor, y: &Tensor) -> Tensor {
        let v = vs.variables();
        (x.matmul(&v["w"]) + &v["b"] - y).square().mean(Kind::Float)
    }

    fn run(opt: &mut dyn Optimizer, vs: &nn::VarStore, x: &Tensor, y: &Tensor, steps: usize) {
        for _ in 0..steps {
            opt.zero_grad();
            loss(vs, x, y).backward();
            opt.step().unwrap();
        }
    }

    #[test]
    fn adam_first_step_is_lr_times_sign() {
        // After one step m̂ = g and v̂ = g², so p moves by lr·g/(|g| + eps) = 0.1 (to f32 precision).
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().ones("w", &[2]);
        let mut adam = Adam::new(&vs, 0.1).unwrap();
        (&w * Tensor::from_slice(&[3.0f32, -0.5]))
            .sum(Kind::Float)
            .backward();
        adam.step().unwrap();
        assert_eq!(Vec::<f32>::try_from(&w).unwrap(), vec![0.9, 1.1]);
        assert_eq!(adam.steps(), 1);
    }

    #[test]
    fn adam_matches_tch_adam() {
        let (vs_a, x, y) = problem(3);
        let (vs_b, _, _) = problem(3);
        let mut ours = Adam::new(&vs_a, 0.05).unwrap();
        let mut theirs = nn::Adam::default().build(&vs_b, 0.05).unwrap();
        for _ in 0..50 {
            ours.zero_grad();
            loss(&vs_a, &x, &y).backward();
            ours.step().unwrap();
            theirs.zero_grad();
            loss(&vs_b, &x, &y).backward();
            theirs.step();
        }
        for name in ["w", "b"] {
            let (a, b) = (&vs_a.variables()[name], &vs_b.variables()[name]);
            let diff = (a - b).abs().max().double_value(&[]);
            assert!(diff < 1e-6, "{name}: {diff}");
        }
        // the fit really moved: the loss fell (least squares on random targets keeps a residual)
        let (before, after) = (
            loss(&problem(3).0, &x, &y).double_value(&[]),
            loss(&vs_a, &x, &y).double_value(&[]),
        );
        assert!(after < 0.8 * before, "{before} -> {after}");
    }

    /// Runs `ours` and libtorch's optimizer (through tch) side by side for 50 steps.
    fn matches_libtorch(
        ours: &mut dyn Optimizer,
        vs_a: &nn::VarStore,
        theirs: &mut nn::Optimizer,
        vs_b: &nn::VarStore,
    ) {
        let (_, x, y) = problem(5);
        for _ in 0..50 {
            ours.zero_grad();
            loss(vs_a, &x, &y).backward();
            ours.step().unwrap();
            theirs.zero_grad();
            loss(vs_b, &x, &y).backward();
            theirs.step();
        }
        for name in ["w", "b"] {
            let (a, b) = (&vs_a.variables()[name], &vs_b.variables()[name]);
            let diff = (a - b).abs().max().double_value(&[]);
            assert!(diff < 1e-5, "{}: {name}: {diff}", ours.type_name());
        }
        let moved = (&vs_a.variables()["w"] - &problem(5).0.variables()["w"])
            .abs()
            .max();
        assert!(moved.double_value(&[]) > 0.01, "{} moved", ours.type_name());
    }

    #[test]
    fn adamw_and_rmsprop_match_libtorch() {
        let (vs_a, _, _) = problem(5);
        let (vs_b, _, _) = problem(5);
        let mut ours = Adam::adamw(&vs_a, 0.05)
            .unwrap()
            .with_weight_decay(0.1)
            .unwrap();
        assert_eq!(ours.type_name(), "AdamW");
        let mut theirs = nn::AdamW {
            wd: 0.1,
            ..Default::default()
        }
        .build(&vs_b, 0.05)
        .unwrap();
        matches_libtorch(&mut ours, &vs_a, &mut theirs, &vs_b);
        // SpikingJelly's Trainer: RMSprop(lr, momentum, weight_decay, eps=0.0316, alpha=0.9).
        let (vs_a, _, _) = problem(5);
        let (vs_b, _, _) = problem(5);
        let mut ours = RMSprop::new(&vs_a, 0.01)
            .and_then(|o| o.with_alpha(0.9))
            .and_then(|o| o.with_eps(0.0316))
            .and_then(|o| o.with_momentum(0.9))
            .and_then(|o| o.with_weight_decay(1e-3))
            .unwrap();
        let config = nn::RmsProp {
            alpha: 0.9,
            eps: 0.0316,
            wd: 1e-3,
            momentum: 0.9,
            centered: false,
        };
        let mut theirs = config.build(&vs_b, 0.01).unwrap();
        matches_libtorch(&mut ours, &vs_a, &mut theirs, &vs_b);
        // Its state continues bitwise in a fresh optimizer.
        let (_, x, y) = problem(5);
        let mut fresh = RMSprop::new(&vs_a, 0.01)
            .and_then(|o| o.with_alpha(0.9))
            .and_then(|o| o.with_eps(0.0316))
            .and_then(|o| o.with_momentum(0.9))
            .and_then(|o| o.with_weight_decay(1e-3))
            .unwrap();
        fresh.load_state(&ours.state()).unwrap();
        let before = (vs_a.variables()["w"].copy(), vs_a.variables()["b"].copy());
        run(&mut ours, &vs_a, &x, &y, 1);
        let w1 = vs_a.variables()["w"].copy();
        no_grad_copy(&vs_a, "w", &before.0);
        no_grad_copy(&vs_a, "b", &before.1);
        run(&mut fresh, &vs_a, &x, &y, 1);
        assert!(vs_a.variables()["w"].equal(&w1));
        assert!(RMSprop::new(&vs_a, 0.01).unwrap().load_state(&[]).is_err());
    }

    fn no_grad_copy(vs: &nn::VarStore, name: &str, value: &Tensor) {
        let mut t = vs.variables()[name].shallow_clone();
        tch::no_grad(|| t.copy_(value));
    }

    #[test]
    fn sgd_momentum_matches_tch_and_hand_values() {
        // one parameter, gradient 2 every step: buf = 2, then 0.9·2 + 2 = 3.8; p = 1 − 0.1·2 − 0.1·3.8 = 0.42
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().ones("w", &[1]);
        let mut sgd = SGD::new(&vs, 0.1).unwrap().with_momentum(0.9).unwrap();
        for _ in 0..2 {
            sgd.zero_grad();
            (&w * 2.0).sum(Kind::Float).backward();
            sgd.step().unwrap();
        }
        assert!(
            (w.double_value(&[0]) - 0.42).abs() < 1e-6,
            "{}",
            w.double_value(&[0])
        );

        let (vs_a, x, y) = problem(5);
        let (vs_b, _, _) = problem(5);
        let mut ours = SGD::new(&vs_a, 0.05)
            .unwrap()
            .with_momentum(0.9)
            .unwrap()
            .with_weight_decay(1e-3)
            .unwrap();
        let mut theirs = nn::sgd(0.9, 0.0, 1e-3, false).build(&vs_b, 0.05).unwrap();
        for _ in 0..30 {
            ours.zero_grad();
            loss(&vs_a, &x, &y).backward();
            ours.step().unwrap();
            theirs.zero_grad();
            loss(&vs_b, &x, &y).backward();
            theirs.step();
        }
        let diff = (&vs_a.variables()["w"] - &vs_b.variables()["w"])
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff < 1e-6, "{diff}");
    }

    #[test]
    fn state_round_trip_continues_bitwise() {
        for make in [
            (|vs: &nn::VarStore| Box::new(Adam::new(vs, 0.01).unwrap()) as Box<dyn Optimizer>)
                as fn(&nn::VarStore) -> Box<dyn Optimizer>,
            |vs| {
                Box::new(
                    SGD::new(vs, 0.01)
                        .unwrap()
                        .with_momentum(0.9)
                        .unwrap()
                        .with_nesterov(true)
                        .unwrap(),
                )
            },
        ] {
            let (vs_a, x, y) = problem(7);
            let mut a = make(&vs_a);
            run(a.as_mut(), &vs_a, &x, &y, 10);
            // b: 5 steps, then a fresh optimizer restored from b's state runs 5 more
            let (vs_b, _, _) = problem(7);
            let mut b = make(&vs_b);
            run(b.as_mut(), &vs_b, &x, &y, 5);
            let state = b.state();
            let mut c = make(&vs_b);
            c.load_state(&state).unwrap();
            run(c.as_mut(), &vs_b, &x, &y, 5);
            assert!(
                vs_a.variables()["w"].equal(&vs_b.variables()["w"]),
                "{}",
                a.type_name()
            );
            // a fresh optimizer without the state does not continue the same way
            let (vs_d, _, _) = problem(7);
            let mut d = make(&vs_d);
            run(d.as_mut(), &vs_d, &x, &y, 5);
            let mut e = make(&vs_d);
            run(e.as_mut(), &vs_d, &x, &y, 5);
            assert!(
                !vs_a.variables()["w"].equal(&vs_d.variables()["w"]),
                "{}",
                a.type_name()
            );
        }
    }

    #[test]
    fn bad_state_and_options_are_errors() {
        let (vs, _, _) = problem(1);
        let mut adam = Adam::new(&vs, 0.01).unwrap();
        let e = adam
            .load_state(&[("step".into(), Tensor::from_slice(&[1i64]))])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "missing [\"exp_avg.b\", \"exp_avg.w\", \"exp_avg_sq.b\", \"exp_avg_sq.w\"]"
            ),
            "{e}"
        );
        let bad = vec![(
            "momentum_buffer.w".to_string(),
            Tensor::zeros([3], (Kind::Float, Device::Cpu)),
        )];
        let mut sgd = SGD::new(&vs, 0.1).unwrap();
        assert!(sgd
            .load_state(&bad)
            .unwrap_err()
            .to_string()
            .contains("missing [\"momentum_buffer.b\"]"));
        assert!(Adam::new(&vs, -1.0).is_err());
        assert!(Adam::new(&vs, 0.1).unwrap().with_betas(1.0, 0.9).is_err());
        assert!(SGD::new(&vs, 0.1).unwrap().with_nesterov(true).is_err());
    }
}
