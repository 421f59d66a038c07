//! `ImageDataset`: labelled 8-bit images held in memory (MNIST, Fashion-MNIST).
use crate::dataset::{index_error, Dataset, Sample};
use crate::error::{DatasetError, Result};
use crate::idx::read_idx;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use tch::{Kind, Tensor};

/// Labelled `u8` images `[C, H, W]` in memory. A sample is `(u8 tensor [C, H, W], label)`, as
/// torchvision's datasets give PIL images; add [`crate::ToTensor`] to a loader for floats in [0, 1].
#[derive(Clone)]
pub struct ImageDataset {
    name: String,
    pixels: Arc<Vec<u8>>,
    shape: [usize; 3],
    targets: Vec<i64>,
    classes: Vec<String>,
}

impl fmt::Debug for ImageDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [c, h, w] = self.shape;
        write!(
            f,
            "{}: {} images [{c}, {h}, {w}] in {} classes",
            self.name,
            self.targets.len(),
            self.classes.len()
        )
    }
}

impl ImageDataset {
    /// A dataset of `targets.len()` images of shape `shape` = `[C, H, W]` stored one after the
    /// other in `pixels`; every label must index `classes`.
    pub fn new(
        name: impl Into<String>,
        pixels: Vec<u8>,
        shape: [usize; 3],
        targets: Vec<i64>,
        classes: Vec<String>,
    ) -> Result<Self> {
        let name = name.into();
        let per_image = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .unwrap_or(0);
        if per_image == 0 || per_image.checked_mul(targets.len()) != Some(pixels.len()) {
            return Err(DatasetError::config(
                name,
                format!(
                    "{} pixels do not make {} images of shape {shape:?}",
                    pixels.len(),
                    targets.len()
                ),
            ));
        }
        if let Some((i, y)) = targets
            .iter()
            .enumerate()
            .find(|(_, &y)| y < 0 || y as usize >= classes.len())
        {
            return Err(DatasetError::config(
                name,
                format!("label {y} of sample {i} is not in 0..{}", classes.len()),
            ));
        }
        Ok(ImageDataset {
            name,
            pixels: Arc::new(pixels),
            shape,
            targets,
            classes,
        })
    }

    /// Reads an images file and a labels file in IDX format (gzip or raw): images `[N, H, W]`
    /// u8, labels `[N]` u8, each label below `classes.len()`.
    pub fn from_idx(name: &str, images: &Path, labels: &Path, classes: &[&str]) -> Result<Self> {
        Self::read_idx_pair(name, images, labels, classes).map_err(|e| e.in_reader(name))
    }

    fn read_idx_pair(name: &str, images: &Path, labels: &Path, classes: &[&str]) -> Result<Self> {
        let img = read_idx(images)?;
        let lab = read_idx(labels)?;
        let (&[n, h, w], Some(_)) = (&img.dims[..], img.as_u8()) else {
            return Err(DatasetError::format(
                images,
                2,
                format!(
                    "expected u8 images [N, H, W] (magic 0x00000803), got {:?} {:?}",
                    img.dtype, img.dims
                ),
            ));
        };
        if lab.dims != [n] || lab.as_u8().is_none() {
            return Err(DatasetError::format(
                labels,
                2,
                format!(
                    "expected {n} u8 labels (magic 0x00000801) to match the images, got {:?} {:?}",
                    lab.dtype, lab.dims
                ),
            ));
        }
        let targets: Vec<i64> = lab
            .as_u8()
            .unwrap_or_default()
            .iter()
            .map(|&y| i64::from(y))
            .collect();
        if let Some(i) = targets.iter().position(|&y| y as usize >= classes.len()) {
            return Err(DatasetError::format(
                labels,
                8 + i as u64,
                format!("label {} is not in 0..{}", targets[i], classes.len()),
            ));
        }
        let classes = classes.iter().map(|c| c.to_string()).collect();
        ImageDataset::new(
            name,
            img.into_u8().unwrap_or_default(),
            [1, h, w],
            targets,
            classes,
        )
    }

    /// The train or test set of an MNIST-style directory: `{train,t10k}-images-idx3-ubyte` and
    /// `{train,t10k}-labels-idx1-ubyte`, each gzip-compressed (`.gz`) or raw. A missing file is a
    /// [`DatasetError::Missing`] naming `root` with `hint` (how to get the data).
    pub fn from_idx_dir(
        dataset: &str,
        root: &Path,
        train: bool,
        classes: &[&str],
        hint: &str,
    ) -> Result<Self> {
        let prefix = if train { "train" } else { "t10k" };
        let find = |stem: String| {
            [format!("{stem}.gz"), stem.clone()]
                .iter()
                .map(|f| root.join(f))
                .find(|p| p.is_file())
                .ok_or_else(|| DatasetError::Missing {
                    what: format!("{dataset} file {stem}(.gz)"),
                    path: root.display().to_string(),
                    hint: hint.to_string(),
                })
        };
        let images = find(format!("{prefix}-images-idx3-ubyte"))?;
        let labels = find(format!("{prefix}-labels-idx1-ubyte"))?;
        let name = format!("{dataset}({})", if train { "train" } else { "test" });
        ImageDataset::from_idx(&name, &images, &labels, classes)
    }

    /// The same data under another name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The dataset's name, e.g. `"FashionMNIST(train)"`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shape `[C, H, W]` of one image.
    pub fn image_shape(&self) -> [usize; 3] {
        self.shape
    }

    /// The labels in order.
    pub fn labels(&self) -> &[i64] {
        &self.targets
    }

    /// The pixels of image `index`.
    pub fn pixels(&self, index: usize) -> Result<&[u8]> {
        let n: usize = self.shape.iter().product();
        if index >= self.targets.len() {
            return Err(index_error(&self.name, index, self.targets.len()));
        }
        Ok(&self.pixels[index * n..(index + 1) * n])
    }

    /// The pixels of `n` images, with room reserved up front (an error naming `what`, not an
    /// abort, when that is more memory than there is).
    fn pixel_buffer(&self, n: usize, what: &str) -> Result<Vec<u8>> {
        let bytes = n.saturating_mul(self.shape.iter().product::<usize>());
        let mut pixels = Vec::new();
        pixels.try_reserve_exact(bytes).map_err(|_| {
            DatasetError::config(
                &self.name,
                format!("{what}: {n} images need {bytes} bytes, more than can be allocated"),
            )
        })?;
        Ok(pixels)
    }

    /// The images at `indices` as a new dataset (in that order), named `"<name>[subset]"`.
    pub fn subset(&self, indices: &[usize]) -> Result<Self> {
        let mut pixels = self.pixel_buffer(indices.len(), "subset")?;
        let mut targets = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend_from_slice(self.pixels(i)?);
            targets.push(self.targets[i]);
        }
        ImageDataset::new(
            format!("{}[subset]", self.name),
            pixels,
            self.shape,
            targets,
            self.classes.clone(),
        )
    }

    fn size(&self, n: usize) -> Vec<i64> {
        let [c, h, w] = self.shape;
        vec![n as i64, c as i64, h as i64, w as i64]
    }
}

impl Dataset for ImageDataset {
    fn len(&self) -> usize {
        self.targets.len()
    }
    fn get(&self, index: usize) -> Result<Sample> {
        let x = Tensor::f_from_data_size(self.pixels(index)?, &self.size(1)[1..], Kind::Uint8)?;
        Ok((x, self.targets[index]))
    }
    fn classes(&self) -> Vec<String> {
        self.classes.clone()
    }
    fn targets(&self) -> Result<Vec<i64>> {
        Ok(self.targets.clone())
    }
    fn get_batch(&self, indices: &[usize]) -> Result<(Tensor, Tensor)> {
        if indices.is_empty() {
            return Err(DatasetError::config(&self.name, "get_batch: no indices"));
        }
        let mut pixels = self.pixel_buffer(indices.len(), "get_batch")?;
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend_from_slice(self.pixels(i)?);
            labels.push(self.targets[i]);
        }
        Ok((
            Tensor::f_from_data_size(&pixels, &self.size(indices.len()), Kind::Uint8)?,
            Tensor::from_slice(&labels),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ImageDataset {
        // three 1x2x2 images with pixels 10i..10i+3 and labels 2, 0, 1
        let pixels: Vec<u8> = (0..3u8)
            .flat_map(|i| (0..4u8).map(move |k| 10 * i + k))
            .collect();
        ImageDataset::new(
            "tiny",
            pixels,
            [1, 2, 2],
            vec![2, 0, 1],
            vec!["a".into(), "b".into(), "c".into()],
        )
        .unwrap()
    }

    #[test]
    fn samples_batches_and_subsets() {
        let d = tiny();
        let (x, y) = d.get(1).unwrap();
        assert_eq!((x.size(), x.kind(), y), (vec![1, 2, 2], Kind::Uint8, 0));
        assert_eq!(x.int64_value(&[0, 1, 0]), 12);
        let (xb, yb) = d.get_batch(&[2, 2, 0]).unwrap();
        assert_eq!(xb.size(), vec![3, 1, 2, 2]);
        assert_eq!(xb.int64_value(&[0, 0, 1, 1]), 23);
        assert_eq!(xb.int64_value(&[2, 0, 0, 1]), 1);
        assert_eq!(Vec::<i64>::try_from(&yb).unwrap(), vec![1, 1, 2]);
        let s = d.subset(&[2, 0]).unwrap();
        assert_eq!(
            (s.labels(), s.pixels(0).unwrap()),
            (&[1, 2][..], &[20, 21, 22, 23][..])
        );
        assert_eq!(
            format!("{s:?}"),
            "tiny[subset]: 2 images [1, 2, 2] in 3 classes"
        );
        assert!(d
            .get(3)
            .unwrap_err()
            .to_string()
            .contains("index 3 out of range for 3 samples"));
    }

    #[test]
    fn inconsistent_contents_are_errors() {
        let classes = vec!["a".to_string()];
        let e = ImageDataset::new("d", vec![0; 5], [1, 2, 2], vec![0], classes.clone())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "d: 5 pixels do not make 1 images of shape [1, 2, 2]");
        let e = ImageDataset::new("d", vec![0; 4], [1, 2, 2], vec![1], classes.clone())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "d: label 1 of sample 0 is not in 0..1");
        // A shape whose pixel count overflows is an error, not an arithmetic panic.
        let e = ImageDataset::new("d", vec![0; 4], [1 << 40, 1 << 40, 1], vec![0], classes)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "d: 4 pixels do not make 1 images of shape [1099511627776, 1099511627776, 1]"
        );
    }

    #[test]
    fn idx_pair_checks_shapes_and_labels() {
        let dir = std::env::temp_dir().join(format!("sj-image-dataset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let images = dir.join("images");
        let labels = dir.join("labels");
        let mut img = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        img.extend([1, 2, 3, 4]);
        std::fs::write(&images, &img).unwrap();
        std::fs::write(&labels, [0, 0, 8, 1, 0, 0, 0, 2, 1, 0]).unwrap();
        let d = ImageDataset::from_idx("pair", &images, &labels, &["x", "y"]).unwrap();
        assert_eq!((d.image_shape(), d.labels()), ([1, 1, 2], &[1, 0][..]));
        std::fs::write(&labels, [0, 0, 8, 1, 0, 0, 0, 2, 1, 5]).unwrap();
        let e = ImageDataset::from_idx("pair", &images, &labels, &["x", "y"])
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("labels: at byte 9: label 5 is not in 0..2"),
            "{e}"
        );
        std::fs::write(&labels, [0, 0, 8, 1, 0, 0, 0, 3, 1, 0, 0]).unwrap();
        let e = ImageDataset::from_idx("pair", &images, &labels, &["x", "y"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected 2 u8 labels (magic 0x00000801)"), "{e}");
        let e = ImageDataset::from_idx("pair", &labels, &labels, &["x", "y"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("expected u8 images [N, H, W] (magic 0x00000803), got U8 [3]"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
