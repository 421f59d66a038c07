//! Checklist 287 (and 55): `Surrogate::cuda_codes(y, x, dtype)` writes SpikingJelly 0.0.0.0.14's
//! C snippets text for text, for every surrogate that has one, in float and half2
//! (`tests/data/spikingjelly_cuda_codes.json`, from `tests/reference/gen_spikingjelly_cuda_codes.py`).
use serde_json::Value;
use sj::surrogate::Surrogate;

fn surrogate(name: &str, p: &Value) -> Surrogate {
    let f = |k: &str| {
        p[k].as_f64()
            .unwrap_or_else(|| panic!("{name}: parameter {k}"))
    };
    match name {
        "Sigmoid" => Surrogate::sigmoid(f("alpha")).unwrap(),
        "ATan" => Surrogate::atan(f("alpha")).unwrap(),
        "PiecewiseLeakyReLU" => Surrogate::piecewise_leaky_relu(f("w"), f("c")).unwrap(),
        "S2NN" => Surrogate::s2nn(f("alpha"), f("beta")).unwrap(),
        "QPseudoSpike" => Surrogate::q_pseudo_spike(f("alpha")).unwrap(),
        "LeakyKReLU" => Surrogate::leaky_k_relu(f("leak"), f("k")).unwrap(),
        "FakeNumericalGradient" => Surrogate::fake_numerical_gradient(f("alpha")).unwrap(),
        "LogTailedReLU" => Surrogate::log_tailed_relu(f("alpha")).unwrap(),
        other => panic!("unexpected surrogate {other}"),
    }
}

#[test]
fn cuda_codes_equal_spikingjelly_text_checklist_287() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/spikingjelly_cuda_codes.json"
    );
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(cases.len(), 44);
    for c in &cases {
        let name = c["surrogate"].as_str().unwrap();
        let (y, x, dtype) = (
            c["y"].as_str().unwrap(),
            c["x"].as_str().unwrap(),
            c["dtype"].as_str().unwrap(),
        );
        let ours = surrogate(name, &c["params"])
            .cuda_codes(y, x, dtype)
            .unwrap();
        assert_eq!(
            ours,
            c["code"].as_str().unwrap(),
            "{name} {} {dtype}",
            c["params"]
        );
    }
    // the snippet the inventory quotes for Sigmoid(alpha=4)
    assert_eq!(
        Surrogate::sigmoid(4.0)
            .unwrap()
            .cuda_codes("grad_s", "over_th", "float")
            .unwrap(),
        "const float sigmoid_backward__sigmoid_ax = 1.0f / (1.0f + expf(- (4.0f) * over_th));\n\
         grad_s = (1.0f - sigmoid_backward__sigmoid_ax) * sigmoid_backward__sigmoid_ax * (4.0f);"
    );
    let err = Surrogate::erf(2.0)
        .unwrap()
        .cuda_codes("y", "x", "float")
        .unwrap_err()
        .to_string();
    assert!(err.contains("no CUDA code"), "{err}");
    assert!(Surrogate::sigmoid(4.0)
        .unwrap()
        .cuda_codes("y", "x", "fp64")
        .is_err());
}
