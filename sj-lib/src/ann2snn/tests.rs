//! ann2snn (checklist 147-154, 304): modes, the hook's scale by hand, reciprocal scaler pairs, BN
//! folding, the rate limit of a converted network, and what cannot be converted.
use super::*;
use crate::base::repr;
use crate::layer::{
    AvgPool2d, BatchNorm1d, BatchNorm2d, BatchNorm3d, Conv1d, Conv2d, Conv3d, ConvOptions, Flatten,
    Linear, MaxPool2d,
};
use crate::neuron::LIFNode;
use sj_datasets::{DataLoader, ImageDataset, ToTensor};
use tch::nn;

fn cpu() -> (Kind, Device) {
    (Kind::Float, Device::Cpu)
}

#[test]
fn modes_parse_as_spikingjelly_accepts_them() {
    assert_eq!("max".parse::<Mode>().unwrap(), Mode::Max);
    assert_eq!("MaX".into_mode().unwrap(), Mode::Max);
    assert_eq!("99.9%".into_mode().unwrap(), Mode::Percentile(99.9));
    assert_eq!("0.5".into_mode().unwrap(), Mode::Fraction(0.5));
    assert_eq!((1.0 / 3.0).into_mode().unwrap(), Mode::Fraction(1.0 / 3.0));
    assert_eq!(1.0.into_mode().unwrap(), Mode::Fraction(1.0));
    for bad in ["avg", "120%", "-1%", "x%", "0", "1.5", "", "%"] {
        let e = bad.into_mode().unwrap_err().to_string();
        assert!(e.contains("Converter") && e.contains("'max'"), "{bad}: {e}");
    }
    for bad in [0.0, -0.5, 1.01, f64::NAN] {
        assert!(Converter::new(bad).is_err(), "{bad}");
    }
    assert_eq!(Mode::Percentile(99.9).to_string(), "99.9%");
}

/// The percentile of `v` as `torch.quantile`/`numpy.percentile` compute it (linear interpolation).
fn percentile(v: &[f32], p: f64) -> f64 {
    let mut s: Vec<f64> = v.iter().map(|&x| x as f64).collect();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pos = p / 100.0 * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

#[test]
fn hook_scale_is_the_hand_computation_for_every_mode_with_momentum() {
    tch::manual_seed(3);
    let batches: Vec<Tensor> = (0..4)
        .map(|i| Tensor::rand([3 + i, 5, 7], cpu()) * (1.0 + i as f64))
        .collect();
    for (mode, m) in [
        (Mode::Max, 0.1),
        (Mode::Percentile(99.9), 0.1),
        (Mode::Percentile(50.0), 0.3),
        (Mode::Fraction(0.25), 0.1),
        (Mode::Max, 0.0),
    ] {
        let mut hook = VoltageHook::new(mode, m).unwrap();
        let mut want: Option<f32> = None;
        for b in &batches {
            let v = Vec::<f32>::try_from(&b.flatten(0, -1)).unwrap();
            let max = v.iter().cloned().fold(f32::MIN, f32::max);
            let s_t = match mode {
                Mode::Max => max,
                Mode::Fraction(f) => (max as f64 * f) as f32,
                Mode::Percentile(p) => percentile(&v, p) as f32,
            };
            want = Some(match want {
                None => s_t,
                Some(s) => s * (1.0 - m) as f32 + s_t * m as f32,
            });
            let y = hook.forward(b).unwrap();
            assert!(y.equal(b), "the hook returns its input");
        }
        let got = hook.scale().double_value(&[]) as f32;
        let want = want.unwrap();
        assert!(
            (got - want).abs() <= 2.0 * f32::EPSILON * want,
            "{mode}: {got} vs {want}"
        );
        assert_eq!(hook.num_batches_tracked(), 3 + 4 + 5 + 6);
    }
    assert!(VoltageHook::new(Mode::Max, 1.5).is_err());
    let e = VoltageHook::new(Mode::Max, 0.1)
        .unwrap()
        .forward(&Tensor::zeros([0, 3], cpu()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("VoltageHook") && e.contains("non-empty"), "{e}");
}

#[test]
fn voltage_scaler_prints_like_spikingjelly_and_pairs_are_exact_reciprocals() {
    // The scales of the tutorial's converted mnist_cnn (checklist 304).
    for (s, inverse) in [
        (4.165831, "0.240048"),
        (3.252196, "0.307485"),
        (7.059210, "0.141659"),
        (16.451399, "0.060785"),
    ] {
        let (a, b) = (VoltageScaler::new(1.0 / s), VoltageScaler::new(s));
        assert_eq!(repr(&a), format!("VoltageScaler({inverse})"));
        assert_eq!(repr(&b), format!("VoltageScaler({s:.6})"));
    }
    let x = Tensor::from_slice(&[1.0f32, -2.0]);
    let y = VoltageScaler::new(0.5).forward(&x).unwrap();
    assert_eq!(Vec::<f32>::try_from(&y).unwrap(), [0.5, -1.0]);
    assert!(VoltageScaler::new(0.5)
        .forward(&Tensor::from_slice(&[1i64]))
        .is_err());
}

fn loader_of(x: &Tensor) -> DataLoader {
    // Values in [0, 1] stored as bytes: the loader's ToTensor gives back x (rounded to 1/255).
    let n = x.size()[0];
    let pixels: Vec<u8> = Vec::<f32>::try_from(&(x.clamp(0.0, 1.0) * 255.0).round().flatten(0, -1))
        .unwrap()
        .into_iter()
        .map(|v| v as u8)
        .collect();
    let shape = [1usize, 1, x.size()[1..].iter().product::<i64>() as usize];
    let data = ImageDataset::new(
        "calibration",
        pixels,
        shape,
        vec![0; n as usize],
        vec!["0".into()],
    )
    .unwrap();
    // One batch: the hooks' scales are then the exact statistics of all of x (a later batch
    // would mix in by momentum).
    DataLoader::new(data, n as usize)
        .unwrap()
        .with_transform(ToTensor)
}

/// A small Sequential of Linear-ReLU layers with a nested Sequential, in `vs`.
fn small_relu_net(vs: &nn::VarStore) -> Sequential {
    let r = vs.root();
    Sequential::new()
        .add(Flatten::new())
        .add(Linear::new(&(&r / "1"), 6, 12, true).unwrap())
        .add(ReLU::new())
        .add(
            Sequential::new()
                .add(Linear::new(&(&r / "3" / "0"), 12, 8, true).unwrap())
                .add(ReLU::new()),
        )
        .add(Linear::new(&(&r / "4"), 8, 3, true).unwrap())
        .add(ReLU::new())
}

#[test]
fn converted_rates_approach_the_ann_activations() {
    tch::manual_seed(11);
    let vs = nn::VarStore::new(Device::Cpu);
    let mut ann = small_relu_net(&vs);
    tch::no_grad(|| {
        for (_, mut v) in vs.variables() {
            let _ = v.uniform_(-0.6, 0.8);
        }
    });
    // Constant inputs in [0, 1] (exact multiples of 1/255, as the loader returns them).
    let x = (Tensor::rand([8, 1, 6], cpu()) * 255.0).round() / 255.0;
    let want = tch::no_grad(|| ann.forward(&x)).unwrap();
    assert!(
        want.gt(0.05).sum(Kind::Int64).int64_value(&[]) >= 8,
        "active outputs"
    );
    let mut snn = Converter::new("max")
        .unwrap()
        .convert(ann, &loader_of(&x))
        .unwrap();
    let text = repr(&snn);
    assert!(
        text.contains("VoltageScaler(") && text.contains("IFNode("),
        "{text}"
    );
    let mut errors = Vec::new();
    let mut sum = Tensor::zeros_like(&want);
    tch::no_grad(|| {
        for t in 1..=256 {
            sum += snn.forward(&x).unwrap();
            if [16, 64, 256].contains(&t) {
                let rel = (&sum / t as f64 - &want).abs().max().double_value(&[])
                    / want.abs().max().double_value(&[]);
                errors.push(rel);
            }
        }
    });
    // The error bound falls like 1/T (r = a - V_T / (T V_th) per layer, the residual potential
    // bounded by the threshold): at T = 256 it is within 5% of the largest activation.
    assert!(errors[2] < 0.05, "{errors:?}");
    assert!(errors[0] > errors[1] && errors[1] > errors[2], "{errors:?}");
}

#[test]
fn folding_equals_the_unfolded_network_in_eval_mode() {
    tch::manual_seed(4);
    let vs = nn::VarStore::new(Device::Cpu);
    let r = vs.root();
    let no_bias = ConvOptions::new().with_bias(false).with_padding(1);
    type Case = (Box<dyn Module>, Box<dyn Module>, Vec<i64>);
    let cases: Vec<Case> = vec![
        (
            Box::new(Conv1d::new(&(&r / "a"), 2, 3, 3).unwrap()),
            Box::new(BatchNorm1d::new(&(&r / "b"), 3).unwrap()),
            vec![4, 2, 9],
        ),
        (
            Box::new(Conv2d::new_with(&(&r / "c"), 2, 3, 3, no_bias).unwrap()),
            Box::new(BatchNorm2d::new(&(&r / "d"), 3).unwrap()),
            vec![4, 2, 6, 6],
        ),
        (
            Box::new(Conv3d::new(&(&r / "e"), 2, 3, 2).unwrap()),
            Box::new(BatchNorm3d::new(&(&r / "f"), 3).unwrap()),
            vec![4, 2, 4, 4, 4],
        ),
    ];
    for (conv, bn, shape) in cases {
        let x = Tensor::randn(shape.as_slice(), cpu());
        let mut net = Sequential::new();
        net.push(conv);
        net.push(bn);
        // Running statistics and affine parameters away from the defaults.
        for _ in 0..3 {
            let _ = net
                .forward(&(Tensor::randn(shape.as_slice(), cpu()) * 3.0 + 1.0))
                .unwrap();
        }
        tch::no_grad(|| {
            for (name, mut t) in state_dict(&net) {
                if name == "1.weight" || name == "1.bias" {
                    let _ = t.uniform_(-2.0, 2.0);
                }
            }
        });
        set_training(&mut net, false);
        let want = net.forward(&x).unwrap();
        assert_eq!(Converter::fuse(&mut net, true).unwrap(), 1);
        assert_eq!(net.get(1).unwrap().type_name(), "Identity");
        let got = net.forward(&x).unwrap();
        let diff = (got - &want).abs().max().double_value(&[]);
        assert!(
            diff < 1e-5 * (1.0 + want.abs().max().double_value(&[])),
            "{diff}"
        );
    }
    // Without fuse_flag nothing changes; a pair in the wrong order is not folded.
    let mut net = Sequential::new()
        .add(BatchNorm2d::new(&(&r / "g"), 2).unwrap())
        .add(Conv2d::new(&(&r / "h"), 2, 2, 1).unwrap());
    assert_eq!(Converter::fuse(&mut net, true).unwrap(), 0);
    assert_eq!(Converter::fuse(&mut net, false).unwrap(), 0);
}

#[test]
fn what_cannot_be_converted_is_an_error_naming_it() {
    let vs = nn::VarStore::new(Device::Cpu);
    let r = vs.root();
    let x = Tensor::rand([4, 1, 4, 4], cpu());
    let data = loader_of(&x);
    let conv = Converter::new("max").unwrap();
    let net = Sequential::new()
        .add(Conv2d::new(&(&r / "0"), 1, 2, 3).unwrap())
        .add(Sequential::new().add(ReLU::new()).add(MaxPool2d::new(2)));
    let e = conv.convert(net, &data).unwrap_err().to_string();
    assert!(
        e.contains("MaxPool2d at '1.1'") && e.contains("AvgPool2d"),
        "{e}"
    );
    let net = Sequential::new()
        .add(ReLU::new())
        .add(LIFNode::new(2.0).unwrap());
    let e = conv.convert(net, &data).unwrap_err().to_string();
    assert!(
        e.contains("LIFNode at '1'") && e.contains("as a function"),
        "{e}"
    );
    let e = conv.convert(ReLU::new(), &data).unwrap_err().to_string();
    assert!(e.contains("single ReLU"), "{e}");
    // A ReLU that never fires during calibration has no usable scale.
    let dead = Sequential::new()
        .add(Flatten::new())
        .add(Linear::new(&(&r / "d"), 16, 2, true).unwrap())
        .add(ReLU::new());
    tch::no_grad(|| {
        for (_, mut v) in vs.variables() {
            let _ = v.fill_(-1.0);
        }
    });
    let e = conv.convert(dead, &data).unwrap_err().to_string();
    assert!(
        e.contains("ReLU at '2'") && e.contains("never fired"),
        "{e}"
    );
    let e = Converter::new("max")
        .unwrap()
        .with_momentum(2.0)
        .convert(Sequential::new().add(AvgPool2d::new(2)), &data)
        .unwrap_err()
        .to_string();
    assert!(e.contains("momentum"), "{e}");
}

#[test]
fn val_counts_correct_predictions_after_each_step() {
    // An "SNN" whose output after step t favours class t % 2: the summed output flips.
    #[derive(Debug, Default)]
    struct Alternating {
        t: i64,
        step_mode: StepMode,
    }
    impl Module for Alternating {
        fn type_name(&self) -> &'static str {
            "Alternating"
        }
        fn forward(&mut self, x: &Tensor) -> crate::error::Result<Tensor> {
            self.t += 1;
            let n = x.size()[0];
            let col: i64 = if self.t == 1 { 1 } else { 0 };
            Ok(Tensor::zeros([n, 2], cpu()).index_fill(1, &Tensor::from_slice(&[col]), 1.0))
        }
        fn step_mode(&self) -> StepMode {
            self.step_mode
        }
        fn step_mode_slot(&mut self) -> &mut StepMode {
            &mut self.step_mode
        }
        fn is_stateful(&self) -> bool {
            true
        }
        fn reset(&mut self) {
            self.t = 0;
        }
    }
    let x = Tensor::rand([6, 1, 2, 2], cpu());
    // Labels all 0 (loader_of): step 1 says 1, from step 3 on the sum says 0 (tie at step 2 -> 0).
    let accs = val(&mut Alternating::default(), &loader_of(&x), 3).unwrap();
    assert_eq!(accs, [0.0, 1.0, 1.0]);
    assert!(val(&mut Alternating::default(), &loader_of(&x), 0).is_err());
}
