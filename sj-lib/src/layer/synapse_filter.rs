//! `layer.SynapseFilter`: a stateful current filter `τ dI/dt = −I`, `I += 1` on each spike
//! (inventory §2.4.3, checklist 90).
use crate::base::{check_float, variable, Memory, Module, NamedTensor, StepMode};
use crate::error::Result;
use crate::functional::step_by_step;
use crate::neuron::check_tau;
use tch::{nn, Tensor};

/// How `1/τ` is stored.
#[derive(Debug)]
enum InvTau {
    /// A fixed `τ`.
    Fixed(f64),
    /// `1/τ = sigmoid(w)` with a learnable scalar `w`.
    Learnable(Tensor),
}

/// `SynapseFilter(tau=100.0, learnable=False)`: `I[t] = I[t−1] − (1 − S[t])·I[t−1]/τ + S[t]`;
/// the output is `I[t]`, kept in the memory `out_i`.
#[derive(Debug)]
pub struct SynapseFilter {
    inv_tau: InvTau,
    out_i: Memory,
    step_mode: StepMode,
}

impl SynapseFilter {
    /// `SynapseFilter(tau, learnable=False)`; errors unless `tau > 1`.
    pub fn new(tau: f64) -> Result<Self> {
        check_tau("SynapseFilter", "tau", tau)?;
        Ok(SynapseFilter {
            inv_tau: InvTau::Fixed(tau),
            out_i: Memory::Float(0.0),
            step_mode: StepMode::S,
        })
    }

    /// `SynapseFilter(tau, learnable=True)`: registers `w = −ln(tau − 1)` as `w` under `path`
    /// (so `sigmoid(w) = 1/tau`); errors unless `tau > 1`.
    pub fn new_learnable(path: &nn::Path, tau: f64) -> Result<Self> {
        check_tau("SynapseFilter", "tau", tau)?;
        let w = variable(
            "SynapseFilter",
            path,
            "w",
            &[],
            nn::Init::Const(-(tau - 1.0).ln()),
        )?;
        Ok(SynapseFilter {
            inv_tau: InvTau::Learnable(w),
            out_i: Memory::Float(0.0),
            step_mode: StepMode::S,
        })
    }

    /// `step_mode=`.
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    /// The current time constant (`1/sigmoid(w)` when learnable).
    pub fn tau(&self) -> f64 {
        match &self.inv_tau {
            InvTau::Fixed(tau) => *tau,
            InvTau::Learnable(w) => 1.0 / w.sigmoid().double_value(&[]),
        }
    }

    /// Whether `τ` is learnable.
    pub fn learnable(&self) -> bool {
        matches!(self.inv_tau, InvTau::Learnable(_))
    }

    /// The learnable `w`, if any.
    pub fn w(&self) -> Option<&Tensor> {
        match &self.inv_tau {
            InvTau::Fixed(_) => None,
            InvTau::Learnable(w) => Some(w),
        }
    }

    /// The current `out_i` (`None` until the first step and after `reset()`).
    pub fn out_i(&self) -> Option<&Tensor> {
        self.out_i.tensor()
    }

    fn single_step_forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let i = self.out_i.to_tensor_like("SynapseFilter", x)?;
        let leak: Tensor = (1.0 - x) * &i;
        let i = match &self.inv_tau {
            InvTau::Fixed(tau) => &i - leak / *tau + x,
            InvTau::Learnable(w) => &i - leak * w.sigmoid() + x,
        };
        self.out_i = Memory::Tensor(i.shallow_clone());
        Ok(i)
    }
}

impl Module for SynapseFilter {
    fn type_name(&self) -> &'static str {
        "SynapseFilter"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        crate::error::torch_guard("SynapseFilter", || {
            check_float("SynapseFilter", x)?;
            match self.step_mode {
                StepMode::S => self.single_step_forward(x),
                StepMode::M => {
                    step_by_step("SynapseFilter", x, |x_t| self.single_step_forward(x_t))
                }
            }
        })
    }
    crate::memory_module! {
        step_mode: step_mode,
        memories: { "out_i": out_i = Memory::Float(0.0) },
    }
    fn named_tensors(&self) -> Vec<NamedTensor> {
        self.w()
            .map(|w| vec![("w".to_string(), w.shallow_clone())])
            .unwrap_or_default()
    }
    fn extra_repr(&self) -> String {
        let learnable = if self.learnable() { "True" } else { "False" };
        format!(
            "tau={:?}, learnable={learnable}, step_mode={}",
            self.tau(),
            self.step_mode
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functional::reset_net;
    use tch::{Device, Kind};

    fn values(t: &Tensor) -> Vec<f64> {
        Vec::<f64>::try_from(&t.to_kind(Kind::Double).flatten(0, -1)).unwrap()
    }

    // tau = 2, S = 1 0 0 1 0: I = 1, 0.5, 0.25, 1.25, 0.625
    const SPIKES: [f32; 5] = [1.0, 0.0, 0.0, 1.0, 0.0];
    const CURRENT: [f64; 5] = [1.0, 0.5, 0.25, 1.25, 0.625];

    #[test]
    fn hand_computed_current_tau_2_checklist_90() {
        let mut f = SynapseFilter::new(2.0).unwrap();
        let mut got = Vec::new();
        for s in SPIKES {
            got.push(values(&f.forward(&Tensor::from_slice(&[s])).unwrap())[0]);
        }
        assert_eq!(got, CURRENT);
        assert_eq!(values(f.out_i().unwrap()), vec![0.625]);
        reset_net(&mut f);
        assert!(f.out_i().is_none());
        let mut f = SynapseFilter::new(2.0).unwrap().with_step_mode(StepMode::M);
        let y = f
            .forward(&Tensor::from_slice(&SPIKES).view([5, 1]))
            .unwrap();
        assert_eq!(values(&y), CURRENT);
    }

    #[test]
    fn learnable_starts_at_tau_and_has_a_gradient() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut f = SynapseFilter::new_learnable(&vs.root(), 2.0)
            .unwrap()
            .with_step_mode(StepMode::M);
        assert!((f.tau() - 2.0).abs() < 1e-6);
        assert_eq!(f.w().unwrap().double_value(&[]), 0.0, "w0 = -ln(2 - 1) = 0");
        assert_eq!(vs.variables().into_keys().collect::<Vec<_>>(), ["w"]);
        let y = f
            .forward(&Tensor::from_slice(&SPIKES).view([5, 1]))
            .unwrap();
        let got = values(&y);
        for (g, w) in got.iter().zip(CURRENT) {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
        // with k = 1/tau: I[4] = ((1-k)^2 + 1)(1-k) = (1-k)^3 + (1-k), so dI[4]/dk = -3(1-k)^2 - 1
        // = -1.75 at k = 0.5, and dk/dw = k(1-k) = 0.25: dI[4]/dw = -0.4375
        y.get(4).sum(Kind::Float).backward();
        let g = f.w().unwrap().grad().double_value(&[]);
        assert!((g + 0.4375).abs() < 1e-6, "{g}");
        let m =
            SynapseFilter::new_learnable(&nn::VarStore::new(Device::Cpu).root(), 100.0).unwrap();
        assert!((m.tau() - 100.0).abs() < 1e-3 && m.extra_repr().contains("learnable=True"));
    }

    #[test]
    fn bad_tau_and_stale_state_are_errors() {
        assert!(SynapseFilter::new(1.0)
            .unwrap_err()
            .to_string()
            .contains("tau must be > 1"));
        let mut f = SynapseFilter::new(100.0).unwrap();
        assert_eq!(f.extra_repr(), "tau=100.0, learnable=False, step_mode=s");
        let _ = f
            .forward(&Tensor::ones([2, 3], (Kind::Float, Device::Cpu)))
            .unwrap();
        let err = f
            .forward(&Tensor::ones([3, 3], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("SynapseFilter") && err.contains("reset_net"),
            "{err}"
        );
    }
}
