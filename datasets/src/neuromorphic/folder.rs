//! [`NeuromorphicDatasetFolder`]: SpikingJelly's base class for event datasets, with its on-disk
//! layout under `root`:
//!
//! ```text
//! download/                                  raw archives, placed by the user
//! extract/                                   extracted raw files
//! events_np/[train|test]/<class>/<sample>.npz                      keys t, x, y, p
//! frames_number_{F}_split_by_{number|time}/[train|test]/<class>/<sample>.npz   frames [F,2,H,W]
//! duration_{D}/[train|test]/<class>/<sample>_<T>.npz                          frames [T,2,H,W]
//! <custom name>/[train|test]/<class>/<sample>.npz                             frames
//! ```
//!
//! Each stage runs only when its directory is missing, and builds it under a temporary name that
//! is renamed when complete, so an interrupted run leaves no half-filled cache. sj never downloads:
//! a missing dataset is an error saying which files to put where. Before extracting, every archive
//! with a published MD5 sum is checked against it (SpikingJelly's `check_integrity`); a mismatch is
//! an error naming the file and both sums. Once `extract/` exists the archives are not read again.
//! Labels follow torchvision's `DatasetFolder`: class folders sorted as strings.
use super::events::Events;
use super::integrate::{
    check_frames_num, file_name, frame_values, in_file, integrate_events_by_fixed_duration,
    integrate_events_by_fixed_frames_number, load_npz_frames, save_frames_to_npz, CustomIntegrate,
    SplitBy,
};
use super::io::{build_dir_atomic, create_dir, md5_hex, sorted_entries};
use super::parallel::par_for_each;
use super::sub_dataset::create_same_directory_structure;
use super::zip::extract_zip;
use crate::dataset::{index_error, Dataset};
use crate::error::{DatasetError, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::Tensor;

/// One file a dataset needs in `root/download`: name, where to get it, and its MD5 if published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource {
    /// File name in `download/`.
    pub file_name: &'static str,
    /// Download page or link.
    pub url: &'static str,
    /// MD5 hex digest (`None` where SpikingJelly has none).
    pub md5: Option<&'static str>,
}

/// What each neuromorphic dataset defines (SpikingJelly's abstract static methods).
pub trait NeuromorphicSource: Send + Sync {
    /// The dataset's SpikingJelly class name, for messages.
    fn name(&self) -> &'static str;
    /// `resource_url_md5()`: the files expected in `root/download`.
    fn resource_url_md5(&self) -> Vec<Resource>;
    /// `downloadable()`: whether SpikingJelly can download the files itself (sj never does).
    fn downloadable(&self) -> bool;
    /// `extract_downloaded_files(download_root, extract_root)`.
    fn extract_downloaded_files(&self, download_root: &Path, extract_root: &Path) -> Result<()>;
    /// `create_events_np_files(extract_root, events_np_root)`.
    fn create_events_np_files(&self, extract_root: &Path, events_np_root: &Path) -> Result<()>;
    /// `get_H_W() -> (H, W)`.
    fn get_h_w(&self) -> (usize, usize);
    /// `load_events_np(fname)`: reads one `events_np` sample (default: the `.npz` file).
    fn load_events_np(&self, file: &Path) -> Result<Events> {
        Events::load_npz(file)
    }
    /// Whether the dataset has official `train/` and `test/` subsets (then `train` is required).
    fn train_split(&self) -> bool;
}

/// How the frames of a `data_type='frame'` dataset are made (the first of SpikingJelly's
/// `frames_number`, `duration`, `custom_integrate_function` options that is set).
#[derive(Clone)]
pub enum FrameSpec {
    /// `frames_number=F, split_by=...`: `[F, 2, H, W]` per sample.
    FramesNumber {
        /// F.
        frames_number: usize,
        /// `'number'` or `'time'`.
        split_by: SplitBy,
    },
    /// `duration=D` (in timestamp units): `[T, 2, H, W]` with T varying per sample.
    Duration(i64),
    /// `custom_integrate_function`, cached in `root/<dir_name>`.
    Custom {
        /// `custom_integrated_frames_dir_name` (SpikingJelly defaults to the function's name).
        dir_name: String,
        /// The function `(events, H, W) -> frames`.
        function: CustomIntegrate,
    },
}

impl std::fmt::Debug for FrameSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.dir_name())
    }
}

impl FrameSpec {
    /// The cache directory name under `root`.
    pub fn dir_name(&self) -> String {
        match self {
            FrameSpec::FramesNumber {
                frames_number,
                split_by,
            } => format!("frames_number_{frames_number}_split_by_{split_by}"),
            FrameSpec::Duration(d) => format!("duration_{d}"),
            FrameSpec::Custom { dir_name, .. } => dir_name.clone(),
        }
    }

    /// Errors on settings no sample can be integrated with into `H x W` frames.
    fn check(&self, h: usize, w: usize) -> Result<()> {
        match self {
            FrameSpec::FramesNumber { frames_number, .. } => {
                check_frames_num("NeuromorphicDatasetFolder", *frames_number)?;
                frame_values(
                    "NeuromorphicDatasetFolder",
                    *frames_number,
                    2usize.saturating_mul(h).saturating_mul(w),
                )
                .map(drop)
            }
            FrameSpec::Duration(d) if *d <= 0 => Err(DatasetError::config(
                "duration",
                format!("must be positive, got {d}"),
            )),
            FrameSpec::Custom { dir_name, .. }
                if Path::new(dir_name).file_name().and_then(|n| n.to_str())
                    != Some(dir_name.as_str()) =>
            {
                Err(DatasetError::config(
                    "custom_integrated_frames_dir_name",
                    format!("{dir_name:?} must be a plain folder name"),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Integrates one sample; returns the frames.
    pub fn integrate(&self, events: &Events, h: usize, w: usize) -> Result<Tensor> {
        match self {
            FrameSpec::FramesNumber {
                frames_number,
                split_by,
            } => integrate_events_by_fixed_frames_number(events, *split_by, *frames_number, h, w),
            FrameSpec::Duration(d) => integrate_events_by_fixed_duration(events, *d, h, w),
            FrameSpec::Custom { function, .. } => function(events, h, w),
        }
    }
}

/// `data_type`: samples as events or as cached frames.
#[derive(Clone, Debug)]
pub enum DataType {
    /// `data_type='event'`: samples are [`Events`].
    Event,
    /// `data_type='frame'`: samples are frame tensors.
    Frame(FrameSpec),
}

impl DataType {
    /// `data_type='frame', frames_number=F, split_by=...`.
    pub fn frames_number(frames_number: usize, split_by: SplitBy) -> Self {
        DataType::Frame(FrameSpec::FramesNumber {
            frames_number,
            split_by,
        })
    }

    /// `data_type='frame', duration=D`.
    pub fn duration(duration: i64) -> Self {
        DataType::Frame(FrameSpec::Duration(duration))
    }

    /// `data_type='frame', custom_integrate_function=f, custom_integrated_frames_dir_name=dir_name`.
    pub fn custom(
        dir_name: &str,
        function: impl Fn(&Events, usize, usize) -> Result<Tensor> + Send + Sync + 'static,
    ) -> Self {
        DataType::Frame(FrameSpec::Custom {
            dir_name: dir_name.to_string(),
            function: Arc::new(function),
        })
    }
}

/// One sample of a [`NeuromorphicDatasetFolder`]: events or frames.
#[derive(Debug)]
pub enum NeuromorphicSample {
    /// A `data_type='event'` sample.
    Events(Events),
    /// A `data_type='frame'` sample, `[T, 2, H, W]` `f32`.
    Frames(Tensor),
}

impl NeuromorphicSample {
    /// The frames, or an error if this is an event sample.
    pub fn into_frames(self) -> Result<Tensor> {
        match self {
            NeuromorphicSample::Frames(t) => Ok(t),
            NeuromorphicSample::Events(_) => Err(DatasetError::config(
                "NeuromorphicSample",
                "this dataset yields events; open it with DataType::Frame for frames",
            )),
        }
    }

    /// The events, or an error if this is a frame sample.
    pub fn into_events(self) -> Result<Events> {
        match self {
            NeuromorphicSample::Events(e) => Ok(e),
            NeuromorphicSample::Frames(_) => Err(DatasetError::config(
                "NeuromorphicSample",
                "this dataset yields frames; open it with DataType::Event for events",
            )),
        }
    }
}

/// Makes `root/extract` from `root/download` when it is missing; a missing download says which
/// files to put where.
pub(crate) fn ensure_extracted(
    name: &str,
    resources: &[Resource],
    downloadable: bool,
    root: &Path,
    extract: impl FnOnce(&Path, &Path) -> Result<()>,
) -> Result<PathBuf> {
    let (download_root, extract_root) = (root.join("download"), root.join("extract"));
    if extract_root.is_dir() {
        return Ok(extract_root);
    }
    let missing: Vec<String> = resources
        .iter()
        .filter(|r| !download_root.join(r.file_name).is_file())
        .map(|r| {
            format!(
                "{} from {} (md5 {})",
                r.file_name,
                r.url,
                r.md5.unwrap_or("not published")
            )
        })
        .collect();
    if !missing.is_empty() {
        let how = if downloadable {
            "SpikingJelly downloads these itself; sj has no downloader, so download them"
        } else {
            "these cannot be downloaded automatically; download them by hand"
        };
        return Err(DatasetError::Missing {
            what: format!("{name} data"),
            path: download_root.display().to_string(),
            hint: format!(
                "{how} and put them in {}: {}. (Already extracted files can go in {}.)",
                download_root.display(),
                missing.join("; "),
                extract_root.display()
            ),
        });
    }
    for r in resources {
        if let Some(expected) = r.md5 {
            let file = download_root.join(r.file_name);
            let actual = md5_hex(&file)?;
            if actual != expected {
                return Err(DatasetError::Checksum {
                    file: file.display().to_string(),
                    expected: expected.to_string(),
                    actual,
                    hint: format!(
                        "{name}'s archive is corrupt, incomplete or another version: delete it and download it again from {} \
                         (or, if you trust this copy, extract it yourself into {})",
                        r.url,
                        extract_root.display()
                    ),
                });
            }
        }
    }
    build_dir_atomic(&extract_root, |tmp| extract(&download_root, tmp))?;
    Ok(extract_root)
}

/// Extracts every `.zip` in `download_root` into `extract_root` (N-MNIST, CIFAR10-DVS, SHD).
pub(crate) fn extract_each_zip(download_root: &Path, extract_root: &Path) -> Result<()> {
    for (name, path, is_dir) in sorted_entries(download_root)? {
        if !is_dir && name.to_lowercase().ends_with(".zip") {
            extract_zip(&path, extract_root)?;
        }
    }
    Ok(())
}

/// Extracts `archive` into a scratch folder and then every `.zip` inside it into `extract_root`
/// (ASL-DVS and NAV Gesture ship zips of zips).
pub(crate) fn extract_nested_zips(archive: &Path, extract_root: &Path) -> Result<()> {
    let scratch = extract_root.join(".outer");
    extract_zip(archive, &scratch)?;
    let mut inner = Vec::new();
    collect_files(&scratch, &mut inner)?;
    for zip in inner
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")))
    {
        extract_zip(zip, extract_root)?;
    }
    std::fs::remove_dir_all(&scratch).map_err(|e| DatasetError::io(&scratch, e))
}

/// Every file under `dir`, recursively (following symbolic links), sorted by path.
pub(crate) fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for (_, path, is_dir) in sorted_entries(dir)? {
        if is_dir {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Converts `src_root/<class>/<file>` to `dst_root/<class>/<stem>.npz` with `load`, in parallel.
pub(crate) fn convert_class_folders(
    src_root: &Path,
    dst_root: &Path,
    load: impl Fn(&Path) -> Result<Events> + Sync + Send,
) -> Result<()> {
    let mut jobs = Vec::new();
    for (class, dir, is_dir) in sorted_entries(src_root)? {
        if !is_dir {
            continue;
        }
        create_dir(&dst_root.join(&class))?;
        for (_, file, is_dir) in sorted_entries(&dir)? {
            if !is_dir {
                let stem = file
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                jobs.push((
                    file.clone(),
                    dst_root.join(&class).join(format!("{stem}.npz")),
                ));
            }
        }
    }
    par_for_each("events_np", &jobs, |(src, dst)| load(src)?.save_npz(dst))
}

/// Class names and `(file, label)` samples.
pub(crate) type ClassesAndSamples = (Vec<String>, Vec<(PathBuf, i64)>);

/// torchvision's `make_dataset`: class folders of `dir` sorted as strings (label = position),
/// each walked recursively for `.npz` files, sorted by folder then name. Unlike torchvision, an
/// empty class folder is allowed (it keeps its label); only a folder with no sample at all errors.
pub(crate) fn make_dataset(dir: &Path) -> Result<ClassesAndSamples> {
    if !dir.is_dir() {
        return Err(DatasetError::Missing {
            what: "dataset folder".into(),
            path: dir.display().to_string(),
            hint: "the cache is incomplete; delete the dataset's events_np and frame folders to rebuild them".into(),
        });
    }
    let classes: Vec<String> = sorted_entries(dir)?
        .into_iter()
        .filter(|e| e.2)
        .map(|e| e.0)
        .collect();
    if classes.is_empty() {
        return Err(DatasetError::config(
            "make_dataset",
            format!("no class folder in {}", dir.display()),
        ));
    }
    let mut samples = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let mut files = Vec::new();
        collect_files(&dir.join(class), &mut files)?;
        samples.extend(
            files
                .into_iter()
                .filter(|f| f.extension().is_some_and(|e| e.eq_ignore_ascii_case("npz")))
                .map(|f| (f, label as i64)),
        );
    }
    if samples.is_empty() {
        return Err(DatasetError::config(
            "make_dataset",
            format!("no .npz sample under {}", dir.display()),
        ));
    }
    Ok((classes, samples))
}

/// A neuromorphic dataset on disk (SpikingJelly's `NeuromorphicDatasetFolder`).
pub struct NeuromorphicDatasetFolder {
    source: Arc<dyn NeuromorphicSource>,
    root: PathBuf,
    data_root: PathBuf,
    data_type: DataType,
    classes: Vec<String>,
    samples: Vec<(PathBuf, i64)>,
}

impl NeuromorphicDatasetFolder {
    /// Opens `source`'s dataset under `root`, building `extract/`, `events_np/` and the frame cache
    /// as needed. `train` picks `train/` or `test/`; it must be `Some` exactly for datasets with an
    /// official split (the others are split with [`split_to_train_test_set`](super::split_to_train_test_set)).
    pub fn new(
        source: impl NeuromorphicSource + 'static,
        root: impl AsRef<Path>,
        train: Option<bool>,
        data_type: DataType,
    ) -> Result<Self> {
        let source: Arc<dyn NeuromorphicSource> = Arc::new(source);
        let root = root.as_ref().to_path_buf();
        let name = source.name();
        match (source.train_split(), train) {
            (true, None) => return Err(DatasetError::config(name, "has train and test sets: pass train = Some(true) or Some(false)")),
            (false, Some(_)) => {
                return Err(DatasetError::config(name, "has no official train/test split: pass train = None and use split_to_train_test_set"))
            }
            _ => {}
        }
        let (h, w) = source.get_h_w();
        if let DataType::Frame(spec) = &data_type {
            spec.check(h, w)?;
        }
        let events_np_root = root.join("events_np");
        if !events_np_root.is_dir() {
            let extract_root = ensure_extracted(
                name,
                &source.resource_url_md5(),
                source.downloadable(),
                &root,
                |d, e| {
                    source
                        .extract_downloaded_files(d, e)
                        .map_err(|e| e.in_reader(name))
                },
            )?;
            build_dir_atomic(&events_np_root, |tmp| {
                source.create_events_np_files(&extract_root, tmp)
            })
            .map_err(|e| e.in_reader(name))?;
        }
        let data_root = match &data_type {
            DataType::Event => events_np_root,
            DataType::Frame(spec) => {
                let frames_root = root.join(spec.dir_name());
                if !frames_root.is_dir() {
                    build_dir_atomic(&frames_root, |tmp| {
                        integrate_tree(&*source, &events_np_root, tmp, spec, h, w)
                    })
                    .map_err(|e| e.in_reader(name))?;
                }
                frames_root
            }
        };
        let data_root = match train {
            Some(true) => data_root.join("train"),
            Some(false) => data_root.join("test"),
            None => data_root,
        };
        let (classes, samples) = make_dataset(&data_root)?;
        Ok(NeuromorphicDatasetFolder {
            source,
            root,
            data_root,
            data_type,
            classes,
            samples,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The class folder names; a label is an index into this list.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// `(file, label)` of every sample.
    pub fn samples(&self) -> &[(PathBuf, i64)] {
        &self.samples
    }

    /// The label of every sample.
    pub fn targets(&self) -> Vec<i64> {
        self.samples.iter().map(|s| s.1).collect()
    }

    /// The dataset root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder the samples are read from (e.g. `root/frames_number_16_split_by_number/train`).
    pub fn data_root(&self) -> &Path {
        &self.data_root
    }

    /// `get_H_W()`.
    pub fn get_h_w(&self) -> (usize, usize) {
        self.source.get_h_w()
    }

    /// `dataset[i]`: the sample (events or frames) and its label.
    pub fn get_sample(&self, i: usize) -> Result<(NeuromorphicSample, i64)> {
        let (file, label) = self
            .samples
            .get(i)
            .ok_or_else(|| index_error(self.source.name(), i, self.samples.len()))?;
        let sample = match self.data_type {
            DataType::Event => NeuromorphicSample::Events(self.source.load_events_np(file)?),
            DataType::Frame(_) => NeuromorphicSample::Frames(load_npz_frames(file)?),
        };
        Ok((sample, *label))
    }

    /// The events of sample `i` and its label (`DataType::Event` only).
    pub fn get_events(&self, i: usize) -> Result<(Events, i64)> {
        let (s, label) = self.get_sample(i)?;
        Ok((s.into_events()?, label))
    }
}

/// Frame datasets plug into [`DataLoader`](crate::DataLoader) and [`summary`](crate::summary):
/// `get` returns the `[T, 2, H, W]` frames (an event dataset returns an error there; use
/// [`NeuromorphicDatasetFolder::get_events`]). Fixed-duration frames vary in `T`: batch them with
/// [`pad_sequence_collate`](super::pad_sequence_collate).
impl Dataset for NeuromorphicDatasetFolder {
    fn len(&self) -> usize {
        self.samples.len()
    }
    fn get(&self, index: usize) -> Result<(Tensor, i64)> {
        let (s, label) = self.get_sample(index)?;
        Ok((s.into_frames()?, label))
    }
    fn classes(&self) -> Vec<String> {
        self.classes.clone()
    }
    fn targets(&self) -> Result<Vec<i64>> {
        Ok(NeuromorphicDatasetFolder::targets(self))
    }
}

impl std::fmt::Debug for NeuromorphicDatasetFolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}({} samples, {} classes, {})",
            self.source.name(),
            self.len(),
            self.classes.len(),
            self.data_root.display()
        )
    }
}

/// Integrates every events file under `events_root` into the mirrored tree under `out_root`.
fn integrate_tree(
    source: &dyn NeuromorphicSource,
    events_root: &Path,
    out_root: &Path,
    spec: &FrameSpec,
    h: usize,
    w: usize,
) -> Result<()> {
    create_same_directory_structure(events_root, out_root)?;
    let mut files = Vec::new();
    collect_files(events_root, &mut files)?;
    par_for_each(&spec.dir_name(), &files, |file| {
        let rel = file
            .strip_prefix(events_root)
            .map_err(|e| DatasetError::config("integrate", e.to_string()))?;
        let out_dir = out_root.join(rel.parent().unwrap_or(Path::new("")));
        let frames = spec
            .integrate(&source.load_events_np(file)?, h, w)
            .map_err(|e| in_file(file, e))?;
        let target = match spec {
            FrameSpec::Duration(_) => {
                let stem = file
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out_dir.join(format!(
                    "{stem}_{}.npz",
                    frames.size().first().copied().unwrap_or(0)
                ))
            }
            _ => out_dir.join(file_name(file)?),
        };
        save_frames_to_npz(target, &frames)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neuromorphic::NMNIST;

    /// An N-MNIST layout: extract/{Train,Test}/<digit>/*.bin holding the real sample and cut copies.
    fn nmnist_extract(root: &Path) {
        let bytes = std::fs::read(crate::neuromorphic::tests::sample_nmnist()).unwrap();
        for (split, digits) in [("Train", ["0", "1", "10"]), ("Test", ["0", "1", "10"])] {
            for (k, d) in digits.iter().enumerate() {
                let dir = root.join("extract").join(split).join(d);
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("00001.bin"), &bytes[..5 * (1000 + 500 * k)]).unwrap();
                if *d == "1" {
                    std::fs::write(dir.join("00002.bin"), &bytes).unwrap();
                }
            }
        }
    }

    /// The temporary `.<name>.partial-*` entries left in `root`.
    fn partials(root: &Path) -> Vec<String> {
        std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".partial"))
            .collect()
    }

    #[test]
    fn md5_of_archives_is_checked_before_extracting() {
        assert_eq!(
            md5_hex(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("Cargo.toml")
                    .as_path()
            )
            .unwrap()
            .len(),
            32
        );
        let root = crate::neuromorphic::tests::test_dir("folder_md5");
        std::fs::create_dir_all(root.join("download")).unwrap();
        std::fs::write(root.join("download/abc"), b"abc").unwrap();
        assert_eq!(
            md5_hex(&root.join("download/abc")).unwrap(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        for f in ["Train.zip", "Test.zip"] {
            std::fs::write(root.join("download").join(f), b"not the archive").unwrap();
        }
        let e = NeuromorphicDatasetFolder::new(NMNIST, &root, Some(true), DataType::Event)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&root.join("download/Train.zip").display().to_string())
                && e.contains("MD5 sum faad6fe8d15940921af14a21e4af226d does not match the published 20959b8e626244a1b502305a9e6e2031")
                && e.contains("delete it and download it again"),
            "{e}"
        );
        assert!(!root.join("extract").exists(), "nothing extracted");
        assert_eq!(partials(&root), Vec::<String>::new());
    }

    #[test]
    fn concurrent_builders_of_one_cache_end_with_one_valid_cache() {
        let root = crate::neuromorphic::tests::test_dir("folder_race");
        nmnist_extract(&root);
        // A stale temporary folder of a process that no longer runs (pid 0 never names one).
        std::fs::create_dir_all(root.join(".events_np.partial-0-7/junk")).unwrap();
        let frames = || DataType::frames_number(8, SplitBy::Number);
        let lens: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        NeuromorphicDatasetFolder::new(NMNIST, &root, Some(true), frames())
                            .map(|d| d.len())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().unwrap())
                .collect()
        });
        assert_eq!(lens, [4, 4, 4, 4]);
        assert_eq!(partials(&root), Vec::<String>::new());
        let d = NeuromorphicDatasetFolder::new(NMNIST, &root, Some(true), frames()).unwrap();
        let (f, label) = Dataset::get(&d, 2).unwrap();
        assert_eq!((f.size(), label), (vec![8, 2, 34, 34], 1));
        assert_eq!(f.sum(tch::Kind::Float).double_value(&[]), 4325.0);
    }

    #[test]
    fn checklist_225_226_227_228_259_folder_pipeline_and_caches() {
        let root = crate::neuromorphic::tests::test_dir("folder_nmnist");
        // Nothing there: the error says where the files go and where to get them.
        let e = NeuromorphicDatasetFolder::new(NMNIST, &root, Some(true), DataType::Event)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&root.join("download").display().to_string())
                && e.contains("Train.zip")
                && e.contains("garrickorchard"),
            "{e}"
        );
        assert!(
            NeuromorphicDatasetFolder::new(NMNIST, &root, None, DataType::Event).is_err(),
            "N-MNIST needs train"
        );
        nmnist_extract(&root);
        let train =
            NeuromorphicDatasetFolder::new(NMNIST, &root, Some(true), DataType::Event).unwrap();
        // Folders sort as strings: "0", "1", "10" -> labels 0, 1, 2 (checklist 259).
        assert_eq!(train.classes(), ["0", "1", "10"]);
        assert_eq!(train.targets(), [0, 1, 1, 2]);
        let (ev, label) = train.get_events(2).unwrap();
        assert_eq!(label, 1);
        assert_eq!(ev.len(), 4325);
        assert_eq!((ev.x[0], ev.y[0], ev.p[0], ev.t[0]), (7, 15, 1, 654));
        assert!(train.get_events(4).is_err());
        assert!(Dataset::get(&train, 0)
            .unwrap_err()
            .to_string()
            .contains("yields events"));
        let summary = crate::summary(&train).unwrap();
        assert_eq!(
            summary.column("count").unwrap().u32().unwrap().to_vec(),
            [Some(1), Some(2), Some(1)]
        );
        assert_eq!(partials(&root), Vec::<String>::new());
        // Frames by number: [16, 2, 34, 34] per sample, equal to integrating the events directly.
        let frames = NeuromorphicDatasetFolder::new(
            NMNIST,
            &root,
            Some(false),
            DataType::frames_number(16, SplitBy::Number),
        )
        .unwrap();
        assert!(root
            .join("frames_number_16_split_by_number/train/10/00001.npz")
            .is_file());
        let (f, label) = Dataset::get(&frames, 0).unwrap();
        assert_eq!(label, 0);
        assert_eq!(f.size(), [16, 2, 34, 34]);
        let direct = integrate_events_by_fixed_frames_number(
            &Events::load_npz(root.join("events_np/test/0/00001.npz")).unwrap(),
            SplitBy::Number,
            16,
            34,
            34,
        )
        .unwrap();
        assert!(f.equal(&direct));
        assert_eq!(f.sum(tch::Kind::Float).double_value(&[]), 1000.0);
        // Fixed duration: file names carry the frame count.
        let dur =
            NeuromorphicDatasetFolder::new(NMNIST, &root, Some(true), DataType::duration(100_000))
                .unwrap();
        let name = dur.samples()[2]
            .0
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(
            name, "00002_4.npz",
            "311175 µs in 100 ms windows -> 4 frames"
        );
        assert_eq!(Dataset::get(&dur, 2).unwrap().0.size(), [4, 2, 34, 34]);
        // Custom integration into a named folder.
        fn two_halves(e: &Events, h: usize, w: usize) -> Result<Tensor> {
            integrate_events_by_fixed_frames_number(e, SplitBy::Number, 2, h, w)
        }
        let custom = NeuromorphicDatasetFolder::new(
            NMNIST,
            &root,
            Some(true),
            DataType::custom("two_halves", two_halves),
        )
        .unwrap();
        assert_eq!(Dataset::get(&custom, 0).unwrap().0.size(), [2, 2, 34, 34]);
        // A failing integration leaves no cache behind.
        let bad = DataType::custom("too_small", |e: &Events, _, _| {
            integrate_events_by_fixed_frames_number(e, SplitBy::Number, 2, 8, 8)
        });
        let e = NeuromorphicDatasetFolder::new(NMNIST, &root, Some(true), bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside") && e.contains(".npz"), "{e}");
        assert!(!root.join("too_small").exists());
        assert_eq!(partials(&root), Vec::<String>::new());
        assert!(
            NeuromorphicDatasetFolder::new(NMNIST, &root, Some(true), DataType::duration(0))
                .is_err()
        );
        // An absurd frame count is an error before anything is integrated, in both split modes.
        for split_by in [SplitBy::Number, SplitBy::Time] {
            let e = NeuromorphicDatasetFolder::new(
                NMNIST,
                &root,
                Some(true),
                DataType::frames_number(1 << 40, split_by),
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.contains(
                    "NeuromorphicDatasetFolder: frames_number must be between 1 and 1048576"
                ),
                "{e}"
            );
            assert!(!root
                .join(format!("frames_number_1099511627776_split_by_{split_by}"))
                .exists());
        }
    }
}
