//! `ann2snn.sample_models`: the ANNs of SpikingJelly's conversion tutorials.
use crate::error::Result;
use crate::layer::{
    AvgPool2d, BatchNorm2d, BatchNormOptions, Conv2d, Flatten, Linear, ReLU, Sequential,
};
use tch::nn;

/// `mnist_cnn`, the tutorial's MNIST network (T15): three `Conv2d(·, 32, 3) - BatchNorm2d(32,
/// eps=1e-3) - ReLU - AvgPool2d(2, 2)` blocks, `Flatten`, `Linear(32, 10)`, `ReLU`; input
/// `[N, 1, 28, 28]`, output `[N, 10]`. Built under `path / "network"`, so its parameters have the
/// `state_dict` names of SpikingJelly's model (`network.0.weight`, `network.1.running_mean`, ...)
/// and a `.pth` saved by PyTorch loads by name.
pub fn mnist_cnn(path: &nn::Path) -> Result<Sequential> {
    let p = path / "network";
    let mut net = Sequential::new();
    let mut channels = 1;
    for block in 0..3 {
        let i = 4 * block;
        net = net
            .add(Conv2d::new(&(&p / i.to_string()), channels, 32, 3)?)
            .add(BatchNorm2d::new_with(
                &(&p / (i + 1).to_string()),
                32,
                BatchNormOptions::new().with_eps(1e-3),
            )?)
            .add(ReLU::new())
            .add(AvgPool2d::new(2).with_stride(2));
        channels = 32;
    }
    Ok(net
        .add(Flatten::new())
        .add(Linear::new(&(&p / "13"), 32, 10, true)?)
        .add(ReLU::new()))
}
