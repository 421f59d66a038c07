//! `activation_based.layer`: step-mode-aware layers and containers (inventory §2.4).
mod activation;
mod attention;
mod containers;
mod conv;
mod delay;
mod drop_connect;
mod dropout;
mod flatten;
mod linear;
mod neunorm;
mod norm;
mod pool;
mod print_shape;
mod recurrent;
mod sequential;
mod synapse_filter;
mod voting;

pub use activation::{Identity, ReLU};
pub use attention::{MultiDimensionalAttention, TemporalWiseAttention};
pub use containers::{MultiStepContainer, SeqToANNContainer, StepModeContainer};
pub use conv::{
    Conv1d, Conv2d, Conv3d, ConvNd, ConvOptions, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d,
    IntoSize, SpatialOptions,
};
pub use delay::Delay;
pub use drop_connect::{DropConnectActivation, DropConnectLinear};
pub use dropout::{ChannelMask, Dropout, Dropout2d, DropoutMask, ElementMask, MaskedDropout};
pub use flatten::Flatten;
pub use linear::Linear;
pub use neunorm::NeuNorm;
pub use norm::{
    BatchNorm1d, BatchNorm2d, BatchNorm3d, BatchNormNd, BatchNormOptions, GroupNorm,
    ThresholdDependentBatchNorm1d, ThresholdDependentBatchNorm2d, ThresholdDependentBatchNorm3d,
    ThresholdDependentBatchNormNd,
};
pub use pool::{
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AdaptiveAvgPoolNd, AvgPool1d,
    AvgPool2d, AvgPool3d, AvgPoolNd, MaxPool1d, MaxPool2d, MaxPool3d, MaxPoolNd,
};
pub use print_shape::PrintShapeModule;
pub use recurrent::{ElementWiseFunction, ElementWiseRecurrentContainer, LinearRecurrentContainer};
pub use sequential::Sequential;
pub use synapse_filter::SynapseFilter;
pub use voting::VotingLayer;
