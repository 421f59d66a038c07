//! `LIFNode`: the leaky integrate-and-fire neuron.
use super::{check_tau, BaseNode, Neuron};
use crate::error::Result;
use sj_kernels::{ChargeRef, LifCharge};
use std::sync::Arc;
use tch::Tensor;

/// Leaky integrate-and-fire with time constant `tau`:
/// `decay_input`: `H = V + (X − (V − V_reset))/τ`; otherwise `H = V − (V − V_reset)/τ + X`
/// (`V_reset = 0` in the charge when the reset is soft).
#[derive(Debug)]
pub struct LIFNode {
    node: BaseNode,
    /// The membrane time constant τ (> 1).
    pub tau: f64,
    /// Whether the input is divided by τ too.
    pub decay_input: bool,
}

impl LIFNode {
    /// `LIFNode(tau)` with `decay_input=True` and the other defaults; errors unless `tau > 1`.
    pub fn new(tau: f64) -> Result<Self> {
        check_tau("LIFNode", "tau", tau)?;
        Ok(LIFNode {
            node: BaseNode::default(),
            tau,
            decay_input: true,
        })
    }

    /// `decay_input=`.
    pub fn with_decay_input(mut self, decay_input: bool) -> Self {
        self.decay_input = decay_input;
        self
    }
}

/// The LIF charge with leak `1/tau`, shared with KLIF.
pub(crate) fn lif_charge(
    x: &Tensor,
    v: &Tensor,
    v_reset: Option<f64>,
    tau: f64,
    decay_input: bool,
) -> Tensor {
    match (decay_input, v_reset) {
        (true, None) => v + (x - v) / tau,
        (true, Some(r)) => v + (x - (v - r)) / tau,
        (false, None) => v * (1.0 - 1.0 / tau) + x,
        (false, Some(r)) => v - (v - r) / tau + x,
    }
}

impl Neuron for LIFNode {
    fn type_name(&self) -> &'static str {
        "LIFNode"
    }
    fn node(&self) -> &BaseNode {
        &self.node
    }
    fn node_mut(&mut self) -> &mut BaseNode {
        &mut self.node
    }
    fn fused(&self) -> Option<(ChargeRef, Option<Tensor>)> {
        let charge = LifCharge {
            tau: self.tau as f32,
            decay_input: self.decay_input,
            v_reset: self.node.v_reset.unwrap_or(0.0) as f32,
        };
        Some((Arc::new(charge), None))
    }
    fn neuronal_charge(&self, x: &Tensor, v: &Tensor) -> Tensor {
        lif_charge(x, v, self.node.v_reset, self.tau, self.decay_input)
    }
    fn neuron_repr(&self) -> String {
        format!("tau={:?}", self.tau)
    }
}
