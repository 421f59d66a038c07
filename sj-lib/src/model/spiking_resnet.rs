//! `model.spiking_resnet`: torchvision's ResNets with spiking neurons in place of ReLU
//! (inventory §2.10, checklist 157-158). A block computes `sn(bn(conv(..)) + shortcut)`.
//!
//! Parameter names are torchvision's (`layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`,
//! `fc.bias`), so a torchvision ANN `state_dict` (`.pth`) loads with
//! [`crate::state_dict::load_state_dict`] into a network whose neurons have no parameters.
use super::resnet::{arch_named, resnet_constructors, Residual};
use super::{ResNet, ResNetOptions, SpikingNeuron};
use crate::error::Result;
use tch::nn;

resnet_constructors! {
    spiking;
    spiking_resnet18 => "resnet18",
    spiking_resnet34 => "resnet34",
    spiking_resnet50 => "resnet50",
    spiking_resnet101 => "resnet101",
    spiking_resnet152 => "resnet152",
    spiking_resnext50_32x4d => "resnext50_32x4d",
    spiking_resnext101_32x8d => "resnext101_32x8d",
    spiking_wide_resnet50_2 => "wide_resnet50_2",
    spiking_wide_resnet101_2 => "wide_resnet101_2",
}
