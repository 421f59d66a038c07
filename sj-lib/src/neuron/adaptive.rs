//! `AdaptBaseNode` dynamics and `IzhikevichNode`: neurons with an adaptation current `w`.
use super::{check_tau, BaseNode, Neuron};
use crate::base::Memory;
use crate::error::{Result, SjError};
use sj_kernels::{ChargeRef, IzhikevichCharge, QifCharge};
use std::sync::Arc;
use tch::Tensor;

/// Izhikevich neuron (an `AdaptBaseNode`):
/// `H = V + (X + a0·(V − V_rest)·(V − V_c) − W)/τ`, then the adaptation
/// `W = W + (a·(H − V_rest) − W)/τ_w`, fire, reset (hard: `(1 − S_d)·H + S·V_reset`; soft:
/// `H − S_d·V_th`) and the spike-triggered jump `W = W + b·S`.
/// Defaults: `tau=2, v_c=0.8, a0=1, v_reset=0, v_rest=-0.1, w_rest=0, tau_w=2, a=0, b=0`.
#[derive(Debug)]
pub struct IzhikevichNode {
    node: BaseNode,
    /// Time constant τ.
    pub tau: f64,
    /// Critical voltage.
    pub v_c: f64,
    /// Sharpness (> 0).
    pub a0: f64,
    /// Resting potential.
    pub v_rest: f64,
    /// Reset value of the adaptation current.
    pub w_rest: f64,
    /// Adaptation time constant.
    pub tau_w: f64,
    /// Sub-threshold adaptation coupling.
    pub a: f64,
    /// Spike-triggered adaptation jump.
    pub b: f64,
    /// The adaptation memory `w`.
    pub w: Memory,
}

impl IzhikevichNode {
    /// `IzhikevichNode(tau, v_c, a0, v_rest, w_rest, tau_w, a, b)`; errors unless `tau > 1` and `a0 > 0`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tau: f64,
        v_c: f64,
        a0: f64,
        v_rest: f64,
        w_rest: f64,
        tau_w: f64,
        a: f64,
        b: f64,
    ) -> Result<Self> {
        check_tau("IzhikevichNode", "tau", tau)?;
        if a0 <= 0.0 {
            return Err(SjError::config(
                "IzhikevichNode",
                format!("a0 must be > 0, got {a0}"),
            ));
        }
        Ok(IzhikevichNode {
            node: BaseNode::default(),
            tau,
            v_c,
            a0,
            v_rest,
            w_rest,
            tau_w,
            a,
            b,
            w: Memory::Float(w_rest),
        })
    }
}

impl Default for IzhikevichNode {
    fn default() -> Self {
        IzhikevichNode::new(2.0, 0.8, 1.0, -0.1, 0.0, 2.0, 0.0, 0.0).expect("defaults are valid")
    }
}

impl Neuron for IzhikevichNode {
    fn type_name(&self) -> &'static str {
        "IzhikevichNode"
    }
    fn node(&self) -> &BaseNode {
        &self.node
    }
    fn node_mut(&mut self) -> &mut BaseNode {
        &mut self.node
    }
    fn fused(&self) -> Option<(ChargeRef, Option<Tensor>)> {
        let charge = IzhikevichCharge {
            qif: QifCharge {
                tau: self.tau as f32,
                v_c: self.v_c as f32,
                a0: self.a0 as f32,
                v_rest: self.v_rest as f32,
            },
            // rounded to f32 once, as the op-by-op path multiplies by it
            inv_tau_w: (1.0 / self.tau_w) as f32,
            a: self.a as f32,
            b: self.b as f32,
        };
        Some((Arc::new(charge), None))
    }
    fn fused_extra_state(&mut self, like: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(self.w.to_tensor_like("IzhikevichNode", like)?))
    }
    fn set_fused_extra_state(&mut self, state: Tensor) {
        self.w = Memory::Tensor(state);
    }
    fn neuronal_charge(&self, x: &Tensor, v: &Tensor) -> Tensor {
        let w = self.w.tensor().expect("w is broadcast before charging");
        v + (x + (v - self.v_rest) * (v - self.v_c) * self.a0 - w) / self.tau
    }
    fn neuron_repr(&self) -> String {
        format!(
            "v_rest={:?}, w_rest={:?}, tau_w={:?}, a={:?}, b={:?}, tau={:?}, v_c={:?}, a0={:?}",
            self.v_rest, self.w_rest, self.tau_w, self.a, self.b, self.tau, self.v_c, self.a0
        )
    }
    fn extra_memories(&self) -> Vec<(String, Option<Tensor>)> {
        vec![("w".into(), self.w.tensor().map(Tensor::shallow_clone))]
    }
    fn reset_extra(&mut self) {
        self.w = Memory::Float(self.w_rest);
    }
    fn detach_extra(&mut self) {
        self.w.detach();
    }
    fn single_step_forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let v = self.node.v.to_tensor_like("IzhikevichNode", x)?;
        let w = self.w.to_tensor_like("IzhikevichNode", x)?;
        let h = self.neuronal_charge(x, &v);
        let w = &w + (self.a * (&h - self.v_rest) - &w) * (1.0 / self.tau_w);
        let spike = self.node.fire(&h);
        let spike_d = if self.node.detach_reset {
            spike.detach()
        } else {
            spike.shallow_clone()
        };
        let v = match self.node.v_reset {
            None => &h - &spike_d * self.node.v_threshold,
            Some(r) => (1.0 - &spike_d) * &h + &spike * r,
        };
        self.node.v = Memory::Tensor(v);
        self.w = Memory::Tensor(w + &spike * self.b);
        Ok(spike)
    }
}
