//! `activation_based.encoding`: turning analog inputs into spikes (inventory §2.6).
//!
//! * Stateless encoders (SpikingJelly's `StatelessEncoder`) map each call's input to a spike of
//!   the same shape: [`PoissonEncoder`]. In step mode `m` they apply the same element-wise rule to
//!   the whole `[T, N, *]` sequence.
//! * Stateful encoders (SpikingJelly's `StatefulEncoder(T)`: [`PeriodicEncoder`],
//!   [`LatencyEncoder`], [`WeightedPhaseEncoder`]) keep two memories, `spike` (`[T, *]`, none until
//!   the first call) and `t` (0). The first call encodes its input `x` into `spike`; the k-th call
//!   (counting from 0) returns `spike[k mod T]`, ignoring the values it is given. Reset them (`reset_net`)
//!   before encoding a new input. Later inputs must have the shape of the encoded one, else the
//!   call is a [`SjError::StaleState`] (a new batch fed without `reset_net`).
//! * Step mode `m` of a stateful encoder is SpikingJelly's `MemoryModule.multi_step_forward`: the
//!   sequence `x_seq` `[T', *]` is fed one step at a time, so the first step encodes `x_seq[0]`,
//!   the other steps' inputs are ignored, and the result is `[spike[t], spike[t+1], ...]` (indices
//!   mod T) of length T'. Feeding the input repeated T times (`x.unsqueeze(0).repeat(T, ...)`) to
//!   a freshly reset encoder therefore returns the whole `[T, *]` spike train.
//!
//! Inputs outside an encoder's documented range are an `Err` naming the encoder (SpikingJelly
//! asserts or only warns).
//!
//! ```
//! use sj::encoding::LatencyEncoder;
//! use sj::prelude::*;
//! let mut enc = LatencyEncoder::new(5).unwrap();
//! let x = Tensor::from_slice(&[1.0f32, 0.0, 0.5]);
//! let s: Vec<Vec<f32>> = (0..5).map(|_| Vec::try_from(&enc.forward(&x).unwrap()).unwrap()).collect();
//! // t_f = 4·(1 − x) = [0, 4, 2]
//! assert_eq!(s[0], [1.0, 0.0, 0.0]);
//! assert_eq!(s[2], [0.0, 0.0, 1.0]);
//! assert_eq!(s[4], [0.0, 1.0, 0.0]);
//! ```
use crate::base::{check_dims, check_float, Module, StepMode};
use crate::error::{op_error, Result, SjError};
use tch::{Kind, Tensor};

/// The longest [`LatencyEncoder`] period: `t_f` is computed in the input's dtype, and float32
/// holds every integer time step exactly only up to 2^24.
pub const MAX_LATENCY_T: i64 = 1 << 24;

/// The most phases of a [`WeightedPhaseEncoder`]: its input range `[0, 1 − 2^−K]` is exact in
/// float64 only up to K = 53 (at K = 54 it rounds to `[0, 1]`).
pub const MAX_PHASES: i64 = 53;

/// Errors naming `module` unless every element of `x` lies in `[lo, hi]` (NaN never does).
fn check_range(module: &'static str, x: &Tensor, lo: f64, hi: f64) -> Result<()> {
    let op = op_error(module);
    let inside = x
        .f_ge(lo)
        .and_then(|a| a.f_logical_and(&x.f_le(hi)?))
        .and_then(|a| a.f_all())
        .map_err(&op)?;
    if inside.int64_value(&[]) != 0 {
        return Ok(());
    }
    let (min, max) = (
        x.f_min().map_err(&op)?.double_value(&[]),
        x.f_max().map_err(&op)?.double_value(&[]),
    );
    Err(SjError::Input {
        module: module.into(),
        expected: format!("input values in [{lo}, {hi}]"),
        got: format!("values in [{min}, {max}] (NaN counts as outside)"),
    })
}

/// The memories of a stateful encoder (SpikingJelly's `StatefulEncoder` state).
#[derive(Debug)]
struct EncoderState {
    /// The encoding period `T`.
    period: i64,
    step_mode: StepMode,
    /// `[T, *]`, `None` until the first call after construction or reset.
    spike: Option<Tensor>,
    /// The index of the next spike to return.
    t: i64,
    /// The shape of the input that was encoded, to detect a missing reset.
    encoded_shape: Vec<i64>,
}

impl EncoderState {
    /// The state of an encoder of period `period` in `1..=max`; `what` names and explains it.
    fn new(module: &str, period: i64, max: i64, what: &str) -> Result<Self> {
        if !(1..=max).contains(&period) {
            let range = if max == i64::MAX {
                ">= 1".to_string()
            } else {
                format!("in 1..={max}")
            };
            return Err(SjError::config(
                module,
                format!("{what} must be {range}, got {period}"),
            ));
        }
        Ok(EncoderState {
            period,
            step_mode: StepMode::S,
            spike: None,
            t: 0,
            encoded_shape: Vec::new(),
        })
    }

    /// Stores a freshly encoded `[T, *]` spike train for an input of shape `input`.
    fn store(&mut self, spike: Tensor, input: Vec<i64>) {
        self.period = spike.size()[0];
        self.spike = Some(spike);
        self.encoded_shape = input;
        self.t = 0;
    }
}

/// What a stateful encoder computes on its first call (SpikingJelly's `single_step_encode`).
trait StatefulEncode {
    const NAME: &'static str;
    fn state(&self) -> &EncoderState;
    fn state_mut(&mut self) -> &mut EncoderState;
    /// Encodes `x` into a `[T, *]` spike train.
    fn single_step_encode(&self, x: &Tensor) -> Result<Tensor>;

    /// `single_step_forward`: encode on the first call, then return `spike[t]` and advance `t`.
    fn single_step_forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let spike = match &self.state().spike {
            Some(spike) => {
                if x.size() != self.state().encoded_shape {
                    return Err(SjError::StaleState {
                        module: Self::NAME.into(),
                        state: self.state().encoded_shape.clone(),
                        input: x.size(),
                    });
                }
                spike.shallow_clone()
            }
            None => {
                let spike = self.single_step_encode(x)?;
                self.state_mut().store(spike.shallow_clone(), x.size());
                spike
            }
        };
        let state = self.state_mut();
        let t = state.t;
        state.t = (t + 1) % state.period;
        Ok(spike.get(t))
    }

    /// `forward` in either step mode (`m`: [`StatefulEncode::single_step_forward`] over `x_seq[t]`).
    fn encoder_forward(&mut self, x: &Tensor) -> Result<Tensor> {
        match self.state().step_mode {
            StepMode::S => {
                check_dims(Self::NAME, x, 1, "[N, *] in step mode 's'")?;
                self.single_step_forward(x)
            }
            StepMode::M => {
                check_dims(Self::NAME, x, 2, "[T, N, *] in step mode 'm'")?;
                if x.size()[0] == 0 {
                    // No steps: nothing is encoded, and the output has no steps either.
                    return Ok(x.detach().copy());
                }
                let ys = (0..x.size()[0])
                    .map(|t| self.single_step_forward(&x.get(t)))
                    .collect::<Result<Vec<_>>>()?;
                Tensor::f_stack(&ys, 0).map_err(op_error(Self::NAME))
            }
        }
    }
}

/// Implements [`Module`] for a stateful encoder through its [`StatefulEncode`] impl.
macro_rules! stateful_encoder_module {
    ($ty:ident) => {
        impl Module for $ty {
            fn type_name(&self) -> &'static str {
                <Self as StatefulEncode>::NAME
            }
            fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
                self.encoder_forward(x)
            }
            // `spike` (`None` until the first call) and `t` (a scalar int64 tensor).
            $crate::memory_module! {
                step_mode: state.step_mode,
                memories: {
                    "spike": state.spike = None;
                    "t": state.t = 0;
                },
            }
            fn extra_repr(&self) -> String {
                format!("T={}", self.state.period)
            }
        }

        impl $ty {
            /// `step_mode=`.
            pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
                self.state.step_mode = step_mode;
                self
            }
        }
    };
}

/// `PeriodicEncoder(spike)`: outputs `spike[t % T]` at the t-th call, `T = spike.shape[0]`.
///
/// The constructor's pattern is the `spike` memory until [`Module::reset`]; as in SpikingJelly,
/// the first call after a reset stores its own input `[T', *]` as the new pattern (and `T = T'`),
/// so pass the pattern itself to every call (`encoder(spike)`). Later calls need an input of the
/// pattern's shape.
#[derive(Debug)]
pub struct PeriodicEncoder {
    state: EncoderState,
}

impl PeriodicEncoder {
    /// `PeriodicEncoder(spike)`; `spike` must be at least 1-D with `spike.shape[0] >= 1`.
    pub fn new(spike: &Tensor) -> Result<Self> {
        check_dims("PeriodicEncoder", spike, 1, "a spike pattern [T, *]")?;
        let mut state = EncoderState::new(
            "PeriodicEncoder",
            spike.size()[0],
            i64::MAX,
            "the pattern's length T = spike.shape[0]",
        )?;
        state.store(spike.shallow_clone(), spike.size());
        Ok(PeriodicEncoder { state })
    }
}

impl StatefulEncode for PeriodicEncoder {
    const NAME: &'static str = "PeriodicEncoder";
    fn state(&self) -> &EncoderState {
        &self.state
    }
    fn state_mut(&mut self) -> &mut EncoderState {
        &mut self.state
    }
    fn single_step_encode(&self, spike: &Tensor) -> Result<Tensor> {
        if spike.size()[0] < 1 {
            return Err(SjError::Shape {
                module: Self::NAME.into(),
                expected: "a spike pattern [T >= 1, *]".into(),
                got: spike.size(),
            });
        }
        Ok(spike.shallow_clone())
    }
}

stateful_encoder_module!(PeriodicEncoder);

/// `enc_function` of [`LatencyEncoder`].
#[derive(Clone, Copy, Debug, PartialEq)]
enum EncFunction {
    Linear,
    /// `t_f = (T − 1) − ln(αx + 1)` with this α.
    Log {
        alpha: f64,
    },
}

/// `LatencyEncoder(T, enc_function='linear')`: one spike per element at time `t_f ∈ [0, T−1]`,
/// earlier for larger `x ∈ [0, 1]`.
///
/// * `linear`: `t_f = round((T − 1)(1 − x))`, computed in x's dtype as in SpikingJelly.
/// * `log`: `t_f = round((T − 1) − ln(αx + 1))` with `α = e^{T−1} − 1` (the source's α, so
///   `x = 1` fires at 0 and `x = 0` at `T − 1`; the doc's "t_f(1) = T − 1" is a doc bug),
///   computed in f64 so that α does not overflow f32.
///
/// Rounding is half-to-even (`torch.round`). `spike = one_hot(t_f, T)` moved to `[T, *]`, in x's dtype.
#[derive(Debug)]
pub struct LatencyEncoder {
    state: EncoderState,
    enc_function: EncFunction,
}

impl LatencyEncoder {
    /// `LatencyEncoder(T)` with `enc_function='linear'`; `T` in `1..=`[`MAX_LATENCY_T`].
    pub fn new(t: i64) -> Result<Self> {
        Ok(LatencyEncoder {
            state: EncoderState::new(
                "LatencyEncoder",
                t,
                MAX_LATENCY_T,
                "T (the encoding time window; t_f is computed in the input's dtype, exact in float32 up to 2^24)",
            )?,
            enc_function: EncFunction::Linear,
        })
    }

    /// `enc_function=`: `"linear"` or `"log"`; anything else is an error (SpikingJelly's
    /// `NotImplementedError`), as is `"log"` with a T whose α = e^{T−1} − 1 overflows f64 (T > 710).
    pub fn with_enc_function(mut self, enc_function: &str) -> Result<Self> {
        self.enc_function = match enc_function {
            "linear" => EncFunction::Linear,
            "log" => {
                let alpha = ((self.state.period - 1) as f64).exp_m1();
                if !alpha.is_finite() {
                    return Err(SjError::config(
                        "LatencyEncoder",
                        format!("enc_function 'log' needs alpha = e^(T-1) - 1 finite; T = {} is too large", self.state.period),
                    ));
                }
                EncFunction::Log { alpha }
            }
            other => {
                return Err(SjError::config(
                    "LatencyEncoder",
                    format!("enc_function '{other}' is not supported (expected 'linear' or 'log')"),
                ))
            }
        };
        Ok(self)
    }
}

impl StatefulEncode for LatencyEncoder {
    const NAME: &'static str = "LatencyEncoder";
    fn state(&self) -> &EncoderState {
        &self.state
    }
    fn state_mut(&mut self) -> &mut EncoderState {
        &mut self.state
    }
    fn single_step_encode(&self, x: &Tensor) -> Result<Tensor> {
        check_float(Self::NAME, x)?;
        check_range(Self::NAME, x, 0.0, 1.0)?;
        let period = self.state.period;
        let x = x.detach();
        let t_f = match self.enc_function {
            EncFunction::Linear => {
                let complement: Tensor = 1.0 - &x;
                (complement * (period - 1) as f64).round()
            }
            EncFunction::Log { alpha } => {
                let ln: Tensor = (x.to_kind(Kind::Double) * alpha + 1.0).log();
                ((period - 1) as f64 - ln).round()
            }
        };
        // spike[t] = (t_f == t), [T, *] in x's dtype.
        let nd = x.dim();
        let steps = Tensor::f_arange(period, (Kind::Int64, x.device()))
            .and_then(|s| s.f_view(&[&[period][..], &vec![1; nd][..]].concat()[..]))
            .and_then(|s| s.f_eq_tensor(&t_f.f_to_kind(Kind::Int64)?.f_unsqueeze(0)?))
            .and_then(|s| s.f_to_kind(x.kind()))
            .map_err(op_error(Self::NAME))?;
        Ok(steps)
    }
}

stateful_encoder_module!(LatencyEncoder);

/// `WeightedPhaseEncoder(K)` (Kim et al. 2018, weighted spikes): phase k (1-based) carries weight
/// `2^{−k}`, and `x ∈ [0, 1 − 2^{−K}]` is encoded as its binary expansion, most significant bit
/// first (greedy: `w = 0.5`; `s[i] = x ≥ w`, `x −= w·s[i]`, `w /= 2`). `T = K`.
#[derive(Debug)]
pub struct WeightedPhaseEncoder {
    state: EncoderState,
}

impl WeightedPhaseEncoder {
    /// `WeightedPhaseEncoder(K)`; `K` (the number of phases, 8 in SpikingJelly's example) in
    /// `1..=`[`MAX_PHASES`].
    pub fn new(k: i64) -> Result<Self> {
        Ok(WeightedPhaseEncoder {
            state: EncoderState::new(
                "WeightedPhaseEncoder",
                k,
                MAX_PHASES,
                "K (the number of phases, e.g. 8 for 256 levels; phase k weighs 2^-k and float64 resolves 53 of them)",
            )?,
        })
    }
}

impl StatefulEncode for WeightedPhaseEncoder {
    const NAME: &'static str = "WeightedPhaseEncoder";
    fn state(&self) -> &EncoderState {
        &self.state
    }
    fn state_mut(&mut self) -> &mut EncoderState {
        &mut self.state
    }
    fn single_step_encode(&self, x: &Tensor) -> Result<Tensor> {
        check_float(Self::NAME, x)?;
        let k = self.state.period;
        // k <= MAX_PHASES (the constructor's bound), so the cast and the allocation are small.
        check_range(Self::NAME, x, 0.0, 1.0 - 0.5f64.powi(k as i32))?;
        let mut rest = x.detach().copy();
        let mut w = 0.5;
        let mut phases = Vec::with_capacity(k as usize);
        for _ in 0..k {
            let s = rest.ge(w).to_kind(x.kind());
            rest = &rest - &s * w;
            phases.push(s);
            w *= 0.5;
        }
        Tensor::f_stack(&phases, 0).map_err(op_error(Self::NAME))
    }
}

stateful_encoder_module!(WeightedPhaseEncoder);

/// `PoissonEncoder()`: `spike = (rand_like(x) ≤ x)` in x's dtype, so each element fires with
/// probability `x ∈ [0, 1]`. Stateless; in step mode `m` the whole `[T, N, *]` sequence is sampled.
/// float32 CPU inputs take one fused parallel pass ([`sj_kernels::poisson`]: a counter-based
/// generator keyed from libtorch's, so `tch::manual_seed` still makes runs reproducible; an
/// `expand`ed `[T, N, *]` sequence is not copied); other inputs use `rand_like(x).le(x)`.
#[derive(Debug, Default)]
pub struct PoissonEncoder {
    step_mode: StepMode,
}

impl PoissonEncoder {
    /// `PoissonEncoder()`.
    pub fn new() -> Self {
        Self::default()
    }

    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }
}

impl Module for PoissonEncoder {
    fn type_name(&self) -> &'static str {
        "PoissonEncoder"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        match self.step_mode {
            StepMode::S => check_dims("PoissonEncoder", x, 1, "[N, *] in step mode 's'")?,
            StepMode::M => check_dims("PoissonEncoder", x, 2, "[T, N, *] in step mode 'm'")?,
        }
        check_float("PoissonEncoder", x)?;
        let x = x.detach();
        // float32 on the CPU: one fused pass (sj_kernels::poisson); otherwise libtorch's ops.
        if let Ok(Some(spike)) = sj_kernels::poisson_encode(&x) {
            return Ok(spike);
        }
        // Reports the values the kernel rejected, or guards libtorch's path.
        check_range("PoissonEncoder", &x, 0.0, 1.0)?;
        Ok(x.rand_like().le_tensor(&x).to_kind(x.kind()))
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functional::{named_memories, reset_net, set_step_mode};

    fn f32s(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(&t.flatten(0, -1)).unwrap()
    }

    fn run(enc: &mut dyn Module, x: &Tensor, steps: usize) -> Vec<Vec<f32>> {
        (0..steps).map(|_| f32s(&enc.forward(x).unwrap())).collect()
    }

    #[test]
    fn weighted_phase_k8_table_checklist_295() {
        let mut enc = WeightedPhaseEncoder::new(8).unwrap();
        let x = Tensor::from_slice(&[192.0f32 / 256.0, 1.0 / 256.0, 128.0 / 256.0, 255.0 / 256.0]);
        let s = run(&mut enc, &x, 8);
        let column = |i: usize| s.iter().map(|row| row[i]).collect::<Vec<f32>>();
        assert_eq!(column(0), [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(column(1), [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(column(2), [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(column(3), [1.0; 8]);
        // the weighted sum of the phases gives x back
        let decoded: f32 = s
            .iter()
            .enumerate()
            .map(|(k, row)| row[0] * 0.5f32.powi(k as i32 + 1))
            .sum();
        assert_eq!(decoded, 0.75);
        assert_eq!(enc.extra_repr(), "T=8");
    }

    #[test]
    fn weighted_phase_rejects_inputs_outside_its_range() {
        for bad in [1.0f32, -0.01, 1.0 - 1.0 / 512.0] {
            let mut enc = WeightedPhaseEncoder::new(8).unwrap();
            let err = enc
                .forward(&Tensor::from_slice(&[0.5f32, bad]))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("WeightedPhaseEncoder") && err.contains("[0, 0.99609375]"),
                "{err}"
            );
        }
        assert!(WeightedPhaseEncoder::new(0).is_err());
    }

    #[test]
    fn latency_linear_hand_values_and_cycling() {
        let mut enc = LatencyEncoder::new(5).unwrap();
        // t_f = round(4(1 − x)) = [0, 4, 2, round(2.8) = 3, round(0.5) = 0 (half to even)]
        let x = Tensor::from_slice(&[1.0f32, 0.0, 0.5, 0.3, 0.875]);
        let s = run(&mut enc, &x, 6);
        let fire_times: Vec<usize> = (0..5)
            .map(|i| (0..5).find(|&t| s[t][i] == 1.0).unwrap())
            .collect();
        assert_eq!(fire_times, [0, 4, 2, 3, 0]);
        let spikes_per_element: Vec<f32> = (0..5)
            .map(|i| s[..5].iter().map(|row| row[i]).sum())
            .collect();
        assert_eq!(spikes_per_element, [1.0; 5]);
        assert_eq!(s[5], s[0], "the 6th call wraps to spike[0]");
    }

    #[test]
    fn latency_log_hand_values() {
        let mut enc = LatencyEncoder::new(5)
            .unwrap()
            .with_enc_function("log")
            .unwrap();
        // α = e^4 − 1; t_f = 4 − ln(αx + 1): x=1 → 0, x=0 → 4, x=0.5 → 4 − 3.3250 = 0.675 → 1,
        // x=0.05 → 4 − ln(3.6800) = 2.697 → 3, x=0.01 → 4 − ln(1.5360) = 3.571 → 4
        let x = Tensor::from_slice(&[1.0f32, 0.0, 0.5, 0.05, 0.01]);
        let s = run(&mut enc, &x, 5);
        let fire_times: Vec<usize> = (0..5)
            .map(|i| (0..5).find(|&t| s[t][i] == 1.0).unwrap())
            .collect();
        assert_eq!(fire_times, [0, 4, 1, 3, 4]);
        let err = LatencyEncoder::new(5)
            .unwrap()
            .with_enc_function("exp")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("LatencyEncoder") && err.contains("'exp'"),
            "{err}"
        );
        assert!(LatencyEncoder::new(0).is_err());
        assert!(LatencyEncoder::new(800)
            .unwrap()
            .with_enc_function("log")
            .is_err());
    }

    #[test]
    fn latency_rejects_out_of_range_and_stale_inputs() {
        let mut enc = LatencyEncoder::new(4).unwrap();
        let err = enc
            .forward(&Tensor::from_slice(&[0.5f32, 1.5]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("LatencyEncoder") && err.contains("[0, 1]") && err.contains("1.5"),
            "{err}"
        );
        let _ = enc.forward(&Tensor::from_slice(&[0.5f32, 0.25])).unwrap();
        let err = enc
            .forward(&Tensor::from_slice(&[0.5f32, 0.25, 1.0]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("LatencyEncoder") && err.contains("reset_net") && err.contains("[3]"),
            "{err}"
        );
    }

    #[test]
    fn reset_clears_spike_and_t_and_re_encodes() {
        let mut enc = LatencyEncoder::new(3).unwrap();
        let first = run(&mut enc, &Tensor::from_slice(&[1.0f32]), 2);
        assert_eq!(first, [[1.0], [0.0]]);
        let mems = named_memories(&enc);
        assert_eq!(mems[0].1.as_ref().unwrap().size(), [3, 1]);
        assert_eq!(mems[1].1.as_ref().unwrap().int64_value(&[]), 2);
        reset_net(&mut enc);
        let mems = named_memories(&enc);
        assert!(mems[0].1.is_none());
        assert_eq!(mems[1].1.as_ref().unwrap().int64_value(&[]), 0);
        // a new input is encoded from t = 0 again: x = 0 fires at T − 1 = 2
        assert_eq!(
            run(&mut enc, &Tensor::from_slice(&[0.0f32]), 3),
            [[0.0], [0.0], [1.0]]
        );
    }

    #[test]
    fn periodic_cycles_and_multi_step_matches_single_step() {
        let pattern = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0]).view([3, 2]);
        let mut enc = PeriodicEncoder::new(&pattern).unwrap();
        let s = run(&mut enc, &pattern, 7);
        let rows = [vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 1.0]];
        for (k, row) in s.iter().enumerate() {
            assert_eq!(row, &rows[k % 3], "call {k}");
        }
        // step mode 'm': the steps of x_seq are fed one at a time, starting where t left off (t = 1)
        set_step_mode(&mut enc, StepMode::M).unwrap();
        let y = enc
            .forward(&Tensor::stack(&[&pattern, &pattern], 0))
            .unwrap();
        assert_eq!(f32s(&y), [0.0, 1.0, 1.0, 1.0]);
        // after a reset the next input becomes the pattern (SpikingJelly's single_step_encode)
        reset_net(&mut enc);
        let other = Tensor::from_slice(&[0.0f32, 1.0]).view([1, 2]);
        let y = enc
            .forward(&Tensor::stack(&[&other, &other, &other], 0))
            .unwrap();
        assert_eq!(y.size(), [3, 2]);
        assert_eq!(f32s(&y), [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
        assert_eq!(enc.extra_repr(), "T=1");
    }

    #[test]
    fn multi_step_returns_the_whole_train_of_a_repeated_input() {
        let x = Tensor::from_slice(&[0.75f32, 0.25, 0.5]).view([1, 3]);
        let mut s_enc = WeightedPhaseEncoder::new(3).unwrap();
        let s_out = Tensor::stack(
            &(0..3)
                .map(|_| s_enc.forward(&x).unwrap())
                .collect::<Vec<_>>(),
            0,
        );
        let mut m_enc = WeightedPhaseEncoder::new(3)
            .unwrap()
            .with_step_mode(StepMode::M);
        let m_out = m_enc.forward(&x.unsqueeze(0).repeat([3, 1, 1])).unwrap();
        assert_eq!(m_out.size(), [3, 1, 3]);
        assert_eq!(f32s(&m_out), f32s(&s_out));
        // 0.75 = .11, 0.25 = .01, 0.5 = .10 (MSB first)
        assert_eq!(f32s(&m_out), [1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        let err = m_enc.forward(&x.flatten(0, -1)).unwrap_err().to_string();
        assert!(
            err.contains("WeightedPhaseEncoder") && err.contains("[T, N, *]"),
            "{err}"
        );
    }

    #[test]
    fn poisson_firing_rate_matches_x() {
        tch::manual_seed(0);
        let mut enc = PoissonEncoder::new().with_step_mode(StepMode::M);
        let x = Tensor::from_slice(&[0.0f32, 0.1, 0.5, 0.9, 1.0]);
        let steps = 4000;
        let s = enc.forward(&x.view([1, 5]).repeat([steps, 1])).unwrap();
        assert_eq!(s.size(), [steps, 5]);
        let rate = f32s(&s.mean_dim(&[0i64][..], false, Kind::Float));
        // binomial std ≤ sqrt(0.25 / 4000) ≈ 0.0079; allow 4 std
        for (r, p) in rate.iter().zip([0.0f32, 0.1, 0.5, 0.9, 1.0]) {
            assert!((r - p).abs() < 0.032, "rate {r} vs x {p}");
        }
        assert_eq!(rate[4], 1.0, "x = 1 always fires");
        // every value is a spike, and the encoder is stateless
        assert_eq!(
            s.ne(0.0)
                .logical_and(&s.ne(1.0))
                .sum(Kind::Int64)
                .int64_value(&[]),
            0
        );
        assert!(!enc.is_stateful());
        let err = PoissonEncoder::new()
            .forward(&Tensor::from_slice(&[0.5f32, -0.5]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("PoissonEncoder") && err.contains("-0.5"),
            "{err}"
        );
        let err = PoissonEncoder::new()
            .forward(&Tensor::from_slice(&[1i64]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("PoissonEncoder") && err.contains("floating-point"),
            "{err}"
        );
    }
}
