//! `spikingjelly.timing_based`: Gaussian tuning curves that turn values into spike times (Bohte et
//! al. 2002) and the Tempotron (Gütig & Sompolinsky 2006), with SpikingJelly 0.0.0.0.14's formulas
//! (inventory §2.20, checklist 260-262; checked against its outputs in
//! `tests/tests/spikingjelly_tempotron.rs`).
//!
//! A spike time is a float per input (one spike at most); a negative time means no spike. Where
//! sj differs from SpikingJelly it says so: a neuron that never reaches the threshold has spike
//! time −1 (SpikingJelly reports `−t_peak`, which is 0, "a spike at t = 0", when the potential
//! never rises above 0); `v_max` keeps its `[N, out]` shape (SpikingJelly squeezes every size-1
//! dimension); and an input spike long after a step no longer overflows into NaN.
//!
//! ```
//! use sj::prelude::*;
//! use sj::timing_based::Tempotron;
//! let vs = nn::VarStore::new(Device::Cpu);
//! let tempotron = Tempotron::new(&vs.root(), 1, 1, 20, 15.0, 15.0 / 4.0, 1.0).unwrap();
//! tch::no_grad(|| tempotron.weight().shallow_clone().fill_(1.0));
//! // One input spike at t = 0 with weight 1: the potential peaks at v_threshold at t_max = 5 ln 4
//! // (6.93); on the integer grid the highest sample is t = 7 with 0.99996.
//! let v = tempotron.v(&Tensor::zeros([1, 1], (Kind::Float, Device::Cpu))).unwrap();
//! assert_eq!(v.size(), [1, 1, 20]);
//! assert_eq!(v.argmax(2, false).int64_value(&[0, 0]), 7);
//! assert!((v.max().double_value(&[]) - 0.99996).abs() < 1e-5);
//! ```
use crate::base::{Module, StepMode};
use crate::error::{Result, SjError};
use crate::layer::Linear;
use tch::{nn, Kind, Tensor};

/// `GaussianTuning(n, m, x_min, x_max)`: m Gaussian receptive fields per feature, centred from
/// half a spacing below `x_min` to half a spacing above `x_max`, all with variance
/// `((x_max − x_min) / (1.5·(m − 2)))²`.
#[derive(Debug)]
pub struct GaussianTuning {
    mu: Tensor,
    sigma2: Tensor,
}

impl GaussianTuning {
    /// `n` features with `m > 2` fields each; `x_min`, `x_max` are `[n]` with `x_min < x_max`.
    pub fn new(n: i64, m: i64, x_min: &Tensor, x_max: &Tensor) -> Result<Self> {
        let what = "GaussianTuning";
        if m <= 2 || n < 1 {
            return Err(SjError::config(
                what,
                format!("needs n >= 1 and m > 2, got n={n}, m={m}"),
            ));
        }
        for (name, x) in [("x_min", x_min), ("x_max", x_max)] {
            if x.size() != [n] || !x.is_floating_point() {
                return Err(SjError::config(
                    what,
                    format!(
                        "{name} must be a float tensor of shape [{n}], got {:?} {:?}",
                        x.kind(),
                        x.size()
                    ),
                ));
            }
        }
        let range = x_max - x_min;
        if range.le(0.0).any().int64_value(&[]) != 0 || range.isfinite().all().int64_value(&[]) == 0
        {
            return Err(SjError::config(
                what,
                "needs finite x_min < x_max for every feature",
            ));
        }
        let i = Tensor::arange_start(1, m + 1, (x_min.kind(), x_min.device()));
        let coef = (i * 2.0 - 3.0) / 2.0; // [m]
        let mu = x_min.unsqueeze(-1) + coef.unsqueeze(0) * range.unsqueeze(-1) / (m - 2) as f64;
        let sigma2 = ((range * (1.0 / 1.5)) / (m - 2) as f64)
            .square()
            .unsqueeze(-1)
            .repeat([1, m]);
        Ok(GaussianTuning { mu, sigma2 })
    }

    /// The centres `[n, m]`.
    pub fn mu(&self) -> &Tensor {
        &self.mu
    }

    /// The variances `[n, m]`.
    pub fn sigma2(&self) -> &Tensor {
        &self.sigma2
    }

    /// `encode(x, max_spike_time)`: `x [N, n, k]` (k values per feature) to spike times
    /// `[N, n, k, m]`: `round(max_spike_time·(1 − y))` for the field's response `y` (rounding half
    /// to even, as `torch.round`), −1 (no spike) where that reaches `max_spike_time`.
    pub fn encode(&self, x: &Tensor, max_spike_time: f64) -> Result<Tensor> {
        let what = "GaussianTuning::encode";
        let n = self.mu.size()[0];
        if x.dim() != 3 || x.size()[1] != n || !x.is_floating_point() {
            return Err(SjError::config(
                what,
                format!("x must be float [N, {n}, k] (N samples, {n} features, k values each), got {:?} {:?}", x.kind(), x.size()),
            ));
        }
        if !(max_spike_time.is_finite() && max_spike_time > 0.0) {
            return Err(SjError::config(
                what,
                format!("max_spike_time must be positive, got {max_spike_time}"),
            ));
        }
        let (mu, sigma2) = (self.mu.unsqueeze(1), self.sigma2.unsqueeze(1)); // [n, 1, m]
        let y = ((x.unsqueeze(-1) - mu).square().neg() / 2.0 / sigma2).exp();
        let t: Tensor = ((y.neg() + 1.0) * max_spike_time).round();
        Ok(t.masked_fill(&t.ge(max_spike_time), -1.0))
    }
}

/// `Tempotron(in_features, out_features, T, tau, tau_s, v_threshold)`: input spike times
/// `[N, in]` give the potential `v[n, o, t] = Σᵢ W[o, i]·v0·K(t − sᵢ)` on the grid t = 0..T−1, with
/// `K(t) = (e^(−t/τ) − e^(−t/τs))·[t ≥ 0]` and `v0` making one spike of weight 1 peak at
/// `v_threshold`. No reset: the neuron "fires" when `v_max >= v_threshold`. As a [`Module`] its
/// forward is `v_max`.
#[derive(Debug)]
pub struct Tempotron {
    fc: Linear,
    t: i64,
    tau: f64,
    tau_s: f64,
    v_threshold: f64,
    v0: f64,
    step_mode: StepMode,
}

impl Tempotron {
    /// The layer with a `Linear(in, out, bias=False)` weight at `path / "fc"` (PyTorch's
    /// initialisation); errors unless `T >= 1`, `tau` and `tau_s` are positive and different, and
    /// `v_threshold` is finite.
    pub fn new(
        path: &nn::Path,
        in_features: i64,
        out_features: i64,
        t: i64,
        tau: f64,
        tau_s: f64,
        v_threshold: f64,
    ) -> Result<Self> {
        let what = "Tempotron";
        if t < 1
            || !(tau > 0.0 && tau_s > 0.0 && tau.is_finite() && tau_s.is_finite())
            || tau == tau_s
        {
            return Err(SjError::config(
                what,
                format!("needs T >= 1 and positive, different tau and tau_s (SpikingJelly's defaults 15 and 15/4), got T={t}, tau={tau}, tau_s={tau_s}"),
            ));
        }
        if !v_threshold.is_finite() {
            return Err(SjError::config(
                what,
                format!("v_threshold must be finite, got {v_threshold}"),
            ));
        }
        let t_max = tau * tau_s * (tau / tau_s).ln() / (tau - tau_s);
        let v0 = v_threshold / ((-t_max / tau).exp() - (-t_max / tau_s).exp());
        Ok(Tempotron {
            fc: Linear::new(&(path / "fc"), in_features, out_features, false)?,
            t,
            tau,
            tau_s,
            v_threshold,
            v0,
            step_mode: StepMode::S,
        })
    }

    /// The weight `[out, in]`.
    pub fn weight(&self) -> &Tensor {
        self.fc.weight()
    }

    /// The normalisation `v0`.
    pub fn v0(&self) -> f64 {
        self.v0
    }

    /// `v_threshold`.
    pub fn v_threshold(&self) -> f64 {
        self.v_threshold
    }

    /// `psp_kernel(t, tau, tau_s)`: `(e^(−t/τ) − e^(−t/τs))·[t ≥ 0]` (without `v0`); times far
    /// before 0 give 0, not NaN.
    pub fn psp_kernel(t: &Tensor, tau: f64, tau_s: f64) -> Tensor {
        let after = t.ge(0.0).to_kind(t.kind());
        let t = t.clamp_min(0.0);
        ((&t / -tau).exp() - (&t / -tau_s).exp()) * after
    }

    /// `forward(in_spikes, 'v')`: spike times `[N, in]` (negative: no spike) to `v [N, out, T]`.
    pub fn v(&self, in_spikes: &Tensor) -> Result<Tensor> {
        let w = self.fc.weight();
        let inputs = w.size()[1];
        if in_spikes.dim() != 2 || in_spikes.size()[1] != inputs || !in_spikes.is_floating_point() {
            return Err(SjError::config(
                "Tempotron",
                format!(
                    "in_spikes must be float spike times [N, {inputs}], got {:?} {:?}",
                    in_spikes.kind(),
                    in_spikes.size()
                ),
            ));
        }
        if !in_spikes.requires_grad()
            && in_spikes
                .eq_tensor(&in_spikes.round())
                .all()
                .int64_value(&[])
                == 1
        {
            return Ok(self.v_integer_times(in_spikes));
        }
        let t = Tensor::arange(self.t, (in_spikes.kind(), in_spikes.device())); // [T]
        let s = in_spikes.unsqueeze(-1); // [N, in, 1]
        let v_in = Self::psp_kernel(&(t - &s), self.tau, self.tau_s)
            * s.ge(0.0).to_kind(s.kind())
            * self.v0;
        // [N, T, in] x [in, out] -> [N, T, out] -> [N, out, T]
        Ok(v_in.transpose(1, 2).matmul(&w.tr()).transpose(1, 2))
    }

    /// `v` for whole-number spike times (what `GaussianTuning` gives), without a `[N, in, T]`
    /// tensor: the weights of the inputs spiking at each step are summed (`index_add`, a few
    /// thousand rows for an MNIST digit), then convolved in time with the kernel (`[T, T]`).
    fn v_integer_times(&self, in_spikes: &Tensor) -> Tensor {
        let w = self.fc.weight();
        let n = in_spikes.size()[0];
        let valid = in_spikes.ge(0.0).logical_and(&in_spikes.lt(self.t as f64));
        let at = valid.nonzero(); // [nnz, 2]: (sample, input)
        let (sample, input) = (at.select(1, 0), at.select(1, 1));
        let time = in_spikes
            .index(&[Some(&sample), Some(&input)])
            .to_kind(Kind::Int64);
        let rows = w.tr().index_select(0, &input); // [nnz, out]
        let a = Tensor::zeros([n * self.t, w.size()[0]], (w.kind(), w.device()))
            .index_add(0, &(sample * self.t + time), &rows)
            .view([n, self.t, -1]); // Σ of the weights of the inputs spiking at each step
        let grid = Tensor::arange(self.t, (w.kind(), w.device()));
        let lag = grid.unsqueeze(1) - grid.unsqueeze(0); // t − τ
        let kernel = Self::psp_kernel(&lag, self.tau, self.tau_s) * self.v0; // [T, T]
        kernel.matmul(&a).transpose(1, 2) // [N, out, T]
    }

    /// `forward(in_spikes, 'v_max')`: the maximum of `v` over time, `[N, out]` (kept 2-D); its
    /// gradient goes to the first time of the maximum.
    pub fn v_max(&self, in_spikes: &Tensor) -> Result<Tensor> {
        Ok(self.v(in_spikes)?.max_dim(2, false).0)
    }

    /// `forward(in_spikes, 'spikes')`: the output spike time `[N, out]`: the time of the peak of
    /// `v` where `v_max >= v_threshold`, else −1 (no spike). The gradient is SpikingJelly's
    /// straight-through estimator, that of `±Σₜ t·softmax(T·v)ₜ` (+ for a spike, − otherwise).
    pub fn spike_times(&self, in_spikes: &Tensor) -> Result<Tensor> {
        let v = self.v(in_spikes)?;
        let t = Tensor::arange(self.t, (v.kind(), v.device()));
        let peak = v.argmax(2, false).to_kind(v.kind());
        let fired = v.max_dim(2, false).0.ge(self.v_threshold);
        let mask = fired.to_kind(v.kind()) * 2.0 - 1.0;
        let soft =
            ((&v * self.t as f64).softmax(2, v.kind()) * t).sum_dim_intlist(2, false, v.kind())
                * &mask;
        let hard = peak.where_self(&fired, &Tensor::full_like(&peak, -1.0));
        Ok(&soft + (hard - &soft).detach())
    }

    /// `Tempotron.mse_loss(v_max, v_threshold, label, num_classes)`: the squared distance to the
    /// threshold of the neurons on the wrong side of it (the label's neuron should fire, the others
    /// not), summed and divided by the batch size.
    pub fn mse_loss(
        v_max: &Tensor,
        v_threshold: f64,
        label: &Tensor,
        num_classes: i64,
    ) -> Result<Tensor> {
        let what = "Tempotron::mse_loss";
        let n = label.size().first().copied().unwrap_or(0);
        if label.dim() != 1 || v_max.size() != [n, num_classes] || n == 0 {
            return Err(SjError::config(
                what,
                format!(
                    "needs v_max [N, {num_classes}] and labels [N] (N > 0), got {:?} and {:?}",
                    v_max.size(),
                    label.size()
                ),
            ));
        }
        let label = label.to_kind(Kind::Int64);
        if label.lt(0).any().int64_value(&[]) != 0
            || label.ge(num_classes).any().int64_value(&[]) != 0
        {
            return Err(SjError::config(
                what,
                format!("labels must be in 0..{num_classes}"),
            ));
        }
        let wrong = v_max
            .ge(v_threshold)
            .to_kind(v_max.kind())
            .ne_tensor(&label.one_hot(num_classes).to_kind(v_max.kind()))
            .to_kind(v_max.kind());
        Ok(((v_max - v_threshold) * wrong).square().sum(v_max.kind()) / n as f64)
    }
}

impl Module for Tempotron {
    fn type_name(&self) -> &'static str {
        "Tempotron"
    }
    /// `v_max` of spike times `[N, in]`.
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        self.v_max(x)
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("fc".into(), &self.fc as &dyn Module)]
    }
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        vec![("fc".into(), &mut self.fc as &mut dyn Module)]
    }
    fn extra_repr(&self) -> String {
        let w = self.fc.weight().size();
        format!(
            "in_features={}, out_features={}, T={}, tau={:?}, tau_s={:?}, v_threshold={:?}",
            w[1], w[0], self.t, self.tau, self.tau_s, self.v_threshold
        )
    }
}
