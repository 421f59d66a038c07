//! `sj::learning` against Python SpikingJelly 0.0.0.0.14 (checklist 136-146): every functional
//! form and learner on the inputs recorded in tests/data/spikingjelly_stdp.npz, made by
//! tests/reference/gen_spikingjelly_stdp.py; plus an index-loop computation of conv STDP, the
//! SGD contract of `step(on_grad=true)`, single- vs multi-step learners, and bad input.
use sj::learning::{
    mstdp_linear_single_step, mstdpet_linear_single_step, stdp_conv1d_single_step,
    stdp_conv2d_single_step, stdp_linear_single_step, stdp_multi_step, MSTDPETLearner,
    MSTDPLearner, STDPLearner, StdpOptions, WeightFn,
};
use sj::prelude::*;
use sj::tch::nn::PaddingMode;
use sj::training::{Optimizer, SGD};
use std::collections::HashMap;
use std::path::Path;

fn reference() -> HashMap<String, Tensor> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/spikingjelly_stdp.npz");
    Tensor::read_npz(path).unwrap().into_iter().collect()
}

struct Case<'a> {
    arrays: &'a HashMap<String, Tensor>,
    name: &'a str,
}

impl Case<'_> {
    fn get(&self, field: &str) -> Tensor {
        self.arrays
            .get(&format!("{}.{field}", self.name))
            .unwrap_or_else(|| panic!("{}.{field} missing", self.name))
            .shallow_clone()
    }
    fn opt(&self, field: &str) -> Option<Tensor> {
        self.arrays
            .get(&format!("{}.{field}", self.name))
            .map(Tensor::shallow_clone)
    }
    fn scalar(&self, field: &str) -> f64 {
        self.get(field).double_value(&[0])
    }
    fn ints(&self, field: &str) -> Vec<i64> {
        Vec::<f32>::try_from(&self.get(field))
            .unwrap()
            .into_iter()
            .map(|v| v as i64)
            .collect()
    }
    fn options(&self) -> StdpOptions {
        StdpOptions::new(self.scalar("tau_pre"), self.scalar("tau_post")).unwrap()
    }
}

#[track_caller]
fn close(what: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.size(), want.size(), "{what}: shape");
    // float32 sums of up to a few thousand terms: 1e-5 relative to the largest value.
    let diff = (got - want).abs().max().double_value(&[]);
    let tol = 1e-5 * (1.0 + want.abs().max().double_value(&[]));
    assert!(
        diff <= tol,
        "{what}: max |diff| {diff}\n got {got}\nwant {want}"
    );
}

/// Sets a layer's weight to `w`.
fn set(weight: &Tensor, w: &Tensor) {
    sj::tch::no_grad(|| weight.shallow_clone().copy_(w));
}

fn linear(vs: &nn::VarStore, name: &str, w: &Tensor) -> Linear {
    let s = w.size();
    let fc = Linear::new(&(vs.root() / name), s[1], s[0], false).unwrap();
    set(fc.weight(), w);
    fc
}

#[test]
fn checklist_137_linear_single_step_matches_spikingjelly() {
    let arrays = reference();
    let vs = nn::VarStore::new(Device::Cpu);
    for (name, weighted) in [("lin_id", false), ("lin_f", true), ("lin_none", false)] {
        let c = Case {
            arrays: &arrays,
            name,
        };
        let fc = linear(&vs, name, &c.get("weight"));
        let mut options = c.options();
        if weighted {
            options = options
                .with_f_pre(WeightFn::clamp(-1.0, 1.0).unwrap())
                .with_f_post(WeightFn::new("1 - w", |w| 1.0 - w));
        }
        let (tp, tq, dw) = stdp_linear_single_step(
            &fc,
            &c.get("in_spike"),
            &c.get("out_spike"),
            c.opt("trace_pre_in").as_ref(),
            c.opt("trace_post_in").as_ref(),
            &options,
        )
        .unwrap();
        close(&format!("{name} trace_pre"), &tp, &c.get("trace_pre_out"));
        close(&format!("{name} trace_post"), &tq, &c.get("trace_post_out"));
        close(&format!("{name} delta_w"), &dw, &c.get("delta_w"));
    }
}

fn conv2d(vs: &nn::VarStore, c: &Case, mode: PaddingMode) -> Conv2d {
    let w = c.get("weight");
    let s = w.size();
    let (stride, padding) = (c.ints("stride"), c.ints("padding"));
    let options = ConvOptions::new()
        .with_stride([stride[0], stride[1]])
        .with_padding([padding[0], padding[1]])
        .with_bias(false)
        .with_padding_mode(mode);
    let conv = Conv2d::new_with(&(vs.root() / c.name), s[1], s[0], [s[2], s[3]], options).unwrap();
    set(conv.weight(), &w);
    conv
}

#[test]
fn checklist_138_conv2d_and_conv1d_single_step_match_spikingjelly() {
    let arrays = reference();
    let vs = nn::VarStore::new(Device::Cpu);
    for (name, mode) in [
        ("c2d_s1", PaddingMode::Zeros),
        ("c2d_s2", PaddingMode::Zeros),
        ("c2d_circ", PaddingMode::Circular),
        ("c2d_rect", PaddingMode::Zeros),
    ] {
        let c = Case {
            arrays: &arrays,
            name,
        };
        let conv = conv2d(&vs, &c, mode);
        let (x, y) = (c.get("in_spike"), c.get("out_spike"));
        let (tp, tq, dw) = stdp_conv2d_single_step(
            &conv,
            &x,
            &y,
            c.opt("trace_pre_in").as_ref(),
            c.opt("trace_post_in").as_ref(),
            &c.options(),
        )
        .unwrap();
        close(&format!("{name} trace_pre"), &tp, &c.get("trace_pre_out"));
        close(&format!("{name} trace_post"), &tq, &c.get("trace_post_out"));
        close(&format!("{name} delta_w"), &dw, &c.get("delta_w"));
    }
    for name in ["c1d_s1", "c1d_s2"] {
        let c = Case {
            arrays: &arrays,
            name,
        };
        let w = c.get("weight");
        let s = w.size();
        let options = ConvOptions::new()
            .with_stride(c.ints("stride")[0])
            .with_padding(c.ints("padding")[0])
            .with_bias(false);
        let conv = Conv1d::new_with(&(vs.root() / name), s[1], s[0], s[2], options).unwrap();
        set(conv.weight(), &w);
        let (tp, tq, dw) = stdp_conv1d_single_step(
            &conv,
            &c.get("in_spike"),
            &c.get("out_spike"),
            c.opt("trace_pre_in").as_ref(),
            c.opt("trace_post_in").as_ref(),
            &c.options(),
        )
        .unwrap();
        close(&format!("{name} trace_pre"), &tp, &c.get("trace_pre_out"));
        close(&format!("{name} trace_post"), &tq, &c.get("trace_post_out"));
        close(&format!("{name} delta_w"), &dw, &c.get("delta_w"));
    }
}

/// Random 0/1 spikes of `shape`.
fn binary(shape: &[i64], p: f64) -> Tensor {
    Tensor::rand(shape, (Kind::Float, Device::Cpu))
        .lt(p)
        .to_kind(Kind::Float)
}

fn values(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(&t.flatten(0, -1)).unwrap()
}

/// f_pre = clamp(w, −0.2, 0.2), f_post = 1 − w: different weight dependences for the two terms.
fn weighted_options() -> StdpOptions {
    StdpOptions::new(2.0, 3.0)
        .unwrap()
        .with_f_pre(WeightFn::clamp(-0.2, 0.2).unwrap())
        .with_f_post(WeightFn::new("1 - w", |w| 1.0 - w))
}

#[test]
fn linear_delta_w_equals_an_index_loop() {
    // Δw[o,i] = (1 − w)·Σ_b out[b,o]·tr_pre'[b,i] − clamp(w)·Σ_b tr_post'[b,o]·in[b,i], with the
    // traces updated first: tr' = tr·(1 − 1/τ) + s.
    sj::tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let fc = Linear::new(&vs.root(), 7, 4, false).unwrap();
    let (x, y) = (binary(&[5, 7], 0.4), binary(&[5, 4], 0.5));
    let (tr_pre, tr_post) = (
        Tensor::rand([5, 7], (Kind::Float, Device::Cpu)),
        Tensor::rand([5, 4], (Kind::Float, Device::Cpu)),
    );
    let (tp, tq, dw) = stdp_linear_single_step(
        &fc,
        &x,
        &y,
        Some(&tr_pre),
        Some(&tr_post),
        &weighted_options(),
    )
    .unwrap();
    let (xv, yv, w) = (values(&x), values(&y), values(fc.weight()));
    let tpv: Vec<f32> = values(&tr_pre)
        .iter()
        .zip(&xv)
        .map(|(t, s)| t * 0.5 + s)
        .collect();
    let tqv: Vec<f32> = values(&tr_post)
        .iter()
        .zip(&yv)
        .map(|(t, s)| t * (2.0 / 3.0) + s)
        .collect();
    close("trace_pre", &tp.flatten(0, -1), &Tensor::from_slice(&tpv));
    close("trace_post", &tq.flatten(0, -1), &Tensor::from_slice(&tqv));
    let mut want = vec![0f32; 28];
    for o in 0..4 {
        for i in 0..7 {
            let wi = w[o * 7 + i];
            for b in 0..5 {
                want[o * 7 + i] += (1.0 - wi) * yv[b * 4 + o] * tpv[b * 7 + i]
                    - wi.clamp(-0.2, 0.2) * tqv[b * 4 + o] * xv[b * 7 + i];
            }
        }
    }
    close("delta_w", &dw.flatten(0, -1), &Tensor::from_slice(&want));
}

#[test]
fn conv2d_delta_w_equals_an_index_loop() {
    // Δw[o,c,i,j] = (1 − w)·Σ_{b,p,q} tr_pre'[b,c,i+p·s,j+q·s]·out[b,o,p,q]
    //             − clamp(w)·Σ_{b,p,q} tr_post'[b,o,p,q]·in_pad[b,c,i+p·s,j+q·s],
    // padding 1, strides 1 and 2, random traces carried in (on the padded input).
    for (stride, side) in [(1i64, 7usize), (2, 4)] {
        sj::tch::manual_seed(7);
        let vs = nn::VarStore::new(Device::Cpu);
        let options = ConvOptions::new()
            .with_stride(stride)
            .with_padding(1)
            .with_bias(false);
        let conv = Conv2d::new_with(&vs.root(), 2, 3, 3, options).unwrap();
        let s = side as i64;
        let (x, y) = (binary(&[2, 2, 7, 7], 0.4), binary(&[2, 3, s, s], 0.5));
        let (tr_pre, tr_post) = (
            Tensor::rand([2, 2, 9, 9], (Kind::Float, Device::Cpu)),
            Tensor::rand([2, 3, s, s], (Kind::Float, Device::Cpu)),
        );
        let (_, _, dw) = stdp_conv2d_single_step(
            &conv,
            &x,
            &y,
            Some(&tr_pre),
            Some(&tr_post),
            &weighted_options(),
        )
        .unwrap();
        let xp = x.constant_pad_nd([1, 1, 1, 1]);
        let (xv, yv, w) = (values(&xp), values(&y), values(conv.weight()));
        let tpv = values(&(&tr_pre * 0.5 + &xp));
        let tqv = values(&(&tr_post * (2.0 / 3.0) + &y));
        let st = stride as usize;
        let mut want = vec![0f32; 3 * 2 * 9];
        for o in 0..3 {
            for c in 0..2 {
                for i in 0..3 {
                    for j in 0..3 {
                        let k = ((o * 2 + c) * 3 + i) * 3 + j;
                        for b in 0..2 {
                            for p in 0..side {
                                for q in 0..side {
                                    let at = ((b * 2 + c) * 9 + i + st * p) * 9 + j + st * q;
                                    let yo = ((b * 3 + o) * side + p) * side + q;
                                    want[k] += (1.0 - w[k]) * tpv[at] * yv[yo]
                                        - w[k].clamp(-0.2, 0.2) * tqv[yo] * xv[at];
                                }
                            }
                        }
                    }
                }
            }
        }
        close(
            &format!("stride {stride}"),
            &dw.flatten(0, -1),
            &Tensor::from_slice(&want),
        );
    }
}

#[test]
fn checklist_139_multi_step_matches_spikingjelly() {
    let arrays = reference();
    let vs = nn::VarStore::new(Device::Cpu);
    let c = Case {
        arrays: &arrays,
        name: "ms_lin",
    };
    let fc = linear(&vs, "ms_lin", &c.get("weight"));
    let (tp, tq, dw) = stdp_multi_step(
        &fc,
        &c.get("in_spike"),
        &c.get("out_spike"),
        None,
        None,
        &c.options(),
    )
    .unwrap();
    close("ms_lin trace_pre", &tp, &c.get("trace_pre_out"));
    close("ms_lin trace_post", &tq, &c.get("trace_post_out"));
    close("ms_lin delta_w", &dw, &c.get("delta_w"));
    let c = Case {
        arrays: &arrays,
        name: "ms_c2d",
    };
    let w = c.get("weight");
    let s = w.size();
    let conv = Conv2d::new_with(
        &(vs.root() / "ms_c2d"),
        s[1],
        s[0],
        3,
        ConvOptions::new().with_padding(1).with_bias(false),
    )
    .unwrap();
    set(conv.weight(), &w);
    let (tp, tq, dw) = stdp_multi_step(
        &conv,
        &c.get("in_spike"),
        &c.get("out_spike"),
        None,
        None,
        &c.options(),
    )
    .unwrap();
    close("ms_c2d trace_pre", &tp, &c.get("trace_pre_out"));
    close("ms_c2d trace_post", &tq, &c.get("trace_post_out"));
    close("ms_c2d delta_w", &dw, &c.get("delta_w"));
}

/// `Linear(6 → 4)` + `IFNode` in `mode` with the reference weight, as the generator built it.
fn fc_if(vs: &nn::VarStore, name: &str, w: &Tensor, mode: StepMode) -> Sequential {
    let mut net = Sequential::new()
        .add(linear(vs, name, w))
        .add(IFNode::new());
    set_step_mode(&mut net, mode).unwrap();
    net
}

#[test]
fn checklist_140_stdp_learner_matches_spikingjelly_in_both_step_modes() {
    let arrays = reference();
    let vs = nn::VarStore::new(Device::Cpu);
    let c = Case {
        arrays: &arrays,
        name: "lrn_s",
    };
    let (x, y) = (c.get("in_spike"), c.get("out_spike"));
    let mut dws = Vec::new();
    for (k, mode) in [StepMode::S, StepMode::M].into_iter().enumerate() {
        let mut net = fc_if(&vs, &format!("lrn{k}"), &c.get("weight"), mode);
        let mut learner = STDPLearner::new(mode, &net, "0", "1", c.options()).unwrap();
        let out = match mode {
            StepMode::S => Tensor::stack(
                &(0..3)
                    .map(|t| net.forward(&x.get(t)).unwrap())
                    .collect::<Vec<_>>(),
                0,
            ),
            StepMode::M => net.forward(&x).unwrap(),
        };
        close("the network's spikes are the recorded ones", &out, &y);
        let dw = learner.step(false, 1.0).unwrap().unwrap();
        close(&format!("{mode:?} delta_w"), &dw, &c.get("delta_w"));
        let (tp, tq) = learner.traces();
        close("trace_pre", tp.unwrap(), &c.get("trace_pre"));
        close("trace_post", tq.unwrap(), &c.get("trace_post"));
        // Everything was consumed: another step has nothing to work on.
        let e = learner.step(false, 1.0).unwrap_err().to_string();
        assert!(e.starts_with("STDPLearner: nothing was recorded"), "{e}");
        dws.push(dw);
    }
    assert!(
        dws[0].equal(&dws[1]),
        "'s' T times and 'm' once give the same delta_w"
    );
    let c = Case {
        arrays: &arrays,
        name: "lrn_c2d",
    };
    let w = c.get("weight");
    let conv = Conv2d::new_with(
        &(vs.root() / "lrn_c2d"),
        1,
        2,
        3,
        ConvOptions::new().with_padding(1).with_bias(false),
    )
    .unwrap();
    set(conv.weight(), &w);
    let mut net = Sequential::new().add(conv).add(IFNode::new());
    let mut learner = STDPLearner::new(StepMode::S, &net, "0", "1", c.options()).unwrap();
    let x = c.get("in_spike");
    for t in 0..x.size()[0] {
        let _ = net.forward(&x.get(t)).unwrap();
    }
    let dw = learner.step(false, 1.0).unwrap().unwrap();
    close("lrn_c2d delta_w", &dw, &c.get("delta_w"));
    close(
        "lrn_c2d trace_pre",
        learner.traces().0.unwrap(),
        &c.get("trace_pre"),
    );
}

#[test]
fn checklist_141_step_on_grad_then_sgd_adds_lr_scale_delta_w() {
    let arrays = reference();
    let c = Case {
        arrays: &arrays,
        name: "lrn_s",
    };
    let x = c.get("in_spike");
    for (scale, initial_grad) in [(1.0, false), (0.5, true)] {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut net = fc_if(&vs, "g", &c.get("weight"), StepMode::S);
        let mut learner = STDPLearner::new(StepMode::S, &net, "0", "1", c.options()).unwrap();
        // A second learner on the same records returns its Δw instead.
        let mut probe = STDPLearner::new(StepMode::S, &net, "0", "1", c.options()).unwrap();
        let w = vs.variables()["g.weight"].shallow_clone();
        let mut sgd = SGD::new(&vs, 0.1).unwrap();
        sgd.zero_grad();
        if initial_grad {
            // A gradient already there (from a loss): the learner subtracts from it.
            (&w * c.get("grad_given")).sum(Kind::Float).backward();
            close("given grad", &w.grad(), &c.get("grad_given"));
        }
        for t in 0..3 {
            let _ = net.forward(&x.get(t)).unwrap();
        }
        let before = w.detach().copy();
        let dw = probe.step(false, 1.0).unwrap().unwrap();
        close("delta_w", &dw, &c.get("delta_w"));
        assert!(learner.step(true, scale).unwrap().is_none());
        let want_grad = if initial_grad {
            c.get("grad_scale05")
        } else {
            c.get("grad_from_none")
        };
        close("weight.grad", &w.grad(), &want_grad);
        sgd.step().unwrap();
        let expected = if initial_grad {
            &before - (c.get("grad_given") - &dw * scale) * 0.1
        } else {
            &before + &dw * scale * 0.1
        };
        assert!(
            w.detach().equal(&expected),
            "SGD(lr, momentum 0) after step(on_grad)"
        );
    }
}

#[test]
fn checklist_142_143_reward_rules_match_spikingjelly() {
    let arrays = reference();
    let vs = nn::VarStore::new(Device::Cpu);
    for (name, f) in [
        (
            "mstdp",
            mstdp_linear_single_step
                as fn(
                    &Linear,
                    &Tensor,
                    &Tensor,
                    Option<&Tensor>,
                    Option<&Tensor>,
                    &StdpOptions,
                ) -> sj::Result<(Tensor, Tensor, Tensor)>,
        ),
        ("mstdpet", mstdpet_linear_single_step),
    ] {
        let c = Case {
            arrays: &arrays,
            name,
        };
        let fc = linear(&vs, name, &c.get("weight"));
        let (tp, tq, e) = f(
            &fc,
            &c.get("in_spike"),
            &c.get("out_spike"),
            c.opt("trace_pre_in").as_ref(),
            c.opt("trace_post_in").as_ref(),
            &c.options(),
        )
        .unwrap();
        close(&format!("{name} trace_pre"), &tp, &c.get("trace_pre_out"));
        close(&format!("{name} trace_post"), &tq, &c.get("trace_post_out"));
        close(&format!("{name} eligibility"), &e, &c.get("eligibility"));
    }
    // sj's mstdpet also takes batched spikes: each sample's eligibility is its unbatched one.
    let c = Case {
        arrays: &arrays,
        name: "mstdpet",
    };
    let fc = linear(&vs, "mstdpet_b", &c.get("weight"));
    let (x, y) = (c.get("in_spike"), c.get("out_spike"));
    let (_, _, e) = mstdpet_linear_single_step(
        &fc,
        &Tensor::stack(&[&x, &x.zeros_like()], 0),
        &Tensor::stack(&[&y, &y], 0),
        None,
        None,
        &c.options(),
    )
    .unwrap();
    let (_, _, e0) = mstdpet_linear_single_step(&fc, &x, &y, None, None, &c.options()).unwrap();
    close("batched sample 0", &e.get(0), &e0);
}

#[test]
fn checklist_144_145_reward_learners_match_spikingjelly_and_reset_clears_eligibility() {
    let arrays = reference();
    let vs = nn::VarStore::new(Device::Cpu);
    // MSTDP: batch 3, a reward per sample; steps 0..3, then reset before step 4.
    let c = Case {
        arrays: &arrays,
        name: "mstdp_lrn",
    };
    let mut net = fc_if(&vs, "mstdp_lrn", &c.get("weight"), StepMode::S);
    let mut learner = MSTDPLearner::new(&net, "0", "1", c.options()).unwrap();
    let (x, y, reward, dw) = (
        c.get("in_spike"),
        c.get("out_spike"),
        c.get("reward"),
        c.get("delta_w"),
    );
    for t in 0..5 {
        if t == 4 {
            sj::functional::reset_net(&mut net);
            learner.reset();
        }
        close("MSTDP spikes", &net.forward(&x.get(t)).unwrap(), &y.get(t));
        let got = learner.step(&reward.get(t), false, 1.0).unwrap().unwrap();
        if t < 4 {
            close(&format!("MSTDP delta_w[{t}]"), &got, &dw.get(t));
            close(
                &format!("MSTDP eligibility[{t}]"),
                learner.eligibility().unwrap(),
                &c.get("eligibility").get(t),
            );
        } else {
            // SpikingJelly 0.0.0.0.14 multiplies the stale eligibility here; sj starts afresh.
            assert!(dw.get(4).abs().sum(Kind::Float).double_value(&[]) > 0.0);
            assert_eq!(got.abs().sum(Kind::Float).double_value(&[]), 0.0);
        }
    }
    // MSTDPET: unbatched, a scalar reward per step.
    let c = Case {
        arrays: &arrays,
        name: "mstdpet_lrn",
    };
    let mut net = fc_if(&vs, "mstdpet_lrn", &c.get("weight"), StepMode::S);
    let mut learner =
        MSTDPETLearner::new(&net, "0", "1", c.options(), c.scalar("tau_trace")).unwrap();
    let (x, y, reward, dw) = (
        c.get("in_spike"),
        c.get("out_spike"),
        c.get("reward"),
        c.get("delta_w"),
    );
    for t in 0..5 {
        if t == 4 {
            sj::functional::reset_net(&mut net);
            learner.reset();
        }
        close(
            "MSTDPET spikes",
            &net.forward(&x.get(t)).unwrap(),
            &y.get(t),
        );
        let got = learner.step(&reward.get(t), false, 1.0).unwrap().unwrap();
        if t < 4 {
            close(&format!("MSTDPET delta_w[{t}]"), &got, &dw.get(t));
            if t > 0 {
                close(
                    &format!("MSTDPET trace_e[{t}]"),
                    learner.trace_e().unwrap(),
                    &c.get("trace_e").get(t),
                );
            }
        } else {
            assert!(dw.get(4).abs().sum(Kind::Float).double_value(&[]) > 0.0);
            assert_eq!(got.abs().sum(Kind::Float).double_value(&[]), 0.0);
        }
    }
}

#[test]
fn checklist_146_bad_input_is_an_error_naming_the_rule() {
    let vs = nn::VarStore::new(Device::Cpu);
    let fc = Linear::new(&(vs.root() / "fc"), 5, 3, false).unwrap();
    let opts = StdpOptions::new(2.0, 2.0).unwrap();
    let z = |s: &[i64]| Tensor::zeros(s, (Kind::Float, Device::Cpu));
    let err = |r: sj::Result<(Tensor, Tensor, Tensor)>| r.unwrap_err().to_string();
    let e = err(stdp_linear_single_step(
        &fc,
        &z(&[4, 6]),
        &z(&[4, 3]),
        None,
        None,
        &opts,
    ));
    assert!(e.starts_with("stdp_linear_single_step: spikes [1, 4, 6] in and [1, 4, 3] out do not fit the Linear weight [3, 5]"), "{e}");
    let e = err(stdp_linear_single_step(
        &fc,
        &z(&[4, 5]),
        &z(&[2, 3]),
        None,
        None,
        &opts,
    ));
    assert!(e.contains("do not fit"), "{e}");
    let e = err(stdp_linear_single_step(
        &fc,
        &z(&[5]),
        &z(&[3]),
        None,
        None,
        &opts,
    ));
    assert!(e.contains("in_spike must have 3 dimensions"), "{e}");
    let e = err(stdp_linear_single_step(
        &fc,
        &z(&[4, 5]),
        &z(&[4, 3]),
        Some(&z(&[2, 5])),
        None,
        &opts,
    ));
    assert!(
        e.contains("trace_pre [2, 5] does not match one step's spikes [4, 5]"),
        "{e}"
    );
    assert!(StdpOptions::new(0.5, 2.0)
        .unwrap_err()
        .to_string()
        .contains("tau_pre must be finite and at least 1"));
    assert!(StdpOptions::new(2.0, f64::NAN).is_err());
    let conv = Conv2d::new_with(
        &(vs.root() / "c"),
        2,
        3,
        3,
        ConvOptions::new().with_dilation(2),
    )
    .unwrap();
    let e = err(stdp_conv2d_single_step(
        &conv,
        &z(&[1, 2, 8, 8]),
        &z(&[1, 3, 4, 4]),
        None,
        None,
        &opts,
    ));
    assert!(e.contains("dilation != 1 for Conv2d"), "{e}");
    let conv = Conv2d::new(&(vs.root() / "c2"), 2, 3, 3).unwrap();
    let e = err(stdp_conv2d_single_step(
        &conv,
        &z(&[1, 2, 8, 8]),
        &z(&[1, 3, 5, 5]),
        None,
        None,
        &opts,
    ));
    assert!(e.contains("is not the Conv2d output of in_spike"), "{e}");
    // Learners: an unsupported synapse, a wrong path, a step-mode mismatch, step before forward.
    let mut net = Sequential::new()
        .add(Linear::new(&(vs.root() / "n0"), 5, 3, false).unwrap())
        .add(IFNode::new());
    let e = STDPLearner::new(StepMode::S, &net, "1", "1", opts.clone())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("STDPLearner: ") && e.contains("not IFNode"),
        "{e}"
    );
    let e = STDPLearner::new(StepMode::S, &net, "0", "7", opts.clone())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("STDPLearner: ") && e.contains("no module at \"7\""),
        "{e}"
    );
    let e = STDPLearner::new(StepMode::M, &net, "0", "1", opts.clone())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("step_mode is 'm' but the synapse \"0\" runs in 's'"),
        "{e}"
    );
    let mut learner = STDPLearner::new(StepMode::S, &net, "0", "1", opts.clone()).unwrap();
    let e = learner.step(true, 1.0).unwrap_err().to_string();
    assert!(e.starts_with("STDPLearner: nothing was recorded"), "{e}");
    // Disabled: nothing recorded; enabled again: recorded.
    learner.disable();
    let _ = net.forward(&z(&[2, 5])).unwrap();
    assert!(learner.step(false, 1.0).is_err());
    learner.enable();
    let _ = net.forward(&z(&[2, 5])).unwrap();
    assert!(learner.step(false, 1.0).unwrap().is_some());
    // Another batch size with reset_net but without the learner's reset: its trace does not fit.
    sj::functional::reset_net(&mut net);
    let _ = net.forward(&z(&[3, 5])).unwrap();
    let e = learner.step(false, 1.0).unwrap_err().to_string();
    assert!(e.contains("call reset"), "{e}");
    // Records are capped: past MAX_RECORDS forwards without step, step says so (no silent growth).
    learner.reset();
    sj::functional::reset_net(&mut net);
    for _ in 0..1025 {
        let _ = net.forward(&z(&[1, 5])).unwrap();
    }
    let e = learner.step(false, 1.0).unwrap_err().to_string();
    assert!(
        e.contains("more than 1024 forward calls were recorded without step() or reset()"),
        "{e}"
    );
    let e = MSTDPLearner::new(&net, "1", "1", StdpOptions::new(2.0, 2.0).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("MSTDPLearner: the reward rules are defined for a Linear synapse"),
        "{e}"
    );
    let mut m = MSTDPLearner::new(&net, "0", "1", StdpOptions::new(2.0, 2.0).unwrap()).unwrap();
    sj::functional::reset_net(&mut net);
    let _ = net.forward(&z(&[2, 5])).unwrap();
    let e = m
        .step(&Tensor::from_slice(&[1.0f32, 2.0, 3.0]), false, 1.0)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("reward has 3 values; give one, or one per sample (2)"),
        "{e}"
    );
    assert!(MSTDPETLearner::new(&net, "0", "1", StdpOptions::new(2.0, 2.0).unwrap(), 0.0).is_err());
}
