//! `IFNode`: the integrate-and-fire neuron, `H[t] = V[t−1] + X[t]`.
use super::{BaseNode, Neuron};
use sj_kernels::{ChargeRef, IfCharge};
use std::sync::Arc;
use tch::Tensor;

/// Integrate-and-fire: an ideal integrator with no leak.
#[derive(Debug, Default)]
pub struct IFNode {
    node: BaseNode,
}

impl IFNode {
    /// `IFNode()` with SpikingJelly's defaults (`v_threshold=1.0, v_reset=0.0`, Sigmoid surrogate).
    pub fn new() -> Self {
        Self::default()
    }
}

impl Neuron for IFNode {
    fn type_name(&self) -> &'static str {
        "IFNode"
    }
    fn node(&self) -> &BaseNode {
        &self.node
    }
    fn node_mut(&mut self) -> &mut BaseNode {
        &mut self.node
    }
    fn fused(&self) -> Option<(ChargeRef, Option<Tensor>)> {
        Some((Arc::new(IfCharge), None))
    }
    fn neuronal_charge(&self, x: &Tensor, v: &Tensor) -> Tensor {
        v + x
    }
}
