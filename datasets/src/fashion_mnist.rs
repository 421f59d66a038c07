//! `FashionMNIST`: Zalando's 28x28 clothing images (60,000 train, 10,000 test) from IDX files.
use crate::error::Result;
use crate::image_dataset::ImageDataset;
use std::path::{Path, PathBuf};

/// torchvision's `FashionMNIST(root, train)`: reads `train-images-idx3-ubyte(.gz)` and
/// `train-labels-idx1-ubyte(.gz)` (or the `t10k-` pair for the test set) from `root`.
pub struct FashionMNIST;

impl FashionMNIST {
    /// The class names by label.
    pub const CLASSES: [&'static str; 10] = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ];

    /// Where the data is looked for by default: `$SJ_FASHION_MNIST_DIR`, else Debian's
    /// `/usr/share/datasets/fashion-mnist` (package `dataset-fashion-mnist`).
    pub fn default_root() -> PathBuf {
        std::env::var_os("SJ_FASHION_MNIST_DIR").map_or_else(
            || PathBuf::from("/usr/share/datasets/fashion-mnist"),
            PathBuf::from,
        )
    }

    /// The train (`train = true`) or test set from the IDX files in `root`.
    // `new` returns the dataset, as torchvision's constructor does.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(root: impl AsRef<Path>, train: bool) -> Result<ImageDataset> {
        let hint = "install Debian's dataset-fashion-mnist (setup.sh does: apt-get install dataset-fashion-mnist), \
                    or put the four IDX files from https://github.com/zalandoresearch/fashion-mnist there, \
                    or set SJ_FASHION_MNIST_DIR to their directory";
        ImageDataset::from_idx_dir("FashionMNIST", root.as_ref(), train, &Self::CLASSES, hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Dataset;

    #[test]
    fn real_test_set_counts_histogram_and_first_labels() {
        let test = FashionMNIST::new(FashionMNIST::default_root(), false).unwrap();
        assert_eq!((test.len(), test.image_shape()), (10_000, [1, 28, 28]));
        let mut histogram = [0usize; 10];
        test.labels()
            .iter()
            .for_each(|&y| histogram[y as usize] += 1);
        assert_eq!(histogram, [1000; 10]);
        // The first test labels: ankle boot, pullover, trouser, trouser, shirt.
        assert_eq!(&test.labels()[..5], &[9, 2, 1, 1, 6]);
        // The first image (an ankle boot): pixel sum and row 10, read independently with numpy.
        let first = test.pixels(0).unwrap();
        assert_eq!(first.iter().map(|&p| u64::from(p)).sum::<u64>(), 33_456);
        assert_eq!(
            &first[10 * 28 + 13..10 * 28 + 20],
            &[4, 0, 53, 129, 120, 147, 175]
        );
    }

    #[test]
    fn real_train_set_counts_and_first_labels() {
        let train = FashionMNIST::new(FashionMNIST::default_root(), true).unwrap();
        assert_eq!(train.len(), 60_000);
        let mut histogram = [0usize; 10];
        train
            .labels()
            .iter()
            .for_each(|&y| histogram[y as usize] += 1);
        assert_eq!(histogram, [6000; 10]);
        assert_eq!(&train.labels()[..5], &[9, 0, 0, 3, 0]);
        assert_eq!(
            train
                .pixels(0)
                .unwrap()
                .iter()
                .map(|&p| u64::from(p))
                .sum::<u64>(),
            76_247
        );
    }

    #[test]
    fn missing_directory_says_where_and_how() {
        let e = FashionMNIST::new("/nonexistent/fmnist", true)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "FashionMNIST file train-images-idx3-ubyte(.gz) not found at /nonexistent/fmnist"
            ),
            "{e}"
        );
        assert!(
            e.contains("dataset-fashion-mnist") && e.contains("SJ_FASHION_MNIST_DIR"),
            "{e}"
        );
    }
}
