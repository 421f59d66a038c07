//! What a fused call needs to know: the neuron's charge, firing and reset, and the surrogate.
use crate::surrogate::SurrogateKind;

/// The neurons with fused kernels and their constants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NeuronKind {
    /// `IFNode`.
    If,
    /// `LIFNode(tau, decay_input)`.
    Lif { tau: f64, decay_input: bool },
    /// `ParametricLIFNode(decay_input)`: the decay `k = sigmoid(w)` is a tensor argument.
    ParametricLif { decay_input: bool },
    /// `QIFNode(tau, v_c, a0, v_rest)`.
    Qif {
        tau: f64,
        v_c: f64,
        a0: f64,
        v_rest: f64,
    },
    /// `EIFNode(tau, delta_T, theta_rh, v_rest)`.
    Eif {
        tau: f64,
        delta_t: f64,
        theta_rh: f64,
        v_rest: f64,
    },
    /// `IzhikevichNode(tau, v_c, a0, v_rest, w_rest, tau_w, a, b)` (`w_rest` only sets the initial
    /// state): two state variables, so the state tensor is `[2, *]` (`V`, then `W`).
    Izhikevich {
        tau: f64,
        v_c: f64,
        a0: f64,
        v_rest: f64,
        tau_w: f64,
        a: f64,
        b: f64,
    },
}

/// `Err` naming `name` unless `v` is finite and passes `ok`, which `must` describes (`""`: only
/// finiteness is required).
fn require(name: &str, v: f64, ok: bool, must: &str) -> Result<(), String> {
    match (v.is_finite() && ok, must) {
        (true, _) => Ok(()),
        (false, "") => Err(format!("{name} must be finite, got {v}")),
        (false, _) => Err(format!("{name} must be finite and {must}, got {v}")),
    }
}

/// Checks what every neuron fires and resets with: a finite `v_threshold` and `v_reset`, and the
/// surrogate's parameters ([`SurrogateKind::check`]).
pub fn check_firing(
    v_threshold: f64,
    v_reset: Option<f64>,
    surrogate: &SurrogateKind,
) -> Result<(), String> {
    require("v_threshold", v_threshold, true, "")?;
    if let Some(r) = v_reset {
        require("v_reset", r, true, "")?;
    }
    surrogate.check().map_err(|e| format!("surrogate: {e}"))
}

impl NeuronKind {
    /// Checks the constants (SpikingJelly's asserts, `tau > 1` and `a0 > 0`, plus what keeps the
    /// state finite: `delta_T > 0`, `tau_w > 0`, every constant finite). Neurons call it before
    /// every forward, so a field changed after construction is checked too.
    pub fn check(&self) -> Result<(), String> {
        let tau_gt_1 = |tau: f64| require("tau", tau, tau > 1.0, "> 1");
        let finite = |name: &str, v: f64| require(name, v, true, "");
        match *self {
            NeuronKind::If | NeuronKind::ParametricLif { .. } => Ok(()),
            NeuronKind::Lif { tau, .. } => tau_gt_1(tau),
            NeuronKind::Qif {
                tau,
                v_c,
                a0,
                v_rest,
            } => {
                tau_gt_1(tau)?;
                require("a0", a0, a0 > 0.0, "> 0")?;
                finite("v_c", v_c)?;
                finite("v_rest", v_rest)
            }
            NeuronKind::Eif {
                tau,
                delta_t,
                theta_rh,
                v_rest,
            } => {
                tau_gt_1(tau)?;
                require("delta_T", delta_t, delta_t > 0.0, "> 0")?;
                finite("theta_rh", theta_rh)?;
                finite("v_rest", v_rest)
            }
            NeuronKind::Izhikevich {
                tau,
                v_c,
                a0,
                v_rest,
                tau_w,
                a,
                b,
            } => {
                tau_gt_1(tau)?;
                require("a0", a0, a0 > 0.0, "> 0")?;
                require("tau_w", tau_w, tau_w > 0.0, "> 0")?;
                for (name, v) in [("v_c", v_c), ("v_rest", v_rest), ("a", a), ("b", b)] {
                    finite(name, v)?;
                }
                Ok(())
            }
        }
    }

    /// State variables per neuron: 2 for Izhikevich (`V`, `W`), else 1 (`V`).
    pub fn state_len(&self) -> usize {
        match self {
            NeuronKind::Izhikevich { .. } => 2,
            _ => 1,
        }
    }
}

/// Numbers that carry a [`NeuronKind`]'s constants in [`NeuronConfig::encode`].
const KIND_PARAMS: usize = 7;

/// One fused multi-step neuron call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NeuronConfig {
    /// The charge equation.
    pub kind: NeuronKind,
    /// `v_threshold`.
    pub v_threshold: f64,
    /// `v_reset`; `None` is the soft reset.
    pub v_reset: Option<f64>,
    /// Drop the reset path from the gradient.
    pub detach_reset: bool,
    /// The surrogate whose gradient the backward pass uses.
    pub surrogate: SurrogateKind,
    /// Return `V[t]` for every step (`[T, *]`); otherwise only the last potential (`[*]`), which
    /// saves writing and allocating a `[T, *]` tensor.
    pub store_v_seq: bool,
}

impl NeuronConfig {
    /// Checks every number of the call: the neuron's constants ([`NeuronKind::check`]), a finite
    /// `v_threshold` and `v_reset`, and the surrogate's parameters ([`SurrogateKind::check`]).
    pub fn check(&self) -> Result<(), String> {
        self.kind.check()?;
        check_firing(self.v_threshold, self.v_reset, &self.surrogate)
    }

    /// A key that identifies the generated CUDA source of this configuration (for the kernel cache).
    pub fn cache_key(&self) -> String {
        format!("{self:?}")
    }
}

impl SurrogateKind {
    fn encode(&self) -> [f64; 3] {
        match *self {
            SurrogateKind::PiecewiseQuadratic { alpha } => [0.0, alpha, 0.0],
            SurrogateKind::PiecewiseExp { alpha } => [1.0, alpha, 0.0],
            SurrogateKind::Sigmoid { alpha } => [2.0, alpha, 0.0],
            SurrogateKind::SoftSign { alpha } => [3.0, alpha, 0.0],
            SurrogateKind::ATan { alpha } => [4.0, alpha, 0.0],
            SurrogateKind::NonzeroSignLogAbs { alpha } => [5.0, alpha, 0.0],
            SurrogateKind::Erf { alpha } => [6.0, alpha, 0.0],
            SurrogateKind::PiecewiseLeakyReLU { w, c } => [7.0, w, c],
            SurrogateKind::SquarewaveFourierSeries { n, t_period } => [8.0, n as f64, t_period],
            SurrogateKind::S2NN { alpha, beta } => [9.0, alpha, beta],
            SurrogateKind::QPseudoSpike { alpha } => [10.0, alpha, 0.0],
            SurrogateKind::LeakyKReLU { leak, k } => [11.0, leak, k],
            SurrogateKind::FakeNumericalGradient { alpha } => [12.0, alpha, 0.0],
            SurrogateKind::LogTailedReLU { alpha } => [13.0, alpha, 0.0],
        }
    }

    fn decode(c: &[f64]) -> Option<Self> {
        let (a, b) = (c[1], c[2]);
        Some(match c[0] as i64 {
            0 => SurrogateKind::PiecewiseQuadratic { alpha: a },
            1 => SurrogateKind::PiecewiseExp { alpha: a },
            2 => SurrogateKind::Sigmoid { alpha: a },
            3 => SurrogateKind::SoftSign { alpha: a },
            4 => SurrogateKind::ATan { alpha: a },
            5 => SurrogateKind::NonzeroSignLogAbs { alpha: a },
            6 => SurrogateKind::Erf { alpha: a },
            7 => SurrogateKind::PiecewiseLeakyReLU { w: a, c: b },
            8 => SurrogateKind::SquarewaveFourierSeries {
                n: a as i64,
                t_period: b,
            },
            9 => SurrogateKind::S2NN { alpha: a, beta: b },
            10 => SurrogateKind::QPseudoSpike { alpha: a },
            11 => SurrogateKind::LeakyKReLU { leak: a, k: b },
            12 => SurrogateKind::FakeNumericalGradient { alpha: a },
            13 => SurrogateKind::LogTailedReLU { alpha: a },
            _ => return None,
        })
    }
}

impl NeuronConfig {
    /// Packs the configuration into numbers, to travel through libtorch's autograd context.
    pub(crate) fn encode(&self) -> Vec<f64> {
        let (id, p) = match self.kind {
            NeuronKind::If => (0.0, [0.0; KIND_PARAMS]),
            NeuronKind::Lif { tau, decay_input } => (
                1.0,
                [tau, decay_input as u8 as f64, 0.0, 0.0, 0.0, 0.0, 0.0],
            ),
            NeuronKind::ParametricLif { decay_input } => (
                2.0,
                [decay_input as u8 as f64, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            ),
            NeuronKind::Qif {
                tau,
                v_c,
                a0,
                v_rest,
            } => (3.0, [tau, v_c, a0, v_rest, 0.0, 0.0, 0.0]),
            NeuronKind::Eif {
                tau,
                delta_t,
                theta_rh,
                v_rest,
            } => (4.0, [tau, delta_t, theta_rh, v_rest, 0.0, 0.0, 0.0]),
            NeuronKind::Izhikevich {
                tau,
                v_c,
                a0,
                v_rest,
                tau_w,
                a,
                b,
            } => (5.0, [tau, v_c, a0, v_rest, tau_w, a, b]),
        };
        let mut out = vec![id];
        out.extend(p);
        out.extend([self.v_threshold, self.v_reset.unwrap_or(f64::NAN)]);
        out.push(self.detach_reset as u8 as f64);
        out.extend(self.surrogate.encode());
        out.push(self.store_v_seq as u8 as f64);
        out
    }

    /// The inverse of [`NeuronConfig::encode`].
    pub(crate) fn decode(c: &[f64]) -> Option<Self> {
        if c.len() != 8 + KIND_PARAMS {
            return None;
        }
        let p = &c[1..1 + KIND_PARAMS];
        let kind = match c[0] as i64 {
            0 => NeuronKind::If,
            1 => NeuronKind::Lif {
                tau: p[0],
                decay_input: p[1] != 0.0,
            },
            2 => NeuronKind::ParametricLif {
                decay_input: p[0] != 0.0,
            },
            3 => NeuronKind::Qif {
                tau: p[0],
                v_c: p[1],
                a0: p[2],
                v_rest: p[3],
            },
            4 => NeuronKind::Eif {
                tau: p[0],
                delta_t: p[1],
                theta_rh: p[2],
                v_rest: p[3],
            },
            5 => NeuronKind::Izhikevich {
                tau: p[0],
                v_c: p[1],
                a0: p[2],
                v_rest: p[3],
                tau_w: p[4],
                a: p[5],
                b: p[6],
            },
            _ => return None,
        };
        let c = &c[1 + KIND_PARAMS..];
        let v_reset = if c[1].is_nan() { None } else { Some(c[1]) };
        Some(NeuronConfig {
            kind,
            v_threshold: c[0],
            v_reset,
            detach_reset: c[2] != 0.0,
            surrogate: SurrogateKind::decode(&c[3..6])?,
            store_v_seq: c[6] != 0.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let surrogates = [
            SurrogateKind::PiecewiseQuadratic { alpha: 1.0 },
            SurrogateKind::PiecewiseExp { alpha: 1.5 },
            SurrogateKind::Sigmoid { alpha: 4.0 },
            SurrogateKind::SoftSign { alpha: 2.0 },
            SurrogateKind::ATan { alpha: 2.0 },
            SurrogateKind::NonzeroSignLogAbs { alpha: 1.0 },
            SurrogateKind::Erf { alpha: 2.0 },
            SurrogateKind::PiecewiseLeakyReLU { w: 1.0, c: 0.01 },
            SurrogateKind::SquarewaveFourierSeries {
                n: 3,
                t_period: 8.0,
            },
            SurrogateKind::S2NN {
                alpha: 4.0,
                beta: 1.0,
            },
            SurrogateKind::QPseudoSpike { alpha: 2.0 },
            SurrogateKind::LeakyKReLU { leak: 0.1, k: 1.0 },
            SurrogateKind::FakeNumericalGradient { alpha: 0.3 },
            SurrogateKind::LogTailedReLU { alpha: 0.1 },
        ];
        let kinds = [
            NeuronKind::If,
            NeuronKind::Lif {
                tau: 2.5,
                decay_input: false,
            },
            NeuronKind::ParametricLif { decay_input: true },
            NeuronKind::Qif {
                tau: 2.0,
                v_c: 0.8,
                a0: 1.0,
                v_rest: 0.0,
            },
            NeuronKind::Eif {
                tau: 2.0,
                delta_t: 1.0,
                theta_rh: 0.8,
                v_rest: -0.1,
            },
            NeuronKind::Izhikevich {
                tau: 2.0,
                v_c: 0.8,
                a0: 1.0,
                v_rest: -0.1,
                tau_w: 3.0,
                a: 0.3,
                b: 0.2,
            },
        ];
        for (i, surrogate) in surrogates.into_iter().enumerate() {
            let cfg = NeuronConfig {
                kind: kinds[i % kinds.len()],
                v_threshold: 0.9,
                v_reset: if i % 2 == 0 { Some(-0.2) } else { None },
                detach_reset: i % 3 == 0,
                surrogate,
                store_v_seq: i % 2 == 1,
            };
            assert_eq!(NeuronConfig::decode(&cfg.encode()), Some(cfg));
        }
        assert_eq!(NeuronConfig::decode(&[0.0; 3]), None);
    }
}
