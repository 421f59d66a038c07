//! `CIFAR10`: 32x32 colour images in 10 classes (50,000 train, 10,000 test) from the binary
//! version of the dataset (`cifar-10-binary.tar.gz`, unpacked to `cifar-10-batches-bin/`).
//!
//! Each batch file is a run of 3073-byte records: one label byte (0..9), then 3072 pixel bytes,
//! the 1024 red, then the 1024 green, then the 1024 blue values of a 32x32 image, each plane
//! row-major; a record's pixels are therefore the `[3, 32, 32]` image as it is.
use crate::error::{DatasetError, Result};
use crate::image_dataset::ImageDataset;
use std::path::{Path, PathBuf};

/// torchvision's `CIFAR10(root, train)`, reading the binary version: `data_batch_1.bin` ..
/// `data_batch_5.bin` (train) or `test_batch.bin` (test), in `root/cifar-10-batches-bin` or in
/// `root` itself. Class names come from `batches.meta.txt` when it is there.
pub struct CIFAR10;

/// Bytes per record: the label, then 3 x 32 x 32 pixels.
const RECORD: usize = 1 + 3 * 32 * 32;

impl CIFAR10 {
    /// The class names by label (what `batches.meta.txt` lists).
    pub const CLASSES: [&'static str; 10] = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ];
    /// The folder the binary archive unpacks to.
    pub const FOLDER: &'static str = "cifar-10-batches-bin";

    /// Where the data is looked for by default: `$SJ_CIFAR10_DIR`, else `~/.cache/sj/data/cifar10`
    /// (either the `cifar-10-batches-bin` folder or the folder holding it).
    pub fn default_root() -> PathBuf {
        std::env::var_os("SJ_CIFAR10_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let home =
                    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
                home.join(".cache/sj/data/cifar10")
            })
    }

    /// The train (`train = true`, 5 batch files) or test set (`test_batch.bin`) from `root`, the
    /// `cifar-10-batches-bin` folder or its parent. A missing file is a
    /// [`DatasetError::Missing`]; a file that is not whole records, or a label above 9, is a
    /// [`DatasetError::Format`] naming the file (inside a `CIFAR10` [`DatasetError::Reader`]).
    // `new` returns the dataset, as torchvision's constructor does.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(root: impl AsRef<Path>, train: bool) -> Result<ImageDataset> {
        let root = root.as_ref();
        let nested = root.join(Self::FOLDER);
        let dir = if nested.is_dir() {
            nested
        } else {
            root.to_path_buf()
        };
        let names: Vec<String> = if train {
            (1..=5).map(|i| format!("data_batch_{i}.bin")).collect()
        } else {
            vec!["test_batch.bin".into()]
        };
        let files = names
            .iter()
            .map(|name| {
                let file = dir.join(name);
                file.is_file()
                    .then_some(file)
                    .ok_or_else(|| DatasetError::Missing {
                        what: format!("CIFAR10 file {name}"),
                        path: root.display().to_string(),
                        hint: format!(
                            "expected CIFAR-10's binary version: the folder {} (unpacked from \
                             https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz) holding \
                             data_batch_1.bin .. data_batch_5.bin and test_batch.bin, or the folder \
                             holding it; or set SJ_CIFAR10_DIR to it",
                            Self::FOLDER
                        ),
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let name = format!("CIFAR10({})", if train { "train" } else { "test" });
        Self::read(&name, &dir, &files).map_err(|e| e.in_reader("CIFAR10"))
    }

    fn read(name: &str, dir: &Path, files: &[PathBuf]) -> Result<ImageDataset> {
        let mut pixels = Vec::new();
        let mut targets = Vec::new();
        for file in files {
            let bytes = std::fs::read(file).map_err(|e| DatasetError::io(file, e))?;
            if bytes.is_empty() || bytes.len() % RECORD != 0 {
                return Err(DatasetError::format(
                    file,
                    (bytes.len() - bytes.len() % RECORD) as u64,
                    format!(
                        "size {} bytes is not a whole, non-zero number of {RECORD}-byte records \
                         (1 label byte + 3072 pixel bytes)",
                        bytes.len()
                    ),
                ));
            }
            pixels.reserve(bytes.len() / RECORD * (RECORD - 1));
            for (i, record) in bytes.chunks_exact(RECORD).enumerate() {
                if record[0] > 9 {
                    return Err(DatasetError::format(
                        file,
                        (i * RECORD) as u64,
                        format!("record {i}: label {} is not in 0..10", record[0]),
                    ));
                }
                targets.push(i64::from(record[0]));
                pixels.extend_from_slice(&record[1..]);
            }
        }
        let meta = dir.join("batches.meta.txt");
        let classes: Vec<String> = if meta.is_file() {
            let text = std::fs::read_to_string(&meta).map_err(|e| DatasetError::io(&meta, e))?;
            let classes: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            if classes.len() != 10 {
                return Err(DatasetError::format(
                    &meta,
                    0,
                    format!(
                        "expected 10 class names, one a line, found {}",
                        classes.len()
                    ),
                ));
            }
            classes
        } else {
            Self::CLASSES.iter().map(|c| c.to_string()).collect()
        };
        ImageDataset::new(name, pixels, [3, 32, 32], targets, classes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Dataset;

    /// One record per label `labels[k]`, its pixel bytes `(seed + 7 * j + k) % 256` at offset `j`
    /// (0-based, after the label byte).
    fn records(labels: &[u8], seed: usize) -> Vec<u8> {
        labels
            .iter()
            .enumerate()
            .flat_map(|(k, &y)| {
                std::iter::once(y)
                    .chain((0..RECORD - 1).map(move |j| ((seed + 7 * j + k) % 256) as u8))
            })
            .collect()
    }

    #[test]
    fn reads_both_layouts_exactly_and_rejects_bad_files() {
        let parent = std::env::temp_dir().join(format!("sj_cifar_test_{}", std::process::id()));
        let dir = parent.join(CIFAR10::FOLDER);
        std::fs::create_dir_all(&dir).unwrap();
        let missing = CIFAR10::new(&parent, true).unwrap_err().to_string();
        assert!(
            missing.starts_with(&format!(
                "CIFAR10 file data_batch_1.bin not found at {}",
                parent.display()
            )) && missing.contains("cifar-10-batches-bin"),
            "{missing}"
        );
        let mut written = Vec::new();
        for b in 1..=5u8 {
            let bytes = records(&[b - 1, 9 - b], 31 * b as usize);
            std::fs::write(dir.join(format!("data_batch_{b}.bin")), &bytes).unwrap();
            written.extend(bytes.chunks_exact(RECORD).map(|r| r.to_vec()));
        }
        std::fs::write(dir.join("test_batch.bin"), records(&[3, 0], 5)).unwrap();

        for root in [&parent, &dir] {
            let train = CIFAR10::new(root, true).unwrap();
            assert_eq!((train.len(), train.image_shape()), (10, [3, 32, 32]));
            assert_eq!(train.labels(), &[0, 8, 1, 7, 2, 6, 3, 5, 4, 4]);
            assert_eq!(train.classes()[0], "airplane");
            for (n, record) in written.iter().enumerate() {
                let (x, y) = train.get(n).unwrap();
                assert_eq!(y, i64::from(record[0]));
                for (c, yy, xx) in [(0, 0, 0), (0, 5, 17), (1, 31, 0), (2, 12, 31), (2, 31, 31)] {
                    assert_eq!(
                        x.int64_value(&[c, yy, xx]),
                        i64::from(record[1 + c as usize * 1024 + yy as usize * 32 + xx as usize])
                    );
                }
                assert_eq!(train.pixels(n).unwrap(), &record[1..]);
            }
        }
        let test = CIFAR10::new(&dir, false).unwrap();
        assert_eq!((test.len(), test.labels()), (2, &[3, 0][..]));
        assert_eq!(test.pixels(1).unwrap(), &records(&[3, 0], 5)[RECORD + 1..]);

        // Class names from batches.meta.txt, blank lines ignored.
        let names: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
        std::fs::write(dir.join("batches.meta.txt"), names.join("\n") + "\n\n").unwrap();
        assert_eq!(CIFAR10::new(&parent, false).unwrap().classes(), names);

        // A file that is not whole records, and a bad label.
        let bad = dir.join("test_batch.bin");
        std::fs::write(&bad, &records(&[1, 2], 0)[..RECORD + 10]).unwrap();
        let e = CIFAR10::new(&dir, false).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "CIFAR10: {}: at byte 3073: size 3083 bytes",
                bad.display()
            )),
            "{e}"
        );
        std::fs::write(&bad, records(&[1, 10], 0)).unwrap();
        let e = CIFAR10::new(&dir, false).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "CIFAR10: {}: at byte 3073: record 1: label 10 is not in 0..10",
                bad.display()
            )
        );
        std::fs::remove_dir_all(&parent).unwrap();
    }
}
