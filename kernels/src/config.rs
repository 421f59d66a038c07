//! What a fused call needs to know: the neuron's charge ([`ChargeRef`]), how it fires and resets
//! ([`Firing`], with the surrogate), and what it returns.
use crate::charge::ChargeRef;
use crate::surrogate::SurrogateRef;

/// `Err` naming `name` unless `v` is finite and passes `ok`, which `must` describes (`""`: only
/// finiteness is required). Shared by the charges' checks.
pub fn require(name: &str, v: f64, ok: bool, must: &str) -> Result<(), String> {
    match (v.is_finite() && ok, must) {
        (true, _) => Ok(()),
        (false, "") => Err(format!("{name} must be finite, got {v}")),
        (false, _) => Err(format!("{name} must be finite and {must}, got {v}")),
    }
}

/// Firing and reset, shared by every neuron: `S = Θ(H − V_th)` with the surrogate's gradient,
/// then the hard reset `V = H·(1 − S) + V_reset·S` or the soft reset `V = H − V_th·S`.
#[derive(Clone, Debug)]
pub struct Firing {
    /// `v_threshold`.
    pub v_threshold: f64,
    /// `v_reset`; `None` is the soft reset.
    pub v_reset: Option<f64>,
    /// Drop the reset path from the gradient.
    pub detach_reset: bool,
    /// The surrogate whose gradient the backward pass uses.
    pub surrogate: SurrogateRef,
}

impl Firing {
    /// Checks a finite `v_threshold` and `v_reset` and the surrogate's parameters.
    pub fn check(&self) -> Result<(), String> {
        check_firing(self.v_threshold, self.v_reset, self.surrogate.as_ref())
    }
}

/// Checks what every neuron fires and resets with: a finite `v_threshold` and `v_reset`, and the
/// surrogate's parameters.
pub fn check_firing(
    v_threshold: f64,
    v_reset: Option<f64>,
    surrogate: &dyn crate::DynSurrogate,
) -> Result<(), String> {
    require("v_threshold", v_threshold, true, "")?;
    if let Some(r) = v_reset {
        require("v_reset", r, true, "")?;
    }
    surrogate.check().map_err(|e| format!("surrogate: {e}"))
}

/// One fused multi-step neuron call.
#[derive(Clone, Debug)]
pub struct NeuronConfig {
    /// The charge equation (any [`Charge`](crate::Charge), built in or user-defined).
    pub charge: ChargeRef,
    /// Firing, reset and surrogate.
    pub firing: Firing,
    /// Return `V[t]` for every step (`[T, *]`); otherwise only the last potential (`[*]`), which
    /// saves writing and allocating a `[T, *]` tensor.
    pub store_v_seq: bool,
}

impl NeuronConfig {
    /// A call that returns only the last state (`store_v_seq = false`).
    pub fn new(charge: ChargeRef, firing: Firing) -> Self {
        NeuronConfig {
            charge,
            firing,
            store_v_seq: false,
        }
    }

    /// Returns a copy with `store_v_seq` set.
    pub fn with_store_v_seq(mut self, store_v_seq: bool) -> Self {
        self.store_v_seq = store_v_seq;
        self
    }

    /// Checks every number of the call: the charge's constants, a finite `v_threshold` and
    /// `v_reset`, and the surrogate's parameters.
    pub fn check(&self) -> Result<(), String> {
        self.charge.check()?;
        self.firing.check()
    }
}
