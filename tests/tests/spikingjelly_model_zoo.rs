//! `sj::model` against Python SpikingJelly 2.0 (checklist 157-163, 310): `state_dict` keys,
//! shapes and parameter counts of the zoo networks, and the outputs of spiking/SEW ResNets and a
//! PLIF network whose parameters are set by a formula over their `state_dict` positions, on
//! tests/data/spikingjelly_model_zoo.{json,npz} (tests/reference/gen_spikingjelly_model_zoo.py).
use sj::model::{
    parametric_lif_net as plif, sew_resnet, spiking_resnet, spiking_vgg, ConnectFunction,
    ResNetOptions,
};
use sj::prelude::*;
use sj::surrogate::Surrogate;
use std::collections::HashMap;
use std::path::Path;

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn if_atan(_: &nn::Path) -> sj::Result<Box<dyn Module>> {
    Ok(Box::new(
        IFNode::new()
            .with_surrogate(Surrogate::atan(2.0)?)
            .with_detach_reset(true),
    ))
}

fn plif_atan(path: &nn::Path) -> sj::Result<Box<dyn Module>> {
    Ok(Box::new(
        ParametricLIFNode::new(path, 2.0)?
            .with_surrogate(Surrogate::atan(2.0)?)
            .with_detach_reset(true),
    ))
}

type Build = fn(&nn::Path) -> sj::Result<Box<dyn Module>>;

/// The networks of the generator's `KEYED` and `COUNTED` tables, built as it builds them.
fn zoo() -> Vec<(&'static str, Build)> {
    fn o() -> ResNetOptions {
        ResNetOptions::default()
    }
    fn v() -> spiking_vgg::VGGOptions {
        spiking_vgg::VGGOptions::default()
    }
    fn b<M: Module + 'static>(m: sj::Result<M>) -> sj::Result<Box<dyn Module>> {
        Ok(Box::new(m?))
    }
    vec![
        ("spiking_resnet18", |p| {
            b(spiking_resnet::spiking_resnet18(p, &if_atan, &o()))
        }),
        ("spiking_resnet34", |p| {
            b(spiking_resnet::spiking_resnet34(p, &if_atan, &o()))
        }),
        ("spiking_resnet50", |p| {
            b(spiking_resnet::spiking_resnet50(p, &if_atan, &o()))
        }),
        ("spiking_resnext50_32x4d", |p| {
            b(spiking_resnet::spiking_resnext50_32x4d(p, &if_atan, &o()))
        }),
        ("spiking_wide_resnet50_2", |p| {
            b(spiking_resnet::spiking_wide_resnet50_2(p, &if_atan, &o()))
        }),
        ("spiking_resnet18_plif", |p| {
            b(spiking_resnet::spiking_resnet18(p, &plif_atan, &o()))
        }),
        ("sew_resnet18", |p| {
            b(sew_resnet::sew_resnet18(
                p,
                &if_atan,
                ConnectFunction::Add,
                &o(),
            ))
        }),
        ("sew_resnet50", |p| {
            b(sew_resnet::sew_resnet50(
                p,
                &if_atan,
                ConnectFunction::Add,
                &o(),
            ))
        }),
        ("spiking_vgg11", |p| {
            b(spiking_vgg::spiking_vgg11(p, &if_atan, &v()))
        }),
        ("spiking_vgg11_bn", |p| {
            b(spiking_vgg::spiking_vgg11_bn(p, &if_atan, &v()))
        }),
        ("spiking_vgg16_bn", |p| {
            b(spiking_vgg::spiking_vgg16_bn(p, &if_atan, &v()))
        }),
        ("MNISTNet", |p| b(plif::MNISTNet(p, 128, &plif_atan))),
        ("FashionMNISTNet", |p| {
            b(plif::FashionMNISTNet(p, 128, &plif_atan))
        }),
        ("NMNISTNet", |p| b(plif::NMNISTNet(p, 128, &plif_atan))),
        ("CIFAR10Net", |p| b(plif::CIFAR10Net(p, 256, &plif_atan))),
        ("CIFAR10DVSNet", |p| {
            b(plif::CIFAR10DVSNet(p, 128, &plif_atan))
        }),
        ("DVSGestureNet", |p| {
            b(plif::DVSGestureNet(p, 128, &plif_atan))
        }),
        ("spiking_resnet101", |p| {
            b(spiking_resnet::spiking_resnet101(p, &if_atan, &o()))
        }),
        ("spiking_resnet152", |p| {
            b(spiking_resnet::spiking_resnet152(p, &if_atan, &o()))
        }),
        ("spiking_resnext101_32x8d", |p| {
            b(spiking_resnet::spiking_resnext101_32x8d(p, &if_atan, &o()))
        }),
        ("spiking_wide_resnet101_2", |p| {
            b(spiking_resnet::spiking_wide_resnet101_2(p, &if_atan, &o()))
        }),
        ("spiking_vgg13", |p| {
            b(spiking_vgg::spiking_vgg13(p, &if_atan, &v()))
        }),
        ("spiking_vgg19_bn", |p| {
            b(spiking_vgg::spiking_vgg19_bn(p, &if_atan, &v()))
        }),
    ]
}

#[test]
fn checklist_157_161_state_dict_keys_shapes_and_parameter_counts_equal_spikingjelly() {
    let text = std::fs::read_to_string(data("spikingjelly_model_zoo.json")).unwrap();
    let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys = reference["keys"].as_object().unwrap();
    let params = reference["params"].as_object().unwrap();
    assert_eq!(
        params.len(),
        zoo().len(),
        "every reference network is checked"
    );
    for (name, build) in zoo() {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = build(&vs.root()).unwrap();
        let count: i64 = vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum();
        assert_eq!(
            Some(count),
            params[name].as_i64(),
            "{name}: parameter count"
        );
        let got: Vec<(String, Vec<i64>)> = functional::state_dict(net.as_ref())
            .into_iter()
            .map(|(k, t)| (k, t.size()))
            .collect();
        // Every state_dict entry is a VarStore variable under the same name, so
        // `load_state_dict` of a SpikingJelly / torchvision file finds them.
        assert_eq!(got.len(), vs.variables().len(), "{name}");
        for (k, _) in &got {
            assert!(
                vs.variables().contains_key(k),
                "{name}: {k} is not in the VarStore"
            );
        }
        if let Some(want) = keys.get(name) {
            let want: Vec<(String, Vec<i64>)> = serde_json::from_value(want.clone()).unwrap();
            assert_eq!(got, want, "{name}: state_dict keys and shapes, in order");
        }
    }
}

const PHI: f64 = 0.6180339887498949;

/// The generator's `formula`: the value of the `index`-th state_dict entry.
fn formula(index: usize, key: &str, shape: &[i64]) -> Tensor {
    let n: i64 = shape.iter().product();
    let base = (Tensor::arange(n, (Kind::Double, Device::Cpu)) * PHI + index as f64 * 0.1234567)
        .frac()
        - 0.5;
    let last = key.rsplit('.').next().unwrap();
    let v = if last == "running_var" {
        base * 0.4 + 0.3
    } else if last == "running_mean" {
        base * 0.2
    } else if shape.len() >= 2 {
        let fan_in: i64 = shape[1..].iter().product();
        base * (2.0 * (6.0 / fan_in as f64).sqrt())
    } else if last == "weight" {
        base * 0.5 + 1.0
    } else if last == "bias" {
        base * 0.8 + 0.5
    } else {
        base * 0.2
    };
    v.to_kind(Kind::Float).reshape(shape)
}

fn set_formula(net: &dyn Module) {
    for (i, (key, mut t)) in functional::state_dict(net).into_iter().enumerate() {
        if !key.ends_with("num_batches_tracked") {
            let v = formula(i, &key, &t.size());
            no_grad(|| t.copy_(&v));
        }
    }
}

fn reference_outputs() -> HashMap<String, Tensor> {
    Tensor::read_npz(data("spikingjelly_model_zoo.npz"))
        .unwrap()
        .into_iter()
        .collect()
}

/// Runs `net` in eval mode over `x` `[T, N, ...]` in step mode 'm'.
fn run_m(net: &mut dyn Module, x: &Tensor) -> Tensor {
    functional::set_training(net, false);
    set_step_mode(net, StepMode::M).unwrap();
    reset_net(net);
    let y = no_grad(|| net.forward(x)).unwrap();
    reset_net(net);
    y
}

#[track_caller]
fn assert_close(what: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.size(), want.size(), "{what}: shape");
    let diff = (got - want).abs().max().double_value(&[]);
    assert!(diff < 1e-4, "{what}: max |diff| {diff}");
}

#[test]
fn checklist_158_159_resnet_outputs_equal_spikingjelly_with_the_same_weights() {
    let r = reference_outputs();
    let x = &r["x_rgb"];
    let opts = ResNetOptions {
        num_classes: 10,
        ..Default::default()
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let mut r18 = spiking_resnet::spiking_resnet18(&(vs.root() / "a"), &if_atan, &opts).unwrap();
    let mut sew18 =
        sew_resnet::sew_resnet18(&(vs.root() / "b"), &if_atan, ConnectFunction::Add, &opts)
            .unwrap();
    let mut sew50 =
        sew_resnet::sew_resnet50(&(vs.root() / "c"), &if_atan, ConnectFunction::Iand, &opts)
            .unwrap();
    for (name, net) in [
        ("spiking_resnet18", &mut r18 as &mut dyn Module),
        ("sew_resnet18_add", &mut sew18),
        ("sew_resnet50_iand", &mut sew50),
    ] {
        set_formula(net);
        let y = run_m(net, x);
        assert_close(name, &y, &r[&format!("out_{name}")]);
    }
    // Step mode 's', one step at a time, gives the same (flatten(x, 1) after the pooling).
    set_step_mode(&mut r18, StepMode::S).unwrap();
    let steps: Vec<Tensor> = (0..2)
        .map(|t| no_grad(|| r18.forward(&x.get(t))).unwrap())
        .collect();
    reset_net(&mut r18);
    assert_close(
        "spiking_resnet18 in 's'",
        &Tensor::stack(&steps, 0),
        &r["out_spiking_resnet18"],
    );
}

#[test]
fn checklist_161_plif_net_outputs_equal_spikingjelly_with_the_same_weights() {
    let r = reference_outputs();
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = plif::MNISTNet(&vs.root(), 8, &plif_atan).unwrap();
    set_formula(&net);
    let y = run_m(&mut net, &r["x_gray"]);
    assert!(
        y.abs().sum(Kind::Float).double_value(&[]) > 0.0,
        "the network fires"
    );
    assert_close("plif_mnistnet8", &y, &r["out_plif_mnistnet8"]);
}

#[test]
fn checklist_310_spiking_resnet18_at_224_in_step_mode_m() {
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net =
        spiking_resnet::spiking_resnet18(&vs.root(), &if_atan, &Default::default()).unwrap();
    set_step_mode(&mut net, StepMode::M).unwrap();
    let x = Tensor::rand([4, 1, 3, 224, 224], (Kind::Float, Device::Cpu));
    let y = no_grad(|| net.forward(&x)).unwrap();
    assert_eq!(y.size(), [4, 1, 1000]);
    let printed = sj::base::repr(&net);
    assert!(
        printed.starts_with("SpikingResNet(\n  (conv1): Conv2d("),
        "{printed}"
    );
    assert!(printed.contains("(downsample): Sequential("), "{printed}");
    assert!(printed.contains("(sn1): IFNode("), "{printed}");
}

#[test]
fn initialisation_is_torchvisions() {
    sj::tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let opts = ResNetOptions {
        zero_init_residual: true,
        ..Default::default()
    };
    let net = spiking_resnet::spiking_resnet18(&vs.root(), &if_atan, &opts).unwrap();
    let sd: HashMap<String, Tensor> = functional::state_dict(&net).into_iter().collect();
    // kaiming_normal_(mode='fan_out'): std sqrt(2 / (512 * 9)) for layer4's 3x3 convolutions.
    let std = sd["layer4.0.conv2.weight"].std(true).double_value(&[]);
    let want = (2.0f64 / (512.0 * 9.0)).sqrt();
    assert!((std / want - 1.0).abs() < 0.01, "{std} vs {want}");
    assert_eq!(
        sd["layer1.0.bn2.weight"]
            .abs()
            .sum(Kind::Float)
            .double_value(&[]),
        0.0
    );
    assert_eq!(
        sd["layer1.0.bn1.weight"]
            .mean(Kind::Float)
            .double_value(&[]),
        1.0
    );
    let vs = nn::VarStore::new(Device::Cpu);
    let net = sew_resnet::sew_resnet50(&vs.root(), &if_atan, ConnectFunction::Add, &opts).unwrap();
    let sd: HashMap<String, Tensor> = functional::state_dict(&net).into_iter().collect();
    assert_eq!(
        sd["layer2.1.bn3.weight"]
            .abs()
            .sum(Kind::Float)
            .double_value(&[]),
        0.0
    );
    assert_eq!(
        sd["layer2.1.bn2.weight"]
            .mean(Kind::Float)
            .double_value(&[]),
        1.0
    );
    let vs = nn::VarStore::new(Device::Cpu);
    let net = spiking_vgg::spiking_vgg11(&vs.root(), &if_atan, &Default::default()).unwrap();
    let sd: HashMap<String, Tensor> = functional::state_dict(&net).into_iter().collect();
    let std = sd["classifier.3.weight"].std(true).double_value(&[]);
    assert!((std / 0.01 - 1.0).abs() < 0.01, "{std}");
    assert_eq!(
        sd["features.0.bias"]
            .abs()
            .sum(Kind::Float)
            .double_value(&[]),
        0.0
    );
}

#[test]
fn bad_configurations_and_inputs_are_errors() {
    let vs = nn::VarStore::new(Device::Cpu);
    let grouped = ResNetOptions {
        groups: 2,
        ..Default::default()
    };
    let e = spiking_resnet::spiking_resnet18(&(vs.root() / "a"), &if_atan, &grouped)
        .unwrap_err()
        .to_string();
    assert!(e.contains("BasicBlock only supports groups=1"), "{e}");
    let dilated = ResNetOptions {
        replace_stride_with_dilation: [false, true, false],
        ..Default::default()
    };
    let e = spiking_resnet::spiking_resnet34(&(vs.root() / "b"), &if_atan, &dilated)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("dilation > 1 is not supported in BasicBlock"),
        "{e}"
    );
    // A Bottleneck ResNet takes dilation (torchvision's segmentation backbones).
    let mut net = spiking_resnet::spiking_resnet50(&(vs.root() / "c"), &if_atan, &dilated).unwrap();
    let y = no_grad(|| net.forward(&Tensor::rand([1, 3, 64, 64], (Kind::Float, Device::Cpu))));
    assert_eq!(y.unwrap().size(), [1, 1000]);
    let e = "OR".parse::<ConnectFunction>().unwrap_err().to_string();
    assert!(e.contains("'ADD', 'AND' or 'IAND'"), "{e}");
    let zero = ResNetOptions {
        num_classes: 0,
        ..Default::default()
    };
    assert!(
        sew_resnet::sew_resnet18(&(vs.root() / "d"), &if_atan, ConnectFunction::Add, &zero)
            .is_err()
    );
    assert!(plif::DVSGestureNet(&(vs.root() / "e"), 0, &plif_atan).is_err());
    // One channel into a network for RGB: an error naming the convolution, not a panic.
    let mut net =
        spiking_resnet::spiking_resnet18(&(vs.root() / "f"), &if_atan, &Default::default())
            .unwrap();
    let e = net
        .forward(&Tensor::rand([2, 1, 32, 32], (Kind::Float, Device::Cpu)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("Conv2d"), "{e}");
    // A neuron builder that fails: its error comes back.
    fn failing(_: &nn::Path) -> sj::Result<Box<dyn Module>> {
        Ok(Box::new(LIFNode::new(0.5)?))
    }
    let e = spiking_vgg::spiking_vgg11(&(vs.root() / "g"), &failing, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("LIFNode") && e.contains("tau"), "{e}");
}

#[test]
fn checklist_158_torchvision_weights_load_and_give_torchvisions_outputs() {
    // torchvision's resnet18 and resnet50 (random weights, BN statistics moved off their initial
    // values by a few training-mode batches), saved with torch.save; the outputs of the ANN in
    // eval mode on a fixed input.
    let dir = std::env::temp_dir().join(format!("sj-torchvision-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let printed = sj_tests::venv_python(&format!(
        "import torch, torchvision, numpy as np\n\
         torch.manual_seed(0)\n\
         x = torch.rand(2, 3, 64, 64)\n\
         out = {{'x': x.numpy()}}\n\
         for name in ['resnet18', 'resnet50']:\n\
         \x20   net = getattr(torchvision.models, name)(num_classes=10)\n\
         \x20   with torch.no_grad():\n\
         \x20       for _ in range(3): net(torch.rand(4, 3, 64, 64))\n\
         \x20   net.eval()\n\
         \x20   torch.save(net.state_dict(), {dir:?} + f'/{{name}}.pth')\n\
         \x20   with torch.no_grad():\n\
         \x20       out[name] = net(x).numpy()\n\
         \x20       out[name + '_conv1'] = net.conv1(x).numpy()\n\
         np.savez({dir:?} + '/out.npz', **out)\n\
         print('torchvision', torchvision.__version__)\n",
        dir = dir.display().to_string(),
    ));
    assert!(printed.starts_with("torchvision 0.26"), "{printed}");
    let r: HashMap<String, Tensor> = Tensor::read_npz(dir.join("out.npz"))
        .unwrap()
        .into_iter()
        .collect();
    fn relu(_: &nn::Path) -> sj::Result<Box<dyn Module>> {
        Ok(Box::new(ReLU::new()))
    }
    let opts = ResNetOptions {
        num_classes: 10,
        ..Default::default()
    };
    type Arch = fn(&nn::Path, &Build, &ResNetOptions) -> sj::Result<sj::model::ResNet>;
    let archs: [(&str, Arch); 2] = [
        ("resnet18", |p, n, o| {
            spiking_resnet::spiking_resnet18(p, n, o)
        }),
        ("resnet50", |p, n, o| {
            spiking_resnet::spiking_resnet50(p, n, o)
        }),
    ];
    for (name, build) in archs {
        let file = dir.join(format!("{name}.pth"));
        // With ReLU in the neurons' places the zoo network is torchvision's ANN: same outputs.
        let vs = nn::VarStore::new(Device::Cpu);
        let mut ann = build(&vs.root(), &(relu as Build), &opts).unwrap();
        sj::state_dict::load_state_dict(&vs, &file).unwrap();
        functional::set_training(&mut ann, false);
        let y = no_grad(|| ann.forward(&r["x"])).unwrap();
        assert_close(name, &y, &r[name]);
        // The spiking network takes the same file; its first convolution computes the same.
        let vs = nn::VarStore::new(Device::Cpu);
        let mut snn = build(&vs.root(), &(if_atan as Build), &opts).unwrap();
        sj::state_dict::load_state_dict(&vs, &file).unwrap();
        let y = no_grad(|| snn.children_mut()[0].1.forward(&r["x"])).unwrap();
        assert_close(&format!("{name} conv1"), &y, &r[&format!("{name}_conv1")]);
        set_step_mode(&mut snn, StepMode::M).unwrap();
        let y = no_grad(|| snn.forward(&r["x"].unsqueeze(0).repeat([4, 1, 1, 1, 1]))).unwrap();
        assert_eq!(y.size(), [4, 2, 10]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
