//! `layer.DropConnectLinear` from "Regularization of Neural Networks using DropConnect"
//! (inventory §2.4.3, checklist 91).
use crate::base::{check_float, variable, Module, NamedTensor, StepMode};
use crate::error::{op_error, Result, SjError};
use crate::functional::step_by_step;
use tch::{nn, Tensor};

/// The activation applied after [`DropConnectLinear`]'s affine map (its `activation=` argument).
#[derive(Debug)]
pub enum DropConnectActivation {
    /// `activation=None`.
    Identity,
    /// `nn.ReLU()`, the default.
    ReLU,
    /// Any sj module, e.g. a spiking neuron in step mode `s`; it is reset with the layer.
    Module(Box<dyn Module>),
}

impl DropConnectActivation {
    fn apply(&mut self, x: Tensor) -> Result<Tensor> {
        match self {
            DropConnectActivation::Identity => Ok(x),
            DropConnectActivation::ReLU => Ok(x.relu()),
            DropConnectActivation::Module(m) => m.forward(&x),
        }
    }
}

/// `DropConnectLinear(in_features, out_features, bias=True, p=0.5, samples_num=1024,
/// invariant=False, activation=ReLU())`. Training: each sample gets its own mask `[N, out, in]`
/// keeping a weight (and bias entry) where `rand > p`, without rescaling, then the activation;
/// with `invariant` the mask is drawn once and kept until `reset()`. Evaluation (Algorithm 2):
/// `μ = (1−p)(xWᵀ + b)`, `σ² = p(1−p)(x²(W²)ᵀ + b²)`, the mean of the activation over
/// `samples_num` draws from `N(μ, σ)`. In step mode `m` the activation stays in step mode `s`.
#[derive(Debug)]
pub struct DropConnectLinear {
    weight: Tensor,
    bias: Option<Tensor>,
    in_features: i64,
    out_features: i64,
    p: f64,
    samples_num: i64,
    invariant: bool,
    activation: DropConnectActivation,
    dropped_w: Option<Tensor>,
    dropped_b: Option<Tensor>,
    training: bool,
    step_mode: StepMode,
}

impl DropConnectLinear {
    /// `DropConnectLinear(in_features, out_features, bias)` with `p=0.5, samples_num=1024,
    /// invariant=False`, ReLU, in training mode; `weight` (and `bias`) are registered under `path`.
    pub fn new(path: &nn::Path, in_features: i64, out_features: i64, bias: bool) -> Result<Self> {
        if in_features < 1 || out_features < 1 {
            return Err(SjError::config(
                "DropConnectLinear",
                format!(
                    "in_features and out_features must be >= 1, got {in_features}, {out_features}"
                ),
            ));
        }
        const NAME: &str = "DropConnectLinear";
        let zero = nn::Init::Const(0.0);
        let weight = variable(NAME, path, "weight", &[out_features, in_features], zero)?;
        let bias = match bias {
            true => Some(variable(NAME, path, "bias", &[out_features], zero)?),
            false => None,
        };
        let mut layer = DropConnectLinear {
            weight,
            bias,
            in_features,
            out_features,
            p: 0.5,
            samples_num: 1024,
            invariant: false,
            activation: DropConnectActivation::ReLU,
            dropped_w: None,
            dropped_b: None,
            training: true,
            step_mode: StepMode::S,
        };
        layer.reset_parameters();
        Ok(layer)
    }

    /// `p=`, the probability of dropping a connection; errors unless `0 ≤ p ≤ 1`.
    pub fn with_p(mut self, p: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(SjError::config(
                "DropConnectLinear",
                format!("p must satisfy 0 <= p <= 1, got {p}"),
            ));
        }
        self.p = p;
        Ok(self)
    }

    /// `samples_num=`, the number of Gaussian draws in evaluation; errors unless `≥ 1`.
    pub fn with_samples_num(mut self, samples_num: i64) -> Result<Self> {
        if samples_num < 1 {
            return Err(SjError::config(
                "DropConnectLinear",
                format!("samples_num must be >= 1, got {samples_num}"),
            ));
        }
        self.samples_num = samples_num;
        Ok(self)
    }

    /// `invariant=`: keep the mask until `reset()` instead of redrawing it every call.
    pub fn with_invariant(mut self, invariant: bool) -> Self {
        self.invariant = invariant;
        self
    }

    /// `activation=`.
    pub fn with_activation(mut self, activation: DropConnectActivation) -> Self {
        self.activation = activation;
        self
    }

    /// `step_mode=` (SpikingJelly's keyword is the typo `state_mode`).
    pub fn with_step_mode(mut self, step_mode: StepMode) -> Self {
        self.step_mode = step_mode;
        self
    }

    /// The weight `[out_features, in_features]`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// The masked weights `[N, out, in]` of the last training call (`None` after `reset()`).
    pub fn dropped_w(&self) -> Option<&Tensor> {
        self.dropped_w.as_ref()
    }

    /// The masked biases `[N, out]` of the last training call.
    pub fn dropped_b(&self) -> Option<&Tensor> {
        self.dropped_b.as_ref()
    }

    /// `reset_parameters()`: `kaiming_uniform_(a=√5)` on the weight and `U(−1/√in, 1/√in)` on
    /// the bias, i.e. both `U(−1/√in, 1/√in)`.
    pub fn reset_parameters(&mut self) {
        let bound = 1.0 / (self.in_features as f64).sqrt();
        tch::no_grad(|| {
            for t in std::iter::once(&self.weight).chain(self.bias.as_ref()) {
                let _ = t.shallow_clone().uniform_(-bound, bound);
            }
        });
    }

    /// `drop(batch_size)`: draws a new mask per sample (keep where `rand > p`), stores the masked
    /// weights and biases, and returns the masked weights `[batch_size, out, in]`.
    /// Errors, naming the layer, when the masks do not fit in memory.
    pub fn drop(&mut self, batch_size: i64) -> Result<Tensor> {
        let keep = |t: &Tensor| {
            let shape = [&[batch_size], t.size().as_slice()].concat();
            Tensor::f_rand(shape.as_slice(), (t.kind(), t.device()))
                .map(|r| t * r.gt(self.p))
                .map_err(op_error("DropConnectLinear"))
        };
        let w = keep(&self.weight)?;
        self.dropped_b = self.bias.as_ref().map(keep).transpose()?;
        self.dropped_w = Some(w.shallow_clone());
        Ok(w)
    }

    /// `single_step_forward(input)` on `[N, in_features]`.
    pub fn single_step_forward(&mut self, x: &Tensor) -> Result<Tensor> {
        check_float("DropConnectLinear", x)?;
        if x.dim() != 2 || x.size()[1] != self.in_features {
            let lead = if self.step_mode == StepMode::M {
                "[T, N, "
            } else {
                "[N, "
            };
            return Err(SjError::Shape {
                module: "DropConnectLinear".into(),
                expected: format!("{lead}{}]", self.in_features),
                got: x.size(),
            });
        }
        if self.training {
            self.train_forward(x)
        } else {
            self.eval_forward(x)
        }
    }

    fn train_forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let n = x.size()[0];
        let w = match &self.dropped_w {
            Some(w) if self.invariant => {
                if w.size()[0] != n {
                    return Err(SjError::StaleState {
                        module: "DropConnectLinear".into(),
                        state: w.size(),
                        input: vec![n, self.out_features, self.in_features],
                    });
                }
                w.shallow_clone()
            }
            _ => self.drop(n)?,
        };
        let y = w.bmm(&x.unsqueeze(-1)).squeeze_dim(-1);
        let y = match &self.dropped_b {
            Some(b) => y + b,
            None => y,
        };
        self.activation.apply(y)
    }

    /// Resets the activation with the layer (a spiking neuron keeps no state across batches).
    fn reset_activation(&mut self) {
        if let DropConnectActivation::Module(m) = &mut self.activation {
            m.reset();
        }
    }

    fn eval_forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let p = self.p;
        let samples = tch::no_grad(|| {
            let mu = x.linear(&self.weight, self.bias.as_ref()) * (1.0 - p);
            let b2 = self.bias.as_ref().map(Tensor::square);
            let sigma =
                (x.square().linear(&self.weight.square(), b2.as_ref()) * (p * (1.0 - p))).sqrt();
            let mut shape = vec![self.samples_num];
            shape.extend(mu.size());
            mu + sigma * Tensor::randn(shape.as_slice(), (x.kind(), x.device()))
        });
        Ok(self
            .activation
            .apply(samples)?
            .mean_dim(&[0i64][..], false, x.kind()))
    }
}

impl Module for DropConnectLinear {
    fn type_name(&self) -> &'static str {
        "DropConnectLinear"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        crate::error::torch_guard("DropConnectLinear", || match self.step_mode {
            StepMode::S => self.single_step_forward(x),
            StepMode::M => {
                step_by_step("DropConnectLinear", x, |x_t| self.single_step_forward(x_t))
            }
        })
    }
    fn propagates_step_mode(&self) -> bool {
        false
    }
    crate::memory_module! {
        step_mode: step_mode,
        memories: {
            "dropped_w": dropped_w = None;
            "dropped_b": dropped_b = None, if |m| m.bias.is_some();
        },
        after_reset: reset_activation,
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    fn named_tensors(&self) -> Vec<NamedTensor> {
        let mut v = vec![("weight".to_string(), self.weight.shallow_clone())];
        if let Some(b) = &self.bias {
            v.push(("bias".to_string(), b.shallow_clone()));
        }
        v
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        match &self.activation {
            DropConnectActivation::Module(m) => {
                vec![("activation".to_string(), m.as_ref() as &dyn Module)]
            }
            _ => Vec::new(),
        }
    }
    fn children_mut(&mut self) -> Vec<(String, &mut dyn Module)> {
        match &mut self.activation {
            DropConnectActivation::Module(m) => {
                vec![("activation".to_string(), m.as_mut() as &mut dyn Module)]
            }
            _ => Vec::new(),
        }
    }
    fn extra_repr(&self) -> String {
        format!(
            "in_features={}, out_features={}, bias={}, p={:?}, invariant={}",
            self.in_features,
            self.out_features,
            if self.bias.is_some() { "True" } else { "False" },
            self.p,
            if self.invariant { "True" } else { "False" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functional::reset_net;
    use crate::neuron::IFNode;
    use tch::{Device, Kind};

    fn input(n: i64) -> Tensor {
        Tensor::rand([n, 4], (Kind::Float, Device::Cpu))
    }

    #[test]
    fn p_zero_is_a_plain_linear_relu_checklist_91() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut l = DropConnectLinear::new(&vs.root(), 4, 3, true)
            .unwrap()
            .with_p(0.0)
            .unwrap();
        let x = input(5);
        let want = x.linear(l.weight(), l.bias()).relu();
        assert!(l.forward(&x).unwrap().allclose(&want, 1e-5, 1e-6, false));
        let mut names: Vec<String> = vs.variables().into_keys().collect();
        names.sort();
        assert_eq!(names, ["bias", "weight"]);
        assert!(
            l.weight().abs().max().double_value(&[]) <= 0.5,
            "U(-1/sqrt(4), 1/sqrt(4))"
        );
    }

    #[test]
    fn training_uses_the_per_sample_masked_weights() {
        tch::manual_seed(4);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut l = DropConnectLinear::new(&vs.root(), 4, 3, true).unwrap();
        let x = input(6);
        let y = l.forward(&x).unwrap();
        let (w, b) = (
            l.dropped_w().unwrap().shallow_clone(),
            l.dropped_b().unwrap().shallow_clone(),
        );
        assert_eq!(w.size(), vec![6, 3, 4]);
        // each entry is the weight (kept, no rescaling) or 0, and about half are dropped
        let full = l.weight().unsqueeze(0).expand_as(&w);
        assert!(
            w.eq_tensor(&full)
                .logical_or(&w.eq(0.0))
                .all()
                .int64_value(&[])
                == 1
        );
        let dropped = w.eq(0.0).sum(Kind::Int64).int64_value(&[]);
        assert!((24..=48).contains(&dropped), "{dropped} of 72");
        let want = (Tensor::einsum("noi,ni->no", &[&w, &x], None::<&[i64]>) + &b).relu();
        assert!(y.allclose(&want, 1e-5, 1e-6, false));
        // not invariant: a new mask every call
        let _ = l.forward(&x).unwrap();
        assert!(!l.dropped_w().unwrap().equal(&w));
    }

    #[test]
    fn invariant_mask_is_kept_until_reset() {
        tch::manual_seed(5);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut l = DropConnectLinear::new(&vs.root(), 4, 3, false)
            .unwrap()
            .with_invariant(true)
            .with_step_mode(StepMode::M);
        let x_seq = Tensor::rand([3, 2, 4], (Kind::Float, Device::Cpu));
        let y = l.forward(&x_seq).unwrap();
        let w = l.dropped_w().unwrap().shallow_clone();
        assert_eq!(l.memories().len(), 1, "no dropped_b without a bias");
        for t in 0..3 {
            let want = Tensor::einsum("noi,ni->no", &[&w, &x_seq.get(t)], None::<&[i64]>).relu();
            assert!(y.get(t).allclose(&want, 1e-5, 1e-6, false));
        }
        let _ = l.forward(&x_seq).unwrap();
        assert!(l.dropped_w().unwrap().equal(&w));
        let err = l
            .forward(&Tensor::rand([3, 5, 4], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("reset_net"), "{err}");
        reset_net(&mut l);
        assert!(l.dropped_w().is_none());
        let _ = l.forward(&x_seq).unwrap();
        assert!(!l.dropped_w().unwrap().equal(&w));
    }

    #[test]
    fn eval_is_the_moment_matched_gaussian_average() {
        tch::manual_seed(6);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut l = DropConnectLinear::new(&vs.root(), 4, 3, true)
            .unwrap()
            .with_samples_num(200_000)
            .unwrap();
        l.set_training(false);
        let x = input(2);
        let (w, b, p) = (
            l.weight().shallow_clone(),
            l.bias().unwrap().shallow_clone(),
            0.5,
        );
        let mu = x.linear(&w, Some(&b)) * (1.0 - p);
        let sigma = (x.square().linear(&w.square(), Some(&b.square())) * (p * (1.0 - p))).sqrt();
        // E[relu(X)], X ~ N(mu, sigma): mu·Φ(mu/σ) + σ·φ(mu/σ)
        let z = &mu / &sigma;
        let cdf: Tensor = ((&z / 2f64.sqrt()).erf() + 1.0) * 0.5;
        let pdf = (z.square() * -0.5).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let want = &mu * cdf + &sigma * pdf;
        let y = l.forward(&x).unwrap();
        let err = (&y - &want).abs().max().double_value(&[]);
        assert!(err < 0.02 * sigma.max().double_value(&[]), "{y} vs {want}");
        assert!(!y.requires_grad());
        // without an activation the average is mu itself
        let mut l = l.with_activation(DropConnectActivation::Identity);
        let err = (l.forward(&x).unwrap() - &mu).abs().max().double_value(&[]);
        assert!(err < 0.02 * sigma.max().double_value(&[]), "{err}");
    }

    #[test]
    fn neuron_activation_is_a_child_reset_with_the_layer_and_errors() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut l = DropConnectLinear::new(&vs.root(), 4, 3, true)
            .unwrap()
            .with_p(0.0)
            .unwrap()
            .with_activation(DropConnectActivation::Module(Box::new(IFNode::new())));
        assert_eq!(
            crate::functional::named_modules(&l),
            [
                ("".to_string(), "DropConnectLinear"),
                ("activation".to_string(), "IFNode")
            ]
        );
        let x = input(2);
        let _ = l.forward(&x).unwrap();
        assert!(crate::functional::named_memories(&l)
            .iter()
            .any(|(k, t)| k == "activation.v" && t.is_some()));
        l.reset();
        assert!(crate::functional::named_memories(&l)
            .iter()
            .all(|(_, t)| t.is_none()));
        crate::functional::set_step_mode(&mut l, StepMode::M).unwrap();
        assert_eq!(
            l.children()[0].1.step_mode(),
            StepMode::S,
            "the activation stays single-step"
        );
        assert_eq!(
            l.forward(&Tensor::rand([3, 2, 4], (Kind::Float, Device::Cpu)))
                .unwrap()
                .size(),
            vec![3, 2, 3]
        );
        assert_eq!(
            l.extra_repr(),
            "in_features=4, out_features=3, bias=True, p=0.0, invariant=False"
        );
        let err = l
            .forward(&Tensor::rand([2, 5], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("DropConnectLinear") && err.contains("[T, N, 4]"),
            "{err}"
        );
        assert!(
            DropConnectLinear::new(&nn::VarStore::new(Device::Cpu).root(), 4, 3, true)
                .unwrap()
                .with_p(1.5)
                .is_err()
        );
        assert!(
            DropConnectLinear::new(&nn::VarStore::new(Device::Cpu).root(), 4, 3, true)
                .unwrap()
                .with_samples_num(0)
                .is_err()
        );
    }
}
