//! The quickstart network computed by hand (checked against notebooks/00_quickstart.ipynb):
//! Linear(2, 3) with W = [[1, 0], [0, 1], [0.5, 0.5]], b = 0, then LIFNode(tau=2), x = [0.6, 1.5]
//! for 8 steps. Currents 0.6, 1.5, 1.05; H = V + (I − V)/2; fire at H >= 1; hard reset to 0.
use sj::prelude::*;

fn quickstart() -> (Sequential, nn::VarStore) {
    let vs = nn::VarStore::new(Device::Cpu);
    let fc = Linear::new(&(vs.root() / "0"), 2, 3, true).unwrap();
    no_grad(|| {
        fc.weight()
            .shallow_clone()
            .copy_(&Tensor::from_slice(&[1.0f32, 0.0, 0.0, 1.0, 0.5, 0.5]).view([3, 2]));
        let _ = fc.bias().unwrap().shallow_clone().zero_();
    });
    let net = Sequential::new()
        .add(fc)
        .add(LIFNode::new(2.0).unwrap().with_store_v_seq(true));
    (net, vs)
}

#[test]
fn quickstart_spikes_and_potentials_match_hand_computation() {
    let (mut net, _vs) = quickstart();
    functional::set_step_mode(&mut net, StepMode::M).unwrap();
    let x_seq = Tensor::from_slice(&[0.6f32, 1.5])
        .view([1, 1, 2])
        .repeat([8, 1, 1]);
    let s = net.forward(&x_seq).unwrap();
    let counts =
        Vec::<f32>::try_from(&s.sum_dim_intlist(0, false, Kind::Float).flatten(0, -1)).unwrap();
    assert_eq!(counts, vec![0.0, 4.0, 1.0]);
    let spikes_2 = Vec::<f32>::try_from(&s.select(2, 2).flatten(0, -1)).unwrap();
    assert_eq!(spikes_2, vec![0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
    let v_seq = functional::named_memories(&net)
        .into_iter()
        .find(|(n, _)| n == "1.v_seq")
        .unwrap()
        .1
        .unwrap();
    let v2 = Vec::<f32>::try_from(&v_seq.select(2, 2).flatten(0, -1)).unwrap();
    let want = [
        0.525, 0.7875, 0.91875, 0.984375, 0.0, 0.525, 0.7875, 0.91875,
    ];
    for (g, w) in v2.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{v2:?}");
    }
}

#[test]
fn quickstart_figures_have_the_expected_content() {
    let (mut net, _vs) = quickstart();
    functional::set_step_mode(&mut net, StepMode::M).unwrap();
    let x_seq = Tensor::from_slice(&[0.6f32, 1.5])
        .view([1, 1, 2])
        .repeat([8, 1, 1]);
    let s = net.forward(&x_seq).unwrap();
    let raster = visualizing::plot_1d_spikes(&s.select(1, 0), "r", "t", "n", false).unwrap();
    let blank =
        visualizing::plot_1d_spikes(&s.zeros_like().select(1, 0), "r", "t", "n", false).unwrap();
    // One filled rectangle per spike: 5 spikes in all.
    assert_eq!(
        raster.svg().matches("<rect").count(),
        blank.svg().matches("<rect").count() + 5
    );
    assert!(
        visualizing::plot_1d_spikes(&s, "r", "t", "n", false).is_err(),
        "3-D input is rejected"
    );
}
