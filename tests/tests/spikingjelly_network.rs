//! A conv SNN trained a little in Python SpikingJelly 0.0.0.0.14 (Conv2d-BatchNorm2d-PLIF-MaxPool2d-
//! Flatten-Linear-LIF, step mode 'm'): its state_dict loads into sj by name, and sj's eval-mode
//! output equals SpikingJelly's. Made by tests/reference/gen_spikingjelly_reference.py.
use sj::prelude::*;
use sj::state_dict::load_state_dict;
use std::collections::HashMap;
use std::path::Path;

#[test]
fn spikingjelly_state_dict_loads_by_name_and_reproduces_the_output() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let mut net = Sequential::new()
        .add(
            Conv2d::new_with(
                &(&p / "0"),
                1,
                4,
                3,
                ConvOptions::new().with_padding(1).with_bias(false),
            )
            .unwrap(),
        )
        .add(BatchNorm2d::new(&(&p / "1"), 4).unwrap())
        .add(
            ParametricLIFNode::new(&(&p / "2"), 2.0)
                .unwrap()
                .with_surrogate(Surrogate::atan(2.0).unwrap()),
        )
        .add(MaxPool2d::new(2))
        .add(Flatten::new())
        .add(Linear::new(&(&p / "5"), 4 * 4 * 4, 5, true).unwrap())
        .add(LIFNode::new(2.0).unwrap());
    functional::set_step_mode(&mut net, StepMode::M).unwrap();
    load_state_dict(&vs, data.join("spikingjelly_net_state.npz")).unwrap();
    assert!((vs.variables()["2.w"].double_value(&[]) - 0.3).abs() < 1e-7);
    functional::set_training(&mut net, false);
    let io: HashMap<String, Tensor> = Tensor::read_npz(data.join("spikingjelly_net_io.npz"))
        .unwrap()
        .into_iter()
        .collect();
    let y = no_grad(|| net.forward(&io["x"])).unwrap();
    assert!(
        io["y"].sum(Kind::Float).double_value(&[]) > 0.0,
        "the reference fires"
    );
    assert!(y.equal(&io["y"]), "spikes differ from SpikingJelly");
    let mems: HashMap<String, Tensor> = functional::named_memories(&net)
        .into_iter()
        .filter_map(|(k, t)| t.map(|t| (k, t)))
        .collect();
    for (name, key) in [("6.v", "v_last"), ("2.v", "v_plif")] {
        let err = (&mems[name] - &io[key]).abs().max().double_value(&[]);
        assert!(err < 1e-5, "{name}: max error {err}");
    }
}
