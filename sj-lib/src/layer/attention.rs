//! Multi-step attention layers: `TemporalWiseAttention` (TA-SNN) and `MultiDimensionalAttention`
//! (MA-SNN) (inventory §2.4.3, checklist 96-97).
use crate::base::{check_float, check_like, variable, Module, NamedTensor, StepMode};
use crate::error::{op_error, Result, SjError};
use tch::{nn, Tensor};

const MULTI_STEP_ONLY: &[StepMode] = &[StepMode::M];

/// `U(−1/√fan_in, 1/√fan_in)`: PyTorch's `kaiming_uniform_(a=√5)` for Linear and Conv weights.
fn pytorch_default_init(fan_in: i64) -> nn::Init {
    let bound = 1.0 / (fan_in as f64).sqrt();
    nn::Init::Uniform {
        lo: -bound,
        up: bound,
    }
}

/// Checks `value ≥ reduction ≥ 1` for a squeeze-and-excitation ratio.
fn check_reduction(module: &str, what: &str, value: i64, name: &str, reduction: i64) -> Result<()> {
    if reduction < 1 || value < reduction {
        return Err(SjError::config(
            module,
            format!(
                "{name} must satisfy 1 <= {name} <= {what}, got {name}={reduction}, {what}={value}"
            ),
        ));
    }
    Ok(())
}

/// The bias-free `sharedMLP` `channels → channels/r → channels` of squeeze-and-excitation
/// attention, stored as `sharedMLP.0.weight` and `sharedMLP.2.weight` (Linear weights, or
/// Conv3d 1×1×1 weights when `kernel_dims` is 3).
#[derive(Debug)]
struct SharedMlp {
    fc1: Tensor,
    fc2: Tensor,
}

impl SharedMlp {
    fn new(
        module: &str,
        path: &nn::Path,
        channels: i64,
        reduction: i64,
        kernel_dims: usize,
    ) -> Result<Self> {
        let hidden = channels / reduction;
        let shape = |out: i64, inp: i64| [vec![out, inp], vec![1; kernel_dims]].concat();
        let mlp = path / "sharedMLP";
        let fc1 = variable(
            module,
            &(&mlp / "0"),
            "weight",
            &shape(hidden, channels),
            pytorch_default_init(channels),
        )?;
        let fc2 = variable(
            module,
            &(&mlp / "2"),
            "weight",
            &shape(channels, hidden),
            pytorch_default_init(hidden),
        )?;
        Ok(SharedMlp { fc1, fc2 })
    }

    fn mlp(&self, v: &Tensor) -> std::result::Result<Tensor, tch::TchError> {
        v.f_matmul(&self.fc1.flatten(1, -1).tr())?
            .relu()
            .f_matmul(&self.fc2.flatten(1, -1).tr())
    }

    /// `sigmoid(MLP(avg) + MLP(max))` over `x` `[N, channels, *]`, pooled over `*`: `[N, channels]`.
    fn scores(&self, x: &Tensor) -> std::result::Result<Tensor, tch::TchError> {
        let flat = x.f_flatten(2, -1)?;
        let avg = flat.f_mean_dim(&[2i64][..], false, x.kind())?;
        let max = flat.f_amax(&[2i64][..], false)?;
        Ok((self.mlp(&avg)? + self.mlp(&max)?).sigmoid())
    }

    fn named_tensors(&self, prefix: &str) -> Vec<NamedTensor> {
        vec![
            (
                format!("{prefix}sharedMLP.0.weight"),
                self.fc1.shallow_clone(),
            ),
            (
                format!("{prefix}sharedMLP.2.weight"),
                self.fc2.shallow_clone(),
            ),
        ]
    }
}

/// Checks a multi-step input: the dtype and device of the module's parameter `like`, `dims`
/// dimensions with the given sizes at the given axes, and non-empty pooled axes (after `[T, N]`).
fn check_input(
    module: &str,
    x: &Tensor,
    like: &Tensor,
    dims: usize,
    sizes: &[(usize, i64)],
    expected: &str,
) -> Result<()> {
    check_float(module, x)?;
    check_like(module, x, like)?;
    let size = x.size();
    if size.len() != dims
        || sizes.iter().any(|&(axis, n)| size[axis] != n)
        || size.iter().skip(2).any(|&d| d == 0)
    {
        return Err(SjError::Shape {
            module: module.into(),
            expected: expected.into(),
            got: size,
        });
    }
    Ok(())
}

/// `TemporalWiseAttention(T, reduction=16, dimension=4)`: scales each time slice of
/// `[T, N, C, H, W]` (`dimension=4`) or `[T, N, L]` (`dimension=2`) by
/// `sigmoid(MLP(avg) + MLP(max))`, the MLP `Linear(T, T/r) → ReLU → Linear(T/r, T)` without bias
/// shared by the average- and max-pooled `[N, T]` summaries. Multi-step only.
#[derive(Debug)]
pub struct TemporalWiseAttention {
    steps: i64,
    dimension: usize,
    shared_mlp: SharedMlp,
    step_mode: StepMode,
}

impl TemporalWiseAttention {
    /// `TemporalWiseAttention(T, reduction, dimension)` with the MLP under `path`; errors unless
    /// `1 ≤ reduction ≤ T` and `dimension` is 2 or 4.
    pub fn new(path: &nn::Path, steps: i64, reduction: i64, dimension: usize) -> Result<Self> {
        if dimension != 2 && dimension != 4 {
            return Err(SjError::config(
                "TemporalWiseAttention",
                format!("dimension must be 4 or 2, got {dimension}"),
            ));
        }
        check_reduction("TemporalWiseAttention", "T", steps, "reduction", reduction)?;
        Ok(TemporalWiseAttention {
            steps,
            dimension,
            shared_mlp: SharedMlp::new("TemporalWiseAttention", path, steps, reduction, 0)?,
            step_mode: StepMode::M,
        })
    }
}

impl Module for TemporalWiseAttention {
    fn type_name(&self) -> &'static str {
        "TemporalWiseAttention"
    }
    fn forward(&mut self, x_seq: &Tensor) -> Result<Tensor> {
        let expected = if self.dimension == 4 {
            format!("[T={}, N, C, H, W]", self.steps)
        } else {
            format!("[T={}, N, L]", self.steps)
        };
        check_input(
            "TemporalWiseAttention",
            x_seq,
            &self.shared_mlp.fc1,
            self.dimension + 1,
            &[(0, self.steps)],
            &expected,
        )?;
        let x = x_seq.transpose(0, 1);
        let scores = self
            .shared_mlp
            .scores(&x)
            .map_err(op_error("TemporalWiseAttention"))?;
        let mut shape = scores.size();
        shape.extend(vec![1; self.dimension - 1]);
        Ok((x * scores.view(shape.as_slice())).transpose(0, 1))
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn supported_step_modes(&self) -> &'static [StepMode] {
        MULTI_STEP_ONLY
    }
    fn named_tensors(&self) -> Vec<NamedTensor> {
        self.shared_mlp.named_tensors("")
    }
    fn extra_repr(&self) -> String {
        format!("T={}, dimension={}", self.steps, self.dimension)
    }
}

/// `MultiDimensionalAttention(T, C, reduction_t=16, reduction_c=16, kernel_size=3)` (MA-SNN) on
/// `[T, N, C, H, W]`: temporal attention (`ta`, a shared 1×1×1-Conv3d MLP over T), then channel
/// attention (`ca`, the same over C), then spatial attention (`sa`: the mean and max over the
/// merged T·C axis, `Conv2d(2, 1, kernel_size)` and a sigmoid), each multiplying the running
/// output, then ReLU. Multi-step only.
#[derive(Debug)]
pub struct MultiDimensionalAttention {
    steps: i64,
    channels: i64,
    ta: SharedMlp,
    ca: SharedMlp,
    sa_conv: Tensor,
    padding: i64,
    step_mode: StepMode,
}

impl MultiDimensionalAttention {
    /// `MultiDimensionalAttention(T, C)` with `reduction_t=16, reduction_c=16, kernel_size=3`.
    pub fn new(path: &nn::Path, steps: i64, channels: i64) -> Result<Self> {
        Self::with_options(path, steps, channels, 16, 16, 3)
    }

    /// All arguments; parameters go under `path` as `ta.sharedMLP.{0,2}.weight`,
    /// `ca.sharedMLP.{0,2}.weight` and `sa.conv.weight`. Errors unless `1 ≤ reduction_t ≤ T`,
    /// `1 ≤ reduction_c ≤ C` and `kernel_size` is 3 or 7.
    pub fn with_options(
        path: &nn::Path,
        steps: i64,
        channels: i64,
        reduction_t: i64,
        reduction_c: i64,
        kernel_size: i64,
    ) -> Result<Self> {
        const NAME: &str = "MultiDimensionalAttention";
        check_reduction(NAME, "T", steps, "reduction_t", reduction_t)?;
        check_reduction(NAME, "C", channels, "reduction_c", reduction_c)?;
        let padding = match kernel_size {
            3 => 1,
            7 => 3,
            k => {
                return Err(SjError::config(
                    NAME,
                    format!("kernel size must be 3 or 7, got {k}"),
                ))
            }
        };
        let sa_conv = variable(
            NAME,
            &(path / "sa" / "conv"),
            "weight",
            &[1, 2, kernel_size, kernel_size],
            pytorch_default_init(2 * kernel_size * kernel_size),
        )?;
        Ok(MultiDimensionalAttention {
            steps,
            channels,
            ta: SharedMlp::new(NAME, &(path / "ta"), steps, reduction_t, 3)?,
            ca: SharedMlp::new(NAME, &(path / "ca"), channels, reduction_c, 3)?,
            sa_conv,
            padding,
            step_mode: StepMode::M,
        })
    }

    /// The spatial attention `[N, 1, 1, H, W]` of `x` `[N, T, C, H, W]`.
    fn spatial(&self, x: &Tensor) -> std::result::Result<Tensor, tch::TchError> {
        let merged = x.f_flatten(1, 2)?;
        let avg = merged.f_mean_dim(&[1i64][..], true, x.kind())?;
        let max = merged.f_amax(&[1i64][..], true)?;
        let p = self.padding;
        Ok(Tensor::f_cat(&[avg, max], 1)?
            .f_conv2d(&self.sa_conv, None::<Tensor>, [1, 1], [p, p], [1, 1], 1)?
            .unsqueeze(1)
            .sigmoid())
    }

    fn attend(&self, x: &Tensor) -> std::result::Result<Tensor, tch::TchError> {
        let (n, t, c) = (x.size()[0], self.steps, self.channels);
        let out = self.ta.scores(x)?.f_view([n, t, 1, 1, 1])? * x;
        let out = self
            .ca
            .scores(&out.transpose(1, 2))?
            .f_view([n, 1, c, 1, 1])?
            * &out;
        let out = self.spatial(&out)? * &out;
        Ok(out.relu())
    }
}

impl Module for MultiDimensionalAttention {
    fn type_name(&self) -> &'static str {
        "MultiDimensionalAttention"
    }
    fn forward(&mut self, x_seq: &Tensor) -> Result<Tensor> {
        let expected = format!("[T={}, N, C={}, H, W]", self.steps, self.channels);
        check_input(
            "MultiDimensionalAttention",
            x_seq,
            &self.sa_conv,
            5,
            &[(0, self.steps), (2, self.channels)],
            &expected,
        )?;
        let out = self
            .attend(&x_seq.transpose(0, 1))
            .map_err(op_error("MultiDimensionalAttention"))?;
        Ok(out.transpose(0, 1))
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn supported_step_modes(&self) -> &'static [StepMode] {
        MULTI_STEP_ONLY
    }
    fn named_tensors(&self) -> Vec<NamedTensor> {
        let mut v = self.ta.named_tensors("ta.");
        v.extend(self.ca.named_tensors("ca."));
        v.push(("sa.conv.weight".into(), self.sa_conv.shallow_clone()));
        v
    }
    fn extra_repr(&self) -> String {
        format!("T={}, C={}", self.steps, self.channels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functional::state_dict;
    use tch::{Device, Kind};

    fn set(vs: &nn::VarStore, name: &str, values: &Tensor) {
        let vars = vs.variables();
        let var = &vars[name];
        tch::no_grad(|| {
            var.shallow_clone()
                .copy_(&values.view(var.size().as_slice()))
        });
    }

    fn zero_all(vs: &nn::VarStore) {
        tch::no_grad(|| {
            for v in vs.variables().values() {
                let _ = v.shallow_clone().zero_();
            }
        });
    }

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    #[test]
    fn temporal_wise_attention_hand_example_checklist_96() {
        let vs = nn::VarStore::new(Device::Cpu);
        // T = 2, r = 2: hidden 1; w1 = [[1, 1]], w2 = [[1], [-1]]
        let mut twa = TemporalWiseAttention::new(&vs.root(), 2, 2, 2).unwrap();
        set(
            &vs,
            "sharedMLP.0.weight",
            &Tensor::from_slice(&[1.0f32, 1.0]),
        );
        set(
            &vs,
            "sharedMLP.2.weight",
            &Tensor::from_slice(&[1.0f32, -1.0]),
        );
        // x[0] = [1, 3], x[1] = [2, -4] (N = 1, L = 2): avg = [2, -1], max = [3, 2]
        // MLP(avg) = relu(1) * [1, -1], MLP(max) = relu(5) * [1, -1]: scores [sigmoid(6), sigmoid(-6)]
        let x = Tensor::from_slice(&[1.0f32, 3.0, 2.0, -4.0]).view([2, 1, 2]);
        let y = twa.forward(&x).unwrap();
        let (a, b) = (sigmoid(6.0) as f32, sigmoid(-6.0) as f32);
        let want = Tensor::from_slice(&[a, 3.0 * a, 2.0 * b, -4.0 * b]).view([2, 1, 2]);
        assert!(y.allclose(&want, 1e-6, 1e-7, false), "{y}");
    }

    #[test]
    fn zero_weights_halve_the_input_and_bad_inputs_are_errors() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut twa = TemporalWiseAttention::new(&vs.root(), 4, 2, 4).unwrap();
        assert_eq!(
            state_dict(&twa)
                .iter()
                .map(|(k, t)| (k.as_str(), t.size()))
                .collect::<Vec<_>>(),
            [
                ("sharedMLP.0.weight", vec![2, 4]),
                ("sharedMLP.2.weight", vec![4, 2])
            ]
        );
        zero_all(&vs);
        let x = Tensor::randn([4, 2, 3, 5, 5], (Kind::Float, Device::Cpu));
        assert!(twa
            .forward(&x)
            .unwrap()
            .allclose(&(&x * 0.5), 1e-6, 1e-7, false));
        let err = twa
            .forward(&Tensor::zeros([3, 2, 3, 5, 5], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("TemporalWiseAttention") && err.contains("[T=4, N, C, H, W]"),
            "{err}"
        );
        assert!(twa
            .forward(&Tensor::zeros([4, 2, 3], (Kind::Float, Device::Cpu)))
            .is_err());
        assert!(twa.set_step_mode(StepMode::S).is_err());
        assert!(TemporalWiseAttention::new(&vs.root(), 4, 8, 4)
            .unwrap_err()
            .to_string()
            .contains("reduction"));
        assert!(
            TemporalWiseAttention::new(&vs.root(), 4, 16, 4).is_err()
                && TemporalWiseAttention::new(&vs.root(), 16, 16, 3).is_err()
        );
    }

    #[test]
    fn multi_dimensional_attention_checklist_97() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut mda = MultiDimensionalAttention::with_options(&vs.root(), 2, 4, 2, 2, 3).unwrap();
        let names: Vec<(String, Vec<i64>)> = state_dict(&mda)
            .into_iter()
            .map(|(k, t)| (k, t.size()))
            .collect();
        assert_eq!(
            names,
            [
                ("ta.sharedMLP.0.weight".to_string(), vec![1, 2, 1, 1, 1]),
                ("ta.sharedMLP.2.weight".to_string(), vec![2, 1, 1, 1, 1]),
                ("ca.sharedMLP.0.weight".to_string(), vec![2, 4, 1, 1, 1]),
                ("ca.sharedMLP.2.weight".to_string(), vec![4, 2, 1, 1, 1]),
                ("sa.conv.weight".to_string(), vec![1, 2, 3, 3]),
            ]
        );
        let x = Tensor::randn([2, 3, 4, 5, 6], (Kind::Float, Device::Cpu));
        // all weights zero: three sigmoid(0) = 0.5 factors, then ReLU
        zero_all(&vs);
        let y = mda.forward(&x).unwrap();
        assert_eq!(y.size(), x.size());
        assert!(y.allclose(&(&x * 0.125).relu(), 1e-6, 1e-7, false));
        // temporal attention by hand (same MLP as the TWA example), the rest zero
        set(
            &vs,
            "ta.sharedMLP.0.weight",
            &Tensor::from_slice(&[1.0f32, 1.0]),
        );
        set(
            &vs,
            "ta.sharedMLP.2.weight",
            &Tensor::from_slice(&[1.0f32, -1.0]),
        );
        let flat = x.transpose(0, 1).flatten(2, -1); // [N, T, C*H*W]
                                                     // hidden units relu(avg_0 + avg_1) and relu(max_0 + max_1); scores sigmoid(±(their sum))
        let sum_t = |pooled: Tensor| {
            pooled
                .sum_dim_intlist(&[1i64][..], false, Kind::Float)
                .relu()
        };
        let hidden = sum_t(flat.mean_dim(&[2i64][..], false, Kind::Float))
            + sum_t(flat.amax(&[2i64][..], false)); // [N]
        let ta = Tensor::stack(&[hidden.sigmoid(), (-&hidden).sigmoid()], 0).view([2, 3, 1, 1, 1]); // [T, N]
        assert!(mda
            .forward(&x)
            .unwrap()
            .allclose(&(&x * ta * 0.25).relu(), 1e-5, 1e-6, false));
        // spatial attention: centre tap of the mean map, top-left tap of the max map
        zero_all(&vs);
        let w = Tensor::zeros([1, 2, 3, 3], (Kind::Float, Device::Cpu));
        let _ = w.get(0).get(0).get(1).get(1).fill_(1.0);
        let _ = w.get(0).get(1).get(0).get(0).fill_(1.0);
        set(&vs, "sa.conv.weight", &w);
        let out = &x * 0.25; // after ta and ca
        let merged = out.transpose(0, 1).flatten(1, 2); // [N, T*C, H, W]
        let avg = merged.mean_dim(&[1i64][..], false, Kind::Float);
        let max = merged
            .amax(&[1i64][..], false)
            .constant_pad_nd([1, 0, 1, 0])
            .narrow(1, 0, 5)
            .narrow(2, 0, 6);
        let sa = (avg + max).sigmoid().unsqueeze(0).unsqueeze(2); // [1, N, 1, H, W]
        assert!(mda
            .forward(&x)
            .unwrap()
            .allclose(&(out * sa).relu(), 1e-5, 1e-6, false));
    }

    #[test]
    fn multi_dimensional_attention_errors() {
        let vs = nn::VarStore::new(Device::Cpu);
        assert!(MultiDimensionalAttention::new(&vs.root(), 8, 32)
            .unwrap_err()
            .to_string()
            .contains("reduction_t"));
        assert!(MultiDimensionalAttention::new(&vs.root(), 16, 8)
            .unwrap_err()
            .to_string()
            .contains("reduction_c"));
        assert!(
            MultiDimensionalAttention::with_options(&vs.root(), 4, 4, 2, 2, 5)
                .unwrap_err()
                .to_string()
                .contains("3 or 7")
        );
        let mut mda = MultiDimensionalAttention::with_options(&vs.root(), 4, 4, 2, 2, 7).unwrap();
        let err = mda
            .forward(&Tensor::zeros([4, 2, 3, 5, 5], (Kind::Float, Device::Cpu)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[T=4, N, C=4, H, W]") && err.contains("[4, 2, 3, 5, 5]"),
            "{err}"
        );
        assert_eq!(
            mda.forward(&Tensor::ones([4, 2, 4, 5, 5], (Kind::Float, Device::Cpu)))
                .unwrap()
                .size(),
            vec![4, 2, 4, 5, 5]
        );
    }
}
