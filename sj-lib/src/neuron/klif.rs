//! `KLIFNode`: LIF with a learnable scaling `k` and a ReLU after charging.
use super::lif::lif_charge;
use super::{check_tau, BaseNode, Neuron};
use crate::base::{variable, Memory, NamedTensor};
use crate::error::Result;
use tch::{nn, Tensor};

/// KLIF: `F = ReLU(k·H_LIF)`, `S = Θ(F − V_th)`; reset on F, or on `F/k` with `scale_reset`.
#[derive(Debug)]
pub struct KLIFNode {
    node: BaseNode,
    /// Time constant τ.
    pub tau: f64,
    /// Whether the input is divided by τ too.
    pub decay_input: bool,
    /// Divide by `k` in the reset.
    pub scale_reset: bool,
    /// The learnable scalar `k` (init 1.0).
    pub k: Tensor,
}

impl KLIFNode {
    /// `KLIFNode(scale_reset, tau)`: registers `k` under `path`; errors unless `tau > 1`.
    pub fn new(path: &nn::Path, scale_reset: bool, tau: f64) -> Result<Self> {
        check_tau("KLIFNode", "tau", tau)?;
        let k = variable("KLIFNode", path, "k", &[], nn::Init::Const(1.0))?;
        Ok(KLIFNode {
            node: BaseNode::default(),
            tau,
            decay_input: true,
            scale_reset,
            k,
        })
    }

    /// `decay_input=`.
    pub fn with_decay_input(mut self, decay_input: bool) -> Self {
        self.decay_input = decay_input;
        self
    }
}

impl Neuron for KLIFNode {
    fn type_name(&self) -> &'static str {
        "KLIFNode"
    }
    fn check_config(&self) -> Result<()> {
        check_tau("KLIFNode", "tau", self.tau)
    }
    fn node(&self) -> &BaseNode {
        &self.node
    }
    fn node_mut(&mut self) -> &mut BaseNode {
        &mut self.node
    }
    fn neuronal_charge(&self, x: &Tensor, v: &Tensor) -> Tensor {
        (lif_charge(x, v, self.node.v_reset, self.tau, self.decay_input) * &self.k).relu()
    }
    fn neuron_repr(&self) -> String {
        format!(
            "tau={:?}, scale_reset={}",
            self.tau,
            if self.scale_reset { "True" } else { "False" }
        )
    }
    fn parameters(&self) -> Vec<NamedTensor> {
        vec![("k".into(), self.k.shallow_clone())]
    }
    fn single_step_forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let v = self.node.v.to_tensor_like("KLIFNode", x)?;
        let f = self.neuronal_charge(x, &v);
        let spike = self.node.fire(&f);
        let v = match (self.scale_reset, self.node.v_reset) {
            (false, _) => self.node.reset_potential(&f, &spike),
            (true, None) => self.node.reset_potential(&f, &spike) / &self.k,
            (true, Some(_)) => self.node.reset_potential(&(&f / &self.k), &spike),
        };
        self.node.v = Memory::Tensor(v);
        Ok(spike)
    }
}
