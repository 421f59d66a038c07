//! # sj-datasets: MNIST, Fashion-MNIST, CIFAR-10, image folders and neuromorphic datasets for sj
//!
//! Readers for the on-disk formats, event-to-frame integration, caching and a data loader, all
//! returning tch tensors. Re-exported by sj as `sj::datasets`.
mod cifar10;
mod dataset;
mod error;
mod fashion_mnist;
pub mod fixtures;
pub mod idx;
mod image_dataset;
mod image_folder;
mod loader;
mod mnist;
pub mod neuromorphic;
pub mod shuffle;
mod summary;
mod transform;

pub use cifar10::CIFAR10;
pub use dataset::{index_error, Dataset, Sample};
pub use error::{DatasetError, Result};
pub use fashion_mnist::FashionMNIST;
pub use image_dataset::ImageDataset;
pub use image_folder::ImageFolder;
pub use loader::{Batch, Batches, DataLoader};
pub use mnist::MNIST;
pub use summary::summary;
pub use transform::{Normalize, ToTensor, Transform};
