//! `EIFNode`: the exponential integrate-and-fire neuron.
use super::{check_rest_and_reset, check_tau, BaseNode, Neuron, NodeOptions};
use crate::error::Result;
use sj_kernels::{ChargeRef, EifCharge};
use std::sync::Arc;
use tch::Tensor;

/// Exponential integrate-and-fire: `H = V + (X + V_rest − V + Δ_T·exp((V − θ_rh)/Δ_T))/τ`.
/// Defaults: `tau=2, delta_T=1, theta_rh=0.8, v_rest=0, v_reset=-0.1`.
#[derive(Debug)]
pub struct EIFNode {
    node: BaseNode,
    /// Time constant τ.
    pub tau: f64,
    /// Sharpness Δ_T.
    pub delta_t: f64,
    /// Rheobase threshold θ_rh.
    pub theta_rh: f64,
    /// Resting potential.
    pub v_rest: f64,
}

impl EIFNode {
    /// `EIFNode(tau, delta_T, theta_rh, v_rest)` with `v_reset=-0.1`; errors unless `tau > 1`, `delta_T > 0`.
    pub fn new(tau: f64, delta_t: f64, theta_rh: f64, v_rest: f64) -> Result<Self> {
        check_tau("EIFNode", "tau", tau)?;
        if delta_t <= 0.0 {
            return Err(crate::SjError::config(
                "EIFNode",
                format!("delta_T must be > 0, got {delta_t}"),
            ));
        }
        Ok(EIFNode {
            node: BaseNode::default(),
            tau,
            delta_t,
            theta_rh,
            v_rest,
        }
        .with_v_reset(Some(-0.1)))
    }
}

impl Default for EIFNode {
    fn default() -> Self {
        EIFNode::new(2.0, 1.0, 0.8, 0.0).expect("defaults are valid")
    }
}

impl Neuron for EIFNode {
    fn type_name(&self) -> &'static str {
        "EIFNode"
    }
    fn node(&self) -> &BaseNode {
        &self.node
    }
    fn node_mut(&mut self) -> &mut BaseNode {
        &mut self.node
    }
    fn fused(&self) -> Option<(ChargeRef, Option<Tensor>)> {
        let charge = EifCharge {
            tau: self.tau as f32,
            delta_t: self.delta_t as f32,
            theta_rh: self.theta_rh as f32,
            v_rest: self.v_rest as f32,
        };
        Some((Arc::new(charge), None))
    }
    fn neuronal_charge(&self, x: &Tensor, v: &Tensor) -> Tensor {
        v + (x + self.v_rest - v + ((v - self.theta_rh) / self.delta_t).exp() * self.delta_t)
            / self.tau
    }
    fn check_config(&self) -> Result<()> {
        check_rest_and_reset("EIFNode", &self.node, self.v_rest)
    }
    fn neuron_repr(&self) -> String {
        format!(
            "tau={:?}, delta_T={:?}, theta_rh={:?}",
            self.tau, self.delta_t, self.theta_rh
        )
    }
}
