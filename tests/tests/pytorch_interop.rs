//! PyTorch files and ann2snn against the real peers (issue 11, checklist 147-154, 304): a
//! `state_dict()` written by Python torch 2.11 (tests/data/pytorch_mnist_cnn.pth, from
//! tests/reference/gen_pytorch_mnist_cnn.py) loads into sj's `mnist_cnn` with every tensor equal
//! and the same outputs; sj's Converter gives SpikingJelly 2.0's scales and SNN outputs on the
//! same calibration data; a file sj saves is read back by Python's `torch.load`; bad files are
//! errors.
use sj::ann2snn::{sample_models::mnist_cnn, Converter, VoltageScaler};
use sj::datasets::neuromorphic::read_npz;
use sj::datasets::{DataLoader, ImageDataset, ToTensor};
use sj::functional::state_dict;
use sj::prelude::*;
use sj::state_dict::{load_state_dict, load_state_dict_entry, read_torch_file, save_state_dict};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn reference() -> HashMap<String, Tensor> {
    read_npz(data("pytorch_mnist_cnn.npz"))
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.to_tensor().unwrap()))
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pytorch_interop");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The trained network of the fixture, in eval mode.
fn trained(vs: &nn::VarStore) -> Sequential {
    let mut net = mnist_cnn(&vs.root()).unwrap();
    load_state_dict(vs, data("pytorch_mnist_cnn.pth")).unwrap();
    functional::set_training(&mut net, false);
    net
}

fn images(x: &Tensor) -> Tensor {
    x.to_kind(Kind::Float) / 255.0
}

#[track_caller]
fn close(what: &str, got: &Tensor, want: &Tensor, rel: f64) {
    assert_eq!(got.size(), want.size(), "{what}: shape");
    let diff = (got - want).abs().max().double_value(&[]);
    let tol = rel * (1.0 + want.abs().max().double_value(&[]));
    assert!(diff <= tol, "{what}: max |diff| {diff} > {tol}");
}

#[test]
fn a_python_state_dict_loads_with_every_tensor_and_the_same_outputs() {
    let file = read_torch_file(data("pytorch_mnist_cnn.pth"), None).unwrap();
    let names: Vec<&str> = file.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(file.len(), 23, "{names:?}");
    assert!(
        names.contains(&"network.5.num_batches_tracked"),
        "{names:?}"
    );
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = trained(&vs);
    let vars = vs.variables();
    for (name, t) in &file {
        assert_eq!(vars[name].kind(), t.kind(), "{name}");
        assert!(vars[name].equal(t), "{name}");
    }
    assert!(file[0].1.kind() == Kind::Float);
    let r = reference();
    let got = no_grad(|| net.forward(&images(&r["test_x"]))).unwrap();
    close("logits", &got, &r["logits"], 1e-5);
}

#[test]
fn a_state_dict_sj_saves_is_read_by_python_torch() {
    let vs = nn::VarStore::new(Device::Cpu);
    let _net = trained(&vs);
    let file = scratch("sj_mnist_cnn.pth");
    save_state_dict(&vs, &file).unwrap();
    // Round trip in sj.
    let back = nn::VarStore::new(Device::Cpu);
    let _copy = mnist_cnn(&back.root()).unwrap();
    load_state_dict(&back, &file).unwrap();
    for (name, t) in vs.variables() {
        assert!(back.variables()[&name].equal(&t), "{name}");
    }
    // Python: torch.load (weights_only, the default) + load_state_dict(strict) into the same
    // PyTorch model as the generator's, then every tensor equal to the Python-written file.
    let script = format!(
        "import sys, torch\n\
         sys.path.insert(0, {reference:?})\n\
         from gen_pytorch_mnist_cnn import ANN\n\
         net = ANN()\n\
         net.load_state_dict(torch.load({sj:?}))\n\
         want = torch.load({py:?})\n\
         got = net.state_dict()\n\
         assert list(got) == list(want), (list(got), list(want))\n\
         for k in want:\n\
         \x20   assert got[k].dtype == want[k].dtype and torch.equal(got[k], want[k]), k\n\
         print('python read', len(want), 'tensors')\n",
        reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("reference"),
        sj = file,
        py = data("pytorch_mnist_cnn.pth"),
    );
    let printed = sj_tests::venv_python(&script);
    assert!(printed.contains("python read 23 tensors"), "{printed}");
}

fn calibration(r: &HashMap<String, Tensor>) -> DataLoader {
    let x = &r["calib_x"];
    let pixels = Vec::<u8>::try_from(&x.flatten(0, -1)).unwrap();
    let n = x.size()[0] as usize;
    let data = ImageDataset::new(
        "calibration",
        pixels,
        [1, 28, 28],
        vec![0; n],
        vec!["0".into()],
    )
    .unwrap();
    DataLoader::new(data, 100).unwrap().with_transform(ToTensor)
}

/// The scales of the converted network's scaler pairs, in order, checking each pair is reciprocal.
fn scaler_pairs(net: &dyn Module) -> Vec<f64> {
    let mut scales = Vec::new();
    fn walk(m: &dyn Module, out: &mut Vec<f32>) {
        if let Some(s) = m.as_any().and_then(|a| a.downcast_ref::<VoltageScaler>()) {
            out.push(s.scale().double_value(&[]) as f32);
        }
        for (_, c) in m.children() {
            walk(c, out);
        }
    }
    let mut flat = Vec::new();
    walk(net, &mut flat);
    for pair in flat.chunks(2) {
        // Exact reciprocals (checklist 304): the first is 1/s of the second, rounded once.
        assert_eq!(pair[0], (1.0 / pair[1] as f64) as f32, "{pair:?}");
        scales.push(pair[1] as f64);
    }
    scales
}

#[test]
fn conversion_matches_spikingjelly_2_scales_and_outputs() {
    let r = reference();
    let x = images(&r["test_x"]);
    for (name, mode) in [("max", "max"), ("p99.9", "99.9%"), ("half", "0.5")] {
        let vs = nn::VarStore::new(Device::Cpu);
        let ann = trained(&vs);
        let mut snn = Converter::new(mode)
            .unwrap()
            .convert(ann, &calibration(&r))
            .unwrap();
        let scales = Tensor::from_slice(&scaler_pairs(&snn)).to_kind(Kind::Float);
        close(
            &format!("{name} scales"),
            &scales,
            &r[&format!("scales_{name}")],
            1e-5,
        );
        let want = &r[&format!("snn_out_{name}")];
        let t_steps = want.size()[0];
        functional::reset_net(&mut snn);
        let mut sum = Tensor::zeros([16, 10], (Kind::Float, Device::Cpu));
        let mut same = 0i64;
        no_grad(|| {
            for t in 0..t_steps {
                sum += snn.forward(&x).unwrap();
                // Float rounding at a threshold may move a spike by a step; count agreeing sums.
                same += (&sum - want.get(t))
                    .abs()
                    .le(1e-3)
                    .sum(Kind::Int64)
                    .int64_value(&[]);
            }
        });
        let total = t_steps * 160;
        assert!(
            same as f64 >= 0.98 * total as f64,
            "{name}: {same} of {total} outputs agree"
        );
        close(&format!("{name} final"), &sum, &want.get(t_steps - 1), 0.05);
    }
}

#[test]
fn the_fused_network_gives_spikingjelly_fused_outputs() {
    let r = reference();
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = trained(&vs);
    assert_eq!(Converter::fuse(&mut net, true).unwrap(), 3);
    let got = no_grad(|| net.forward(&images(&r["test_x"]))).unwrap();
    close("fused logits", &got, &r["fused_logits"], 1e-5);
    // Three convolutions with their new biases and the Linear; the trained VarStore keeps the
    // unfused values, so the same weights can be converted again.
    assert_eq!(state_dict(&net).len(), 2 * 3 + 2);
    for (name, t) in read_torch_file(data("pytorch_mnist_cnn.pth"), None).unwrap() {
        assert!(vs.variables()[&name].equal(&t), "{name}");
    }
}

#[test]
fn bad_files_and_keys_are_errors_naming_them() {
    let good = std::fs::read(data("pytorch_mnist_cnn.pth")).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let _net = mnist_cnn(&vs.root()).unwrap();
    for (name, bytes) in [
        ("truncated.pth", good[..good.len() / 2].to_vec()),
        ("text.pth", b"this is not a torch.save file".to_vec()),
        ("empty.pt", Vec::new()),
    ] {
        let file = scratch(name);
        std::fs::write(&file, bytes).unwrap();
        let e = load_state_dict(&vs, &file).unwrap_err().to_string();
        assert!(e.contains(name) && e.contains("torch.save"), "{name}: {e}");
    }
    // A checkpoint nests the state dict: the error says how to load it, and the entry loads.
    let ckpt = scratch("checkpoint.pth");
    let script = format!(
        "import torch\nsd = torch.load({py:?})\ntorch.save({{'model': sd, 'epoch': 3}}, {out:?})\n",
        py = data("pytorch_mnist_cnn.pth"),
        out = ckpt
    );
    sj_tests::venv_python(&script);
    let e = load_state_dict(&vs, &ckpt).unwrap_err().to_string();
    assert!(
        e.contains("Unexpected key(s)") && e.contains("load_state_dict_entry(vs, path, \"model\")"),
        "{e}"
    );
    load_state_dict_entry(&vs, &ckpt, "model").unwrap();
    let e = load_state_dict_entry(&vs, &ckpt, "optimizer")
        .unwrap_err()
        .to_string();
    assert!(e.contains("optimizer"), "{e}");
    // A network with a different layer: the keys are listed.
    let other = nn::VarStore::new(Device::Cpu);
    let _fc = sj::layer::Linear::new(&(other.root() / "fc"), 32, 10, true).unwrap();
    let e = load_state_dict(&other, data("pytorch_mnist_cnn.pth"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Missing key(s): [\"fc.bias\", \"fc.weight\"]")
            && e.contains("network.0.weight"),
        "{e}"
    );
    // Shapes that differ.
    let wide = nn::VarStore::new(Device::Cpu);
    let _w = sj::layer::Linear::new(&(wide.root() / "network" / "13"), 32, 11, true).unwrap();
    let sub: Vec<(String, Tensor)> = read_torch_file(data("pytorch_mnist_cnn.pth"), None)
        .unwrap()
        .into_iter()
        .filter(|(n, _)| n.starts_with("network.13."))
        .collect();
    let e = sj::state_dict::load_named_tensors(&wide, &sub, "sub")
        .unwrap_err()
        .to_string();
    assert!(e.contains("network.13.") && e.contains("[10"), "{e}");
    assert!(save_state_dict(&vs, scratch("x.pkl")).is_err());
}
