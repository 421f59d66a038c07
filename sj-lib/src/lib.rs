//! # sj: SpikingJelly's activation-based SNNs in Rust
//!
//! Stateful spiking neurons, surrogate gradients, step modes and containers on libtorch (tch),
//! with the names a SpikingJelly user knows: `LIFNode`, `reset_net`, `set_step_mode`.
//! Start with [`prelude`]; call [`device::best_device`] to pick CUDA when it is there.
pub mod ann2snn;
pub mod base;
pub mod device;
pub mod display;
pub mod encoding;
pub mod error;
pub mod examples;
pub mod functional;
pub mod layer;
pub mod learning;
pub mod model;
pub mod monitor;
pub mod neuron;
pub mod progress;
pub mod quantize;
pub mod record;
pub mod state_dict;
pub mod surrogate;
pub mod timing_based;
pub mod training;
pub mod visualizing;

pub use error::{Result, SjError};
pub use polars;
pub use sj_datasets as datasets;
pub use sj_kernels as kernels;
pub use sj_plots as plots;
pub use tch;

/// The names a notebook needs: `use sj::prelude::*;`.
pub mod prelude {
    pub use crate::base::{Backend, Module, StepMode};
    pub use crate::display::{Frame, Table};
    pub use crate::encoding::{
        LatencyEncoder, PeriodicEncoder, PoissonEncoder, WeightedPhaseEncoder,
    };
    pub use crate::error::SjError;
    pub use crate::functional::{self, reset_net, set_step_mode};
    pub use crate::layer::{
        AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AvgPool1d, AvgPool2d, AvgPool3d,
        BatchNorm1d, BatchNorm2d, BatchNorm3d, BatchNormOptions, Conv1d, Conv2d, Conv3d,
        ConvOptions, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d,
        ElementWiseRecurrentContainer, GroupNorm, LinearRecurrentContainer, MaxPool1d, MaxPool2d,
        MaxPool3d, MultiStepContainer, SeqToANNContainer, StepModeContainer,
        ThresholdDependentBatchNorm1d, ThresholdDependentBatchNorm2d,
        ThresholdDependentBatchNorm3d,
    };
    pub use crate::layer::{
        Delay, DropConnectActivation, DropConnectLinear, Dropout, Dropout2d,
        MultiDimensionalAttention, NeuNorm, PrintShapeModule, SynapseFilter, TemporalWiseAttention,
        VotingLayer,
    };
    pub use crate::layer::{Flatten, Identity, Linear, ReLU, Sequential};
    pub use crate::monitor::{
        AttributeMonitor, GPUMonitor, GpuReading, GradInputMonitor, GradOutputMonitor,
        InputMonitor, Instance, OutputMonitor,
    };
    pub use crate::neuron::{
        EIFNode, IFNode, IzhikevichNode, KLIFNode, LIAFNode, LIFNode, Neuron, NodeOptions,
        ParametricLIFNode, QIFNode,
    };
    pub use crate::progress::{Progress, ProgressOutput};
    pub use crate::surrogate::Surrogate;
    pub use crate::visualizing;
    pub use tch::{nn, no_grad, Device, Kind, Tensor};
}
