//! `DataLoader`: batches of a [`Dataset`] with seeded shuffling, `drop_last`, transforms, the
//! target device, and batches prepared ahead on a background thread.
//!
//! ```
//! use sj_datasets::{DataLoader, ImageDataset, ToTensor};
//! let pixels: Vec<u8> = (0..5 * 4).map(|i| i as u8).collect();
//! let data = ImageDataset::new("toy", pixels, [1, 2, 2], vec![0, 1, 0, 1, 0], vec!["a".into(), "b".into()]).unwrap();
//! let loader = DataLoader::new(data, 2).unwrap().with_shuffle(7).with_drop_last(true).with_transform(ToTensor);
//! let batches: Vec<_> = loader.iter(0).collect::<Result<_, _>>().unwrap();
//! assert_eq!(batches.len(), 2); // 5 samples, batch 2, the last short batch dropped
//! assert_eq!(batches[0].0.size(), vec![2, 1, 2, 2]);
//! ```
use crate::dataset::Dataset;
use crate::error::{DatasetError, Result};
use crate::shuffle::{derive_seed, randperm};
use crate::transform::Transform;
use std::fmt;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use tch::{Device, Tensor};

/// A batch: inputs `[B, *]` and labels `[B]` (int64).
pub type Batch = (Tensor, Tensor);

/// `torch.utils.data.DataLoader(dataset, batch_size, shuffle, drop_last)`. The order of epoch `e`
/// is a permutation seeded by `(seed, e)`, so a run is reproducible and can resume at any epoch.
#[derive(Clone)]
pub struct DataLoader {
    dataset: Arc<dyn Dataset>,
    batch_size: usize,
    shuffle_seed: Option<u64>,
    drop_last: bool,
    device: Device,
    transforms: Vec<Arc<dyn Transform>>,
    prefetch: usize,
}

impl fmt::Debug for DataLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataLoader")
            .field("samples", &self.dataset.len())
            .field("batch_size", &self.batch_size)
            .field("shuffle_seed", &self.shuffle_seed)
            .field("drop_last", &self.drop_last)
            .field("device", &self.device)
            .field("transforms", &self.transforms)
            .field("prefetch", &self.prefetch)
            .finish()
    }
}

impl DataLoader {
    /// Batches of `batch_size` in index order on the CPU, with 2 batches prefetched.
    pub fn new<D: Dataset + 'static>(dataset: D, batch_size: usize) -> Result<Self> {
        Self::from_shared(Arc::new(dataset), batch_size)
    }

    /// Like [`DataLoader::new`] for a dataset that is shared with other loaders.
    pub fn from_shared(dataset: Arc<dyn Dataset>, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(DatasetError::config(
                "DataLoader",
                "batch_size must be at least 1",
            ));
        }
        Ok(DataLoader {
            dataset,
            batch_size,
            shuffle_seed: None,
            drop_last: false,
            device: Device::Cpu,
            transforms: Vec::new(),
            prefetch: 2,
        })
    }

    /// `shuffle=True`, with the permutation of every epoch derived from `seed`.
    pub fn with_shuffle(mut self, seed: u64) -> Self {
        self.shuffle_seed = Some(seed);
        self
    }

    /// `drop_last=`: skip the last batch when it is shorter than `batch_size`.
    pub fn with_drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// The device the batches are moved to (before the transforms run).
    pub fn with_device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// Appends a transform applied to every input batch.
    pub fn with_transform<T: Transform + 'static>(mut self, transform: T) -> Self {
        self.transforms.push(Arc::new(transform));
        self
    }

    /// How many batches a background thread prepares ahead (0: none, batches are made on demand
    /// in the caller's thread; at most the epoch's batches are ever held).
    pub fn with_prefetch(mut self, batches: usize) -> Self {
        self.prefetch = batches;
        self
    }

    /// The dataset.
    pub fn dataset(&self) -> &Arc<dyn Dataset> {
        &self.dataset
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The device the batches land on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Number of batches per epoch.
    pub fn len(&self) -> usize {
        let n = self.dataset.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// True when an epoch has no batches.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sample order of epoch `epoch`: `0..len` without shuffling.
    pub fn order(&self, epoch: usize) -> Vec<usize> {
        match self.shuffle_seed {
            Some(seed) => randperm(self.dataset.len(), derive_seed(seed, epoch as u64)),
            None => (0..self.dataset.len()).collect(),
        }
    }

    /// The batches of epoch `epoch`.
    pub fn iter(&self, epoch: usize) -> Batches {
        let mut chunks: Vec<Vec<usize>> = self
            .order(epoch)
            .chunks(self.batch_size)
            .map(<[usize]>::to_vec)
            .collect();
        if self.drop_last && chunks.last().is_some_and(|c| c.len() < self.batch_size) {
            chunks.pop();
        }
        let maker = BatchMaker {
            dataset: self.dataset.clone(),
            device: self.device,
            transforms: self.transforms.clone(),
        };
        if self.prefetch == 0 {
            return Batches {
                inner: Inner::Inline {
                    maker,
                    chunks: chunks.into_iter(),
                },
                remaining: self.len(),
            };
        }
        let remaining = chunks.len();
        // The channel allocates its slots up front: never more than there are batches.
        let (tx, rx) = sync_channel(self.prefetch.min(remaining.max(1)));
        let worker = std::thread::spawn(move || {
            for chunk in chunks {
                if tx.send(maker.make(&chunk)).is_err() {
                    break;
                }
            }
        });
        Batches {
            inner: Inner::Prefetch {
                rx,
                worker: Some(worker),
            },
            remaining,
        }
    }
}

struct BatchMaker {
    dataset: Arc<dyn Dataset>,
    device: Device,
    transforms: Vec<Arc<dyn Transform>>,
}

impl BatchMaker {
    fn make(&self, indices: &[usize]) -> Result<Batch> {
        let (x, y) = self.dataset.get_batch(indices)?;
        let mut x = x.f_to_device(self.device)?;
        for t in &self.transforms {
            x = t.apply(&x)?;
        }
        Ok((x, y.f_to_device(self.device)?))
    }
}

enum Inner {
    Inline {
        maker: BatchMaker,
        chunks: std::vec::IntoIter<Vec<usize>>,
    },
    Prefetch {
        rx: Receiver<Result<Batch>>,
        worker: Option<JoinHandle<()>>,
    },
}

/// The batches of one epoch, in order; each is `Ok((x, y))` or the error that made it fail.
pub struct Batches {
    inner: Inner,
    remaining: usize,
}

impl Iterator for Batches {
    type Item = Result<Batch>;
    fn next(&mut self) -> Option<Self::Item> {
        let item = match &mut self.inner {
            Inner::Inline { maker, chunks } => chunks.next().map(|c| maker.make(&c)),
            Inner::Prefetch { rx, .. } => rx.recv().ok(),
        };
        self.remaining = self.remaining.saturating_sub(1);
        item
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl Drop for Batches {
    fn drop(&mut self) {
        if let Inner::Prefetch { rx, worker } = &mut self.inner {
            // Disconnect first so that a worker blocked on a full channel stops, then wait for it.
            let (_, closed) = sync_channel(0);
            drop(std::mem::replace(rx, closed));
            if let Some(w) = worker.take() {
                let _ = w.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image_dataset::ImageDataset;
    use crate::transform::{Normalize, ToTensor};
    use tch::Kind;

    /// 10 images of 1x1 pixel with value 10 * i and label i % 2.
    fn ten() -> ImageDataset {
        let pixels: Vec<u8> = (0..10u8).map(|i| 10 * i).collect();
        ImageDataset::new(
            "ten",
            pixels,
            [1, 1, 1],
            (0..10).map(|i| i % 2).collect(),
            vec!["even".into(), "odd".into()],
        )
        .unwrap()
    }

    fn firsts(loader: &DataLoader, epoch: usize) -> Vec<Vec<f32>> {
        loader
            .iter(epoch)
            .map(|b| Vec::<f32>::try_from(&b.unwrap().0.flatten(0, -1)).unwrap())
            .collect()
    }

    #[test]
    fn batching_order_and_drop_last() {
        let plain = DataLoader::new(ten(), 4)
            .unwrap()
            .with_transform(ToTensor)
            .with_transform(|x: &Tensor| Ok(x * 255.0));
        assert_eq!(plain.len(), 3);
        let b = firsts(&plain, 0);
        assert_eq!(
            b,
            vec![
                vec![0.0, 10.0, 20.0, 30.0],
                vec![40.0, 50.0, 60.0, 70.0],
                vec![80.0, 90.0]
            ]
        );
        let (x, y) = plain.iter(0).next().unwrap().unwrap();
        assert_eq!(
            (x.kind(), x.size(), y.kind()),
            (Kind::Float, vec![4, 1, 1, 1], Kind::Int64)
        );
        assert_eq!(Vec::<i64>::try_from(&y).unwrap(), vec![0, 1, 0, 1]);
        let dropped = plain.clone().with_drop_last(true).with_prefetch(0);
        assert_eq!((dropped.len(), firsts(&dropped, 0).len()), (2, 2));
        assert_eq!(dropped.iter(0).size_hint(), (2, Some(2)));
    }

    #[test]
    fn seeded_shuffle_is_reproducible_per_epoch() {
        let a = DataLoader::new(ten(), 3)
            .unwrap()
            .with_shuffle(5)
            .with_transform(ToTensor);
        let b = a.clone().with_prefetch(0);
        assert_eq!(firsts(&a, 0), firsts(&b, 0));
        assert_eq!(firsts(&a, 1), firsts(&b, 1));
        assert_ne!(a.order(0), a.order(1));
        let mut order = a.order(3);
        assert_eq!(order, randperm(10, derive_seed(5, 3)));
        order.sort();
        assert_eq!(order, (0..10).collect::<Vec<_>>());
        // every sample appears once per epoch, in the batches too
        let mut seen: Vec<f32> = firsts(&a, 2)
            .concat()
            .iter()
            .map(|v| (v * 255.0).round())
            .collect();
        seen.sort_by(f32::total_cmp);
        assert_eq!(seen, (0..10).map(|i| 10.0 * i as f32).collect::<Vec<_>>());
    }

    #[test]
    fn errors_flow_through_the_prefetch_thread() {
        let loader = DataLoader::new(ten(), 5)
            .unwrap()
            .with_transform(Normalize::new(&[0.5, 0.5], &[1.0, 1.0]).unwrap());
        let results: Vec<_> = loader.iter(0).collect();
        assert_eq!(results.len(), 2);
        let e = results[0].as_ref().unwrap_err().to_string();
        assert!(
            e.contains("Normalize: expected a float batch [B, 2, *], got Uint8"),
            "{e}"
        );
        assert!(DataLoader::new(ten(), 0).is_err());
        // A prefetch larger than the epoch holds the epoch (the channel's slots are allocated up
        // front: 2^60 of them aborted).
        let all: Vec<Batch> = DataLoader::new(ten(), 4)
            .unwrap()
            .with_prefetch(1 << 60)
            .iter(0)
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(
            all.iter().map(|b| b.1.size()[0]).collect::<Vec<_>>(),
            [4, 4, 2]
        );
        // dropping an unfinished epoch stops the worker
        let mut early = DataLoader::new(ten(), 1).unwrap().with_prefetch(1).iter(0);
        assert!(early.next().unwrap().is_ok());
        drop(early);
    }

    #[test]
    fn batches_land_on_the_chosen_device() {
        let device = if tch::Cuda::is_available() {
            Device::Cuda(0)
        } else {
            Device::Cpu
        };
        let loader = DataLoader::new(ten(), 4)
            .unwrap()
            .with_device(device)
            .with_transform(ToTensor);
        let (x, y) = loader.iter(0).next().unwrap().unwrap();
        assert_eq!(
            (x.device(), y.device(), loader.device()),
            (device, device, device)
        );
    }
}
