//! # sj-datasets: MNIST, Fashion-MNIST and neuromorphic datasets for sj
//!
//! Not built yet: this crate is reserved for the readers, event-to-frame integration and loaders
//! of the datasets issue.
