//! sj's neurons against Python SpikingJelly 0.0.0.0.14 on 64 random configurations (neuron x surrogate x
//! reset x detach_reset x decay_input x T in {1, 2, 7, 16}): spikes, V[t], final v (and w), and the
//! gradients with respect to x and the learnable parameters, to float32 rounding.
//! The reference is tests/data/spikingjelly_reference.{json,npz}, made by
//! tests/reference/gen_spikingjelly_reference.py (which documents three 0.0.0.0.14 bugs it works around).
use serde_json::Value;
use sj::prelude::*;
use std::collections::HashMap;
use std::path::Path;

fn surrogate(v: &Value) -> Surrogate {
    let (name, a) = (v[0].as_str().unwrap(), &v[1]);
    let f = |k: &str| a[k].as_f64().unwrap();
    match name {
        "Sigmoid" => Surrogate::sigmoid(f("alpha")).unwrap(),
        "ATan" => Surrogate::atan(f("alpha")).unwrap(),
        "PiecewiseQuadratic" => Surrogate::piecewise_quadratic(f("alpha")).unwrap(),
        "PiecewiseExp" => Surrogate::piecewise_exp(f("alpha")).unwrap(),
        "SoftSign" => Surrogate::soft_sign(f("alpha")).unwrap(),
        "Erf" => Surrogate::erf(f("alpha")).unwrap(),
        "PiecewiseLeakyReLU" => Surrogate::piecewise_leaky_relu(f("w"), f("c")).unwrap(),
        "SquarewaveFourierSeries" => {
            Surrogate::squarewave_fourier_series(a["n"].as_i64().unwrap(), f("T_period")).unwrap()
        }
        "S2NN" => Surrogate::s2nn(f("alpha"), f("beta")).unwrap(),
        "QPseudoSpike" => Surrogate::q_pseudo_spike(f("alpha")).unwrap(),
        "LeakyKReLU" => Surrogate::leaky_k_relu(f("leak"), f("k")).unwrap(),
        "FakeNumericalGradient" => Surrogate::fake_numerical_gradient(f("alpha")).unwrap(),
        "LogTailedReLU" => Surrogate::log_tailed_relu(f("alpha")).unwrap(),
        other => panic!("unknown surrogate {other}"),
    }
}

fn neuron(c: &Value, path: &nn::Path) -> Box<dyn Module> {
    let f = |k: &str| c[k].as_f64().unwrap();
    let b = |k: &str| c[k].as_bool().unwrap();
    fn common<N: NodeOptions + 'static>(n: N, c: &Value) -> Box<dyn Module> {
        Box::new(
            n.with_v_threshold(c["v_threshold"].as_f64().unwrap())
                .with_v_reset(c["v_reset"].as_f64())
                .with_surrogate(surrogate(&c["surrogate"]))
                .with_detach_reset(c["detach_reset"].as_bool().unwrap())
                .with_step_mode(StepMode::M)
                .with_store_v_seq(true),
        )
    }
    match c["neuron"].as_str().unwrap() {
        "IFNode" => common(IFNode::new(), c),
        "LIFNode" => common(
            LIFNode::new(f("tau"))
                .unwrap()
                .with_decay_input(b("decay_input")),
            c,
        ),
        "ParametricLIFNode" => common(
            ParametricLIFNode::new(path, f("tau"))
                .unwrap()
                .with_decay_input(b("decay_input")),
            c,
        ),
        "QIFNode" => common(
            QIFNode::new(f("tau"), f("v_c"), f("a0"), f("v_rest")).unwrap(),
            c,
        ),
        "EIFNode" => common(
            EIFNode::new(f("tau"), f("delta_T"), f("theta_rh"), f("v_rest")).unwrap(),
            c,
        ),
        "IzhikevichNode" => common(
            IzhikevichNode::new(
                f("tau"),
                f("v_c"),
                f("a0"),
                f("v_rest"),
                f("w_rest"),
                f("tau_w"),
                f("a"),
                f("b"),
            )
            .unwrap(),
            c,
        ),
        "KLIFNode" => common(
            KLIFNode::new(path, b("scale_reset"), f("tau"))
                .unwrap()
                .with_decay_input(b("decay_input")),
            c,
        ),
        "LIAFNode" => common(
            LIAFNode::new(Tensor::relu, b("threshold_related"), f("tau"))
                .unwrap()
                .with_decay_input(b("decay_input")),
            c,
        ),
        other => panic!("unknown neuron {other}"),
    }
}

fn max_rel_err(got: &Tensor, want: &Tensor) -> f64 {
    let diff = (got - want).abs();
    let tol = want.abs() * 1e-5 + 1e-5;
    (diff / tol).max().double_value(&[])
}

#[test]
fn neurons_match_spikingjelly_0_0_0_0_14() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let cases: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("spikingjelly_reference.json")).unwrap(),
    )
    .unwrap();
    let arrays: HashMap<String, Tensor> = Tensor::read_npz(dir.join("spikingjelly_reference.npz"))
        .unwrap()
        .into_iter()
        .collect();
    let mut checked = 0;
    for c in cases.as_array().unwrap() {
        let key = c["key"].as_str().unwrap();
        let a = |name: &str| arrays[&format!("{key}.{name}")].shallow_clone();
        let label = format!(
            "{key} {} {} v_reset={} detach={} T={}",
            c["neuron"], c["surrogate"], c["v_reset"], c["detach_reset"], c["T"]
        );
        let vs = nn::VarStore::new(Device::Cpu);
        let mut n = neuron(c, &vs.root());
        let x = a("x").set_requires_grad(true);
        let out = n.forward(&x).unwrap();
        let mems: HashMap<String, Tensor> = n
            .memories()
            .into_iter()
            .filter_map(|(k, t)| t.map(|t| (k, t)))
            .collect();
        let v_seq = &mems["v_seq"];
        if c["neuron"] == "LIAFNode" {
            assert!(max_rel_err(&out, &a("out")) <= 1.0, "{label}: output");
        } else {
            assert!(out.equal(&a("out")), "{label}: spikes differ");
        }
        assert!(max_rel_err(v_seq, &a("v_seq")) <= 1.0, "{label}: v_seq");
        assert!(max_rel_err(&mems["v"], &a("v")) <= 1.0, "{label}: v");
        if let Some(w) = mems.get("w") {
            assert!(max_rel_err(w, &a("w")) <= 1.0, "{label}: w");
        }
        ((&out * a("g_out")).sum(Kind::Float) + (v_seq * a("g_v")).sum(Kind::Float)).backward();
        let e = max_rel_err(&x.grad(), &a("x_grad"));
        assert!(e <= 1.0, "{label}: x.grad off by {e} tolerances");
        for (name, p) in vs.variables() {
            let want = a(&format!("param_grad.{name}"));
            assert!(
                max_rel_err(&p.grad().reshape([1]), &want) <= 1.0,
                "{label}: grad of {name}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 64);
}
