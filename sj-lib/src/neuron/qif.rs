//! `QIFNode`: the quadratic integrate-and-fire neuron.
use super::{check_rest_and_reset, check_tau, BaseNode, Neuron, NodeOptions};
use crate::error::Result;
use sj_kernels::{ChargeRef, QifCharge};
use std::sync::Arc;
use tch::Tensor;

/// Quadratic integrate-and-fire: `H = V + (X + a0·(V − V_rest)·(V − V_c))/τ`.
/// Defaults: `tau=2, v_c=0.8, a0=1, v_rest=0, v_reset=-0.1`.
#[derive(Debug)]
pub struct QIFNode {
    node: BaseNode,
    /// Time constant τ.
    pub tau: f64,
    /// Critical voltage `v_c`.
    pub v_c: f64,
    /// Sharpness `a0`.
    pub a0: f64,
    /// Resting potential `v_rest`.
    pub v_rest: f64,
}

impl QIFNode {
    /// `QIFNode(tau, v_c, a0, v_rest)` with `v_reset=-0.1`; errors unless `tau > 1` and `a0 > 0`.
    pub fn new(tau: f64, v_c: f64, a0: f64, v_rest: f64) -> Result<Self> {
        check_tau("QIFNode", "tau", tau)?;
        if a0 <= 0.0 {
            return Err(crate::SjError::config(
                "QIFNode",
                format!("a0 must be > 0, got {a0}"),
            ));
        }
        Ok(QIFNode {
            node: BaseNode::default(),
            tau,
            v_c,
            a0,
            v_rest,
        }
        .with_v_reset(Some(-0.1)))
    }
}

impl Default for QIFNode {
    fn default() -> Self {
        QIFNode::new(2.0, 0.8, 1.0, 0.0).expect("defaults are valid")
    }
}

impl Neuron for QIFNode {
    fn type_name(&self) -> &'static str {
        "QIFNode"
    }
    fn node(&self) -> &BaseNode {
        &self.node
    }
    fn node_mut(&mut self) -> &mut BaseNode {
        &mut self.node
    }
    fn fused(&self) -> Option<(ChargeRef, Option<Tensor>)> {
        let charge = QifCharge {
            tau: self.tau as f32,
            v_c: self.v_c as f32,
            a0: self.a0 as f32,
            v_rest: self.v_rest as f32,
        };
        Some((Arc::new(charge), None))
    }
    fn neuronal_charge(&self, x: &Tensor, v: &Tensor) -> Tensor {
        v + (x + (v - self.v_rest) * (v - self.v_c) * self.a0) / self.tau
    }
    fn check_config(&self) -> Result<()> {
        check_rest_and_reset("QIFNode", &self.node, self.v_rest)
    }
    fn neuron_repr(&self) -> String {
        format!(
            "tau={:?}, v_c={:?}, a0={:?}, v_rest={:?}",
            self.tau, self.v_c, self.a0, self.v_rest
        )
    }
}
