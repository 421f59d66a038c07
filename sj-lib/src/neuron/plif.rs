//! `ParametricLIFNode` (PLIF): LIF with a learnable leak `1/τ = sigmoid(w)`.
use super::{check_tau, BaseNode, Neuron};
use crate::base::{variable, NamedTensor};
use crate::error::Result;
use sj_kernels::{ChargeRef, PlifCharge};
use std::sync::Arc;
use tch::{nn, Tensor};

/// Parametric LIF: the charge of [`LIFNode`](super::LIFNode) with `1/τ` replaced by `sigmoid(w)`,
/// `w` a learnable scalar initialised to `−ln(init_tau − 1)`.
#[derive(Debug)]
pub struct ParametricLIFNode {
    node: BaseNode,
    /// The learnable scalar `w` (registered as `w` under the given path).
    pub w: Tensor,
    /// Whether the input is scaled by the leak too.
    pub decay_input: bool,
}

impl ParametricLIFNode {
    /// `ParametricLIFNode(init_tau)`: registers `w` under `path`; errors unless `init_tau > 1`.
    pub fn new(path: &nn::Path, init_tau: f64) -> Result<Self> {
        check_tau("ParametricLIFNode", "init_tau", init_tau)?;
        let w = variable(
            "ParametricLIFNode",
            path,
            "w",
            &[],
            nn::Init::Const(-(init_tau - 1.0).ln()),
        )?;
        Ok(ParametricLIFNode {
            node: BaseNode::default(),
            w,
            decay_input: true,
        })
    }

    /// `decay_input=`.
    pub fn with_decay_input(mut self, decay_input: bool) -> Self {
        self.decay_input = decay_input;
        self
    }

    /// The current time constant `1/sigmoid(w)`.
    pub fn tau(&self) -> f64 {
        1.0 / self.w.sigmoid().double_value(&[])
    }
}

impl Neuron for ParametricLIFNode {
    fn type_name(&self) -> &'static str {
        "ParametricLIFNode"
    }
    fn node(&self) -> &BaseNode {
        &self.node
    }
    fn node_mut(&mut self) -> &mut BaseNode {
        &mut self.node
    }
    fn fused(&self) -> Option<(ChargeRef, Option<Tensor>)> {
        // `k` is read from the decay tensor at each call
        let charge = PlifCharge {
            k: 0.0,
            decay_input: self.decay_input,
            v_reset: self.node.v_reset.unwrap_or(0.0) as f32,
        };
        Some((Arc::new(charge), Some(self.w.sigmoid())))
    }
    fn neuronal_charge(&self, x: &Tensor, v: &Tensor) -> Tensor {
        let k = self.w.sigmoid();
        match (self.decay_input, self.node.v_reset) {
            (true, None) => v + (x - v) * k,
            (true, Some(r)) => v + (x - (v - r)) * k,
            (false, None) => v * (1.0 - k) + x,
            (false, Some(r)) => v - (v - r) * k + x,
        }
    }
    fn neuron_repr(&self) -> String {
        format!("tau={:?}", self.tau())
    }
    fn parameters(&self) -> Vec<NamedTensor> {
        vec![("w".into(), self.w.shallow_clone())]
    }
}
