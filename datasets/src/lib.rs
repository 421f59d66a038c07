//! # sj-datasets: MNIST, Fashion-MNIST and neuromorphic datasets for sj
//!
//! Readers for the on-disk formats, event-to-frame integration, caching and a data loader, all
//! returning tch tensors. Re-exported by sj as `sj::datasets`.
