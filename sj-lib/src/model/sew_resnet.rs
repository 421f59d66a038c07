//! `model.sew_resnet`: Spike-Element-Wise ResNets (Fang et al., 2021; inventory §2.10,
//! checklist 159). A block computes `cnf(shortcut, sn(bn(conv(..))))` with
//! [`ConnectFunction`] `ADD`, `AND` or `IAND`; where the shape changes, the shortcut is
//! `downsample_sn(downsample(x))`.
//!
//! Structure and names are SpikingJelly 2.0's: the same as [`super::spiking_resnet`] plus
//! `downsample_sn`. As in SpikingJelly, `BasicBlock` computes `cnf(shortcut, out)` and
//! `Bottleneck` `cnf(out, shortcut)` (the order matters for `IAND`).
use super::resnet::{arch_named, resnet_constructors, Residual};
use super::{ConnectFunction, ResNet, ResNetOptions, SpikingNeuron};
use crate::error::Result;
use tch::nn;

resnet_constructors! {
    sew;
    sew_resnet18 => "resnet18",
    sew_resnet34 => "resnet34",
    sew_resnet50 => "resnet50",
    sew_resnet101 => "resnet101",
    sew_resnet152 => "resnet152",
    sew_resnext50_32x4d => "resnext50_32x4d",
    sew_resnext101_32x8d => "resnext101_32x8d",
    sew_wide_resnet50_2 => "wide_resnet50_2",
    sew_wide_resnet101_2 => "wide_resnet101_2",
}
