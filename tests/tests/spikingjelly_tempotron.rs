//! `sj::timing_based` against Python SpikingJelly 0.0.0.0.14 (checklist 260-262): GaussianTuning,
//! the PSP kernel, the Tempotron's potentials, v_max, spike times and mse_loss with their
//! gradients, on tests/data/spikingjelly_tempotron.npz (tests/reference/gen_spikingjelly_tempotron.py);
//! plus finite differences of mse_loss and the documented differences.
use sj::prelude::*;
use sj::timing_based::{GaussianTuning, Tempotron};
use std::collections::HashMap;
use std::path::Path;

fn reference() -> HashMap<String, Tensor> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/spikingjelly_tempotron.npz");
    Tensor::read_npz(path).unwrap().into_iter().collect()
}

#[track_caller]
fn close(what: &str, got: &Tensor, want: &Tensor, tol: f64) {
    assert_eq!(got.size(), want.size(), "{what}: shape");
    let diff = (got - want).abs().max().double_value(&[]);
    assert!(
        diff <= tol,
        "{what}: max |diff| {diff}\n got {got}\nwant {want}"
    );
}

fn get(r: &HashMap<String, Tensor>, key: &str) -> Tensor {
    r.get(key)
        .unwrap_or_else(|| panic!("{key} missing"))
        .shallow_clone()
}

fn scalar(r: &HashMap<String, Tensor>, key: &str) -> f64 {
    get(r, key).double_value(&[0])
}

/// A Tempotron with the reference weight `w` and `T`, tau 15, tau_s 3.75.
fn tempotron(vs: &nn::VarStore, name: &str, w: &Tensor, t: i64, v_threshold: f64) -> Tempotron {
    let s = w.size();
    let tp = Tempotron::new(&(vs.root() / name), s[1], s[0], t, 15.0, 3.75, v_threshold).unwrap();
    sj::tch::no_grad(|| tp.weight().shallow_clone().copy_(w));
    tp
}

#[test]
fn checklist_260_gaussian_tuning_matches_spikingjelly() {
    let r = reference();
    let enc = GaussianTuning::new(2, 5, &get(&r, "gauss.x_min"), &get(&r, "gauss.x_max")).unwrap();
    close("mu", enc.mu(), &get(&r, "gauss.mu"), 1e-6);
    close("sigma2", enc.sigma2(), &get(&r, "gauss.sigma2"), 1e-6);
    for case in ["gauss", "gauss_k", "gauss_half"] {
        let x = get(&r, &format!("{case}.x"));
        let spikes = enc
            .encode(&x, scalar(&r, &format!("{case}.max_spike_time")))
            .unwrap();
        close(case, &spikes, &get(&r, &format!("{case}.spikes")), 0.0);
    }
    let e = GaussianTuning::new(2, 2, &get(&r, "gauss.x_min"), &get(&r, "gauss.x_max"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("GaussianTuning: needs n >= 1 and m > 2"),
        "{e}"
    );
    let e = GaussianTuning::new(2, 5, &get(&r, "gauss.x_max"), &get(&r, "gauss.x_min"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("x_min < x_max"), "{e}");
    let e = enc
        .encode(&get(&r, "gauss.x").squeeze_dim(2), 50.0)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("GaussianTuning::encode: x must be float [N, 2, k]"),
        "{e}"
    );
}

#[test]
fn checklist_261_psp_kernel_peaks_at_the_threshold() {
    let r = reference();
    let t = get(&r, "psp.t");
    close(
        "K(t)",
        &Tempotron::psp_kernel(&t, 15.0, 3.75),
        &get(&r, "psp.kernel"),
        1e-6,
    );
    let vs = nn::VarStore::new(Device::Cpu);
    for v_threshold in [1.0, 2.0] {
        let tp = tempotron(
            &vs,
            &format!("one{v_threshold}"),
            &Tensor::ones([1, 1], (Kind::Float, Device::Cpu)),
            20,
            v_threshold,
        );
        // The continuous peak: t_max = τ·τs·ln(τ/τs)/(τ − τs) = 5 ln 4; v0·K(t_max) = v_threshold.
        let t_max = 15.0 * 3.75 * (15.0f64 / 3.75).ln() / (15.0 - 3.75);
        let peak = Tempotron::psp_kernel(&Tensor::from_slice(&[t_max]), 15.0, 3.75)
            .double_value(&[0])
            * tp.v0();
        assert!(
            (peak - v_threshold).abs() < 1e-12,
            "peak {peak} at v_threshold {v_threshold}"
        );
        // Slightly before and after the peak the potential is lower.
        for dt in [-0.01, 0.01] {
            let k = Tempotron::psp_kernel(&Tensor::from_slice(&[t_max + dt]), 15.0, 3.75)
                .double_value(&[0])
                * tp.v0();
            assert!(k < v_threshold);
        }
    }
    assert!(
        (tempotron(
            &vs,
            "v0",
            &Tensor::ones([1, 1], (Kind::Float, Device::Cpu)),
            20,
            1.0
        )
        .v0()
            - scalar(&r, "psp.v0"))
        .abs()
            < 1e-6
    );
    let tp = tempotron(
        &vs,
        "grid",
        &Tensor::ones([1, 1], (Kind::Float, Device::Cpu)),
        20,
        1.0,
    );
    let v = tp
        .v(&Tensor::zeros([1, 1], (Kind::Float, Device::Cpu)))
        .unwrap();
    close(
        "v of one spike",
        &v.flatten(0, -1),
        &get(&r, "psp.v_one"),
        1e-6,
    );
    // A spike long after a step: SpikingJelly overflowed exp into inf·0 = NaN; sj gives 0.
    let late = Tensor::from_slice(&[350.0f32]).view([1, 1]);
    let tp = tempotron(
        &vs,
        "late",
        &Tensor::ones([1, 1], (Kind::Float, Device::Cpu)),
        400,
        1.0,
    );
    let v = tp.v(&late).unwrap();
    assert_eq!(v.isnan().sum(Kind::Int64).int64_value(&[]), 0);
    assert_eq!(
        v.narrow(2, 0, 350).abs().sum(Kind::Float).double_value(&[]),
        0.0
    );
}

#[test]
fn checklist_262_tempotron_matches_spikingjelly() {
    let r = reference();
    let vs = nn::VarStore::new(Device::Cpu);
    for (case, v_threshold) in [("tp", 1.0), ("tp_vth", 2.0)] {
        let tp = tempotron(&vs, case, &get(&r, "tp.weight"), 20, v_threshold);
        let s = get(&r, "tp.in_spikes");
        let labels = get(&r, "tp.labels").to_kind(Kind::Int64);
        if case == "tp" {
            close("v", &tp.v(&s).unwrap(), &get(&r, "tp.v"), 1e-5);
        }
        let v_max = tp.v_max(&s).unwrap();
        close(
            &format!("{case} v_max"),
            &v_max,
            &get(&r, &format!("{case}.v_max")),
            1e-5,
        );
        // Spike times: the peak time where the neuron fired; −1 where it did not (SpikingJelly: −t_peak).
        let times = tp.spike_times(&s).unwrap();
        let want = get(&r, &format!("{case}.spikes"));
        let fired = v_max.ge(v_threshold);
        close(
            &format!("{case} spike times"),
            &times,
            &want.where_self(&fired, &Tensor::full_like(&want, -1.0)),
            0.0,
        );
        assert!(
            want.le(0.0).logical_or(&fired).all().int64_value(&[]) == 1,
            "SpikingJelly's no-spike values are <= 0"
        );
        // mse_loss and its gradients with respect to the weight and the input spike times.
        let s = s.set_requires_grad(true);
        let loss = Tempotron::mse_loss(&tp.v_max(&s).unwrap(), v_threshold, &labels, 3).unwrap();
        close(
            &format!("{case} loss"),
            &loss.view([1]),
            &get(&r, &format!("{case}.loss")),
            1e-5,
        );
        let grads = Tensor::run_backward(&[&loss], &[tp.weight(), &s], false, false);
        close(
            &format!("{case} dL/dW"),
            &grads[0],
            &get(&r, &format!("{case}.grad_weight")),
            1e-5,
        );
        if case == "tp" {
            close("dL/ds", &grads[1], &get(&r, "tp.grad_in_spikes"), 1e-5);
            // The straight-through path of the spike times.
            let y = (tp.spike_times(&s).unwrap() * get(&r, "tp.coef")).sum(Kind::Float);
            let g = Tensor::run_backward(&[&y], &[tp.weight()], false, false);
            close(
                "d Σ coef·times / dW",
                &g[0],
                &get(&r, "tp.grad_weight_spikes"),
                1e-5,
            );
        }
    }
    // Encoder to Tempotron to loss, as the MNIST example chains them.
    let enc = GaussianTuning::new(
        1,
        6,
        &Tensor::zeros([1], (Kind::Float, Device::Cpu)),
        &Tensor::ones([1], (Kind::Float, Device::Cpu)),
    )
    .unwrap();
    close("pipe mu", enc.mu(), &get(&r, "pipe.mu"), 1e-6);
    let s = enc.encode(&get(&r, "pipe.x"), 20.0).unwrap().view([4, -1]);
    close("pipe spikes", &s, &get(&r, "pipe.in_spikes"), 0.0);
    let tp = tempotron(&vs, "pipe", &get(&r, "pipe.weight"), 20, 1.0);
    let v_max = tp.v_max(&s).unwrap();
    close("pipe v_max", &v_max, &get(&r, "pipe.v_max"), 1e-5);
    let loss =
        Tempotron::mse_loss(&v_max, 1.0, &get(&r, "pipe.labels").to_kind(Kind::Int64), 3).unwrap();
    close("pipe loss", &loss.view([1]), &get(&r, "pipe.loss"), 1e-5);
    let g = Tensor::run_backward(&[&loss], &[tp.weight()], false, false);
    close("pipe dL/dW", &g[0], &get(&r, "pipe.grad_weight"), 1e-5);
    // Whole-number spike times take the index_add path; with gradients wanted, the dense one.
    let s = get(&r, "pipe.in_spikes");
    let dense = tp.v(&s.set_requires_grad(true)).unwrap();
    close(
        "integer-time path equals the dense one",
        &tp.v(&s).unwrap(),
        &dense.detach(),
        1e-5,
    );
    // One sample keeps its batch dimension (SpikingJelly squeezed it to [3]).
    let tp = tempotron(&vs, "b1", &get(&r, "tp.weight"), 20, 1.0);
    let one = tp.v_max(&get(&r, "tp.in_spikes").narrow(0, 0, 1)).unwrap();
    close(
        "batch of one",
        &one,
        &get(&r, "squeeze.v_max_b1").unsqueeze(0),
        1e-5,
    );
}

#[test]
fn mse_loss_gradient_matches_finite_differences() {
    let r = reference();
    let mut vs = nn::VarStore::new(Device::Cpu);
    let w = get(&r, "tp.weight").to_kind(Kind::Double);
    let s = get(&r, "tp.in_spikes").to_kind(Kind::Double);
    let labels = get(&r, "tp.labels").to_kind(Kind::Int64);
    let tp = Tempotron::new(&(vs.root() / "fd"), 6, 3, 20, 15.0, 3.75, 1.0).unwrap();
    vs.double(); // finite differences in float64
    let weight = tp.weight().shallow_clone();
    sj::tch::no_grad(|| weight.shallow_clone().copy_(&w));
    let loss_at = |wv: &Tensor| {
        sj::tch::no_grad(|| {
            weight.shallow_clone().copy_(wv);
            Tempotron::mse_loss(&tp.v_max(&s).unwrap(), 1.0, &labels, 3)
                .unwrap()
                .double_value(&[])
        })
    };
    sj::tch::no_grad(|| weight.shallow_clone().copy_(&w));
    let loss = Tempotron::mse_loss(&tp.v_max(&s).unwrap(), 1.0, &labels, 3).unwrap();
    let grad = Tensor::run_backward(&[&loss], &[&weight], false, false)[0].copy();
    let eps = 1e-6;
    let mut checked = 0;
    for o in 0..3 {
        for i in 0..6 {
            let (plus, minus) = (w.copy(), w.copy());
            let _ = plus.get(o).get(i).fill_(w.double_value(&[o, i]) + eps);
            let _ = minus.get(o).get(i).fill_(w.double_value(&[o, i]) - eps);
            let fd = (loss_at(&plus) - loss_at(&minus)) / (2.0 * eps);
            let g = grad.double_value(&[o, i]);
            assert!(
                (fd - g).abs() < 1e-6 * (1.0 + g.abs()),
                "W[{o},{i}]: autograd {g}, finite difference {fd}"
            );
            checked += usize::from(g != 0.0);
        }
    }
    assert!(
        checked >= 6,
        "the loss depends on the weights ({checked} non-zero)"
    );
    let e = Tempotron::mse_loss(
        &Tensor::zeros([4, 3], (Kind::Float, Device::Cpu)),
        1.0,
        &Tensor::from_slice(&[0i64, 1, 5, 1]),
        3,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("labels must be in 0..3"), "{e}");
    let e = Tempotron::new(&vs.root(), 6, 3, 20, 3.0, 3.0, 1.0)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("Tempotron: needs T >= 1 and positive, different tau and tau_s"),
        "{e}"
    );
    let e = tp
        .v(&Tensor::zeros([4, 5], (Kind::Float, Device::Cpu)))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("in_spikes must be float spike times [N, 6]"),
        "{e}"
    );
}
