//! The Spiking Heidelberg Digits (SHD): 700 input channels, 20 classes, train and test HDF5 files
//! `shd_{train,test}.h5` with `spikes/times[i]` (seconds), `spikes/units[i]` and `labels[i]`,
//! read through the `hdf5` crate. Events are `(t, x)` only, and frames are `[F, 700]`, made by the
//! `_shd` variants of the integration functions (the `'time'` split divides exactly).
use super::folder::{ensure_extracted, extract_each_zip, Resource};
use super::integrate::{
    check_frames_num, duration_segments, frame_values, load_npz_frames, number_segments,
    save_frames_to_npz, time_segments, SplitBy,
};
use super::io::{build_dir_atomic, create_dir, sorted_entries};
use super::parallel::par_for_each;
use crate::dataset::Dataset;
use crate::error::{DatasetError, Result};
use hdf5::types::VarLenArray;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tch::Tensor;

/// Number of input channels (`get_W()`).
pub const SHD_W: usize = 700;
/// Number of classes (`classes_number()`).
pub const SHD_CLASSES: usize = 20;

/// One SHD sample: spike times `t` (seconds) and channels `x`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShdEvents {
    /// Spike times in seconds.
    pub t: Vec<f64>,
    /// Input channel of each spike.
    pub x: Vec<u16>,
}

/// A user function `(events, W) -> frames` for SHD (SpikingJelly's takes the h5 file and an index
/// and saves the frames itself; here sj saves them).
pub type ShdCustomIntegrate = Arc<dyn Fn(&ShdEvents, usize) -> Result<Tensor> + Send + Sync>;

/// `data_type` of [`SpikingHeidelbergDigits`].
#[derive(Clone)]
pub enum ShdDataType {
    /// Samples are [`ShdEvents`] read from the h5 file.
    Event,
    /// `frames_number=F, split_by=...`: `[F, 700]` frames.
    FramesNumber {
        /// F.
        frames_number: usize,
        /// `'number'` or `'time'`.
        split_by: SplitBy,
    },
    /// `duration=D`: greedy windows of `D` (in the file's time unit, seconds, as in SpikingJelly).
    Duration(i64),
    /// A custom function cached in `root/<dir_name>`.
    Custom {
        /// Folder name.
        dir_name: String,
        /// The function.
        function: ShdCustomIntegrate,
    },
}

impl ShdDataType {
    fn dir_name(&self) -> Option<String> {
        match self {
            ShdDataType::Event => None,
            ShdDataType::FramesNumber {
                frames_number,
                split_by,
            } => Some(format!("frames_number_{frames_number}_split_by_{split_by}")),
            ShdDataType::Duration(d) => Some(format!("duration_{d}")),
            ShdDataType::Custom { dir_name, .. } => Some(dir_name.clone()),
        }
    }

    fn integrate(&self, e: &ShdEvents) -> Result<Tensor> {
        match self {
            ShdDataType::Event => Err(DatasetError::config(
                "SpikingHeidelbergDigits",
                "events are not integrated",
            )),
            ShdDataType::FramesNumber {
                frames_number,
                split_by,
            } => integrate_events_by_fixed_frames_number_shd(e, *split_by, *frames_number, SHD_W),
            ShdDataType::Duration(d) => integrate_events_by_fixed_duration_shd(e, *d as f64, SHD_W),
            ShdDataType::Custom { function, .. } => function(e, SHD_W),
        }
    }
}

fn segment_frame(x: &[u16], w: usize, j_l: usize, j_r: usize, out: &mut [f32]) -> Result<()> {
    if j_l > j_r || j_r > x.len() {
        return Err(DatasetError::config(
            "integrate_events_segment_to_frame_shd",
            format!(
                "segment [{j_l}, {j_r}) is not inside the {} events",
                x.len()
            ),
        ));
    }
    for (i, &c) in x.iter().enumerate().take(j_r).skip(j_l) {
        let slot = out.get_mut(c as usize).ok_or_else(|| {
            DatasetError::config(
                "integrate_events_segment_to_frame_shd",
                format!("event {i} is on channel {c}, outside W = {w}"),
            )
        })?;
        *slot += 1.0;
    }
    Ok(())
}

/// `integrate_events_segment_to_frame_shd(x, W, j_l, j_r)`: spikes per channel in `[j_l, j_r)`, `[W]`.
pub fn integrate_events_segment_to_frame_shd(
    x: &[u16],
    w: usize,
    j_l: usize,
    j_r: usize,
) -> Result<Tensor> {
    let mut frame = vec![0f32; frame_values("integrate_events_segment_to_frame_shd", 1, w)?];
    segment_frame(x, w, j_l, j_r, &mut frame)?;
    Ok(Tensor::f_from_slice(&frame)?)
}

/// `cal_fixed_frames_number_segment_index_shd(events_t, split_by, frames_num)`: as the camera
/// version, but `'time'` uses `dt = (t_{N-1} − t_0) / M` (true division).
pub fn cal_fixed_frames_number_segment_index_shd(
    events_t: &[f64],
    split_by: SplitBy,
    frames_num: usize,
) -> Result<(Vec<usize>, Vec<usize>)> {
    check_frames_num("cal_fixed_frames_number_segment_index_shd", frames_num)?;
    if events_t.iter().any(|t| !t.is_finite()) {
        return Err(DatasetError::config(
            "cal_fixed_frames_number_segment_index_shd",
            "spike times must be finite",
        ));
    }
    Ok(match (split_by, events_t.first(), events_t.last()) {
        (SplitBy::Time, Some(&t0), Some(&t1)) => {
            let dt = (t1 - t0) / frames_num as f64;
            time_segments(events_t, frames_num, |j| {
                let lo = dt * j as f64 + t0;
                (lo, lo + dt)
            })
        }
        _ => number_segments(events_t.len(), frames_num),
    })
}

fn stack(frames: &[f32], n: usize, w: usize) -> Result<Tensor> {
    Ok(Tensor::f_from_slice(frames)?.f_view([n as i64, w as i64])?)
}

/// `integrate_events_by_fixed_frames_number_shd(events, split_by, frames_num, W)`: `[F, W]`.
pub fn integrate_events_by_fixed_frames_number_shd(
    events: &ShdEvents,
    split_by: SplitBy,
    frames_num: usize,
    w: usize,
) -> Result<Tensor> {
    let what = "integrate_events_by_fixed_frames_number_shd";
    check_frames_num(what, frames_num)?;
    let mut frames = vec![0f32; frame_values(what, frames_num, w)?];
    let (j_l, j_r) = cal_fixed_frames_number_segment_index_shd(&events.t, split_by, frames_num)?;
    for (j, chunk) in frames
        .chunks_exact_mut(w.max(1))
        .enumerate()
        .take(frames_num)
    {
        segment_frame(&events.x, w, j_l[j], j_r[j], chunk)?;
    }
    stack(&frames, frames_num, w)
}

/// `integrate_events_by_fixed_duration_shd(events, duration, W)`: greedy windows of `duration`
/// seconds (`t[right] − t[left] <= duration`), `[T, W]`.
pub fn integrate_events_by_fixed_duration_shd(
    events: &ShdEvents,
    duration: f64,
    w: usize,
) -> Result<Tensor> {
    if duration.is_nan() || duration < 0.0 || events.t.is_empty() {
        return Err(DatasetError::config(
            "integrate_events_by_fixed_duration_shd",
            format!(
                "needs duration >= 0 (got {duration}) and at least one spike (got {})",
                events.t.len()
            ),
        ));
    }
    let segments = duration_segments(&events.t, duration);
    let mut frames =
        vec![0f32; frame_values("integrate_events_by_fixed_duration_shd", segments.len(), w)?];
    for (&(a, b), chunk) in segments.iter().zip(frames.chunks_exact_mut(w.max(1))) {
        segment_frame(&events.x, w, a, b, chunk)?;
    }
    stack(&frames, segments.len(), w)
}

/// `custom_integrate_function_example`: two frames split at a random index (drawn with tch's
/// generator, so `tch::manual_seed` makes it reproducible), `[2, W]`.
pub fn custom_integrate_function_example(events: &ShdEvents, w: usize) -> Result<Tensor> {
    let n = events.t.len() as i64;
    if n == 0 {
        return Err(DatasetError::config(
            "custom_integrate_function_example",
            "no spikes",
        ));
    }
    let split = Tensor::f_randint_low(0, n, [1], (tch::Kind::Int64, tch::Device::Cpu))?
        .f_int64_value(&[0])? as usize;
    let mut frames = vec![0f32; frame_values("custom_integrate_function_example", 2, w)?];
    let (a, b) = frames.split_at_mut(w);
    segment_frame(&events.x, w, 0, split, a)?;
    segment_frame(&events.x, w, split, events.x.len(), b)?;
    stack(&frames, 2, w)
}

/// An open `shd_{train,test}.h5`.
struct ShdFile {
    path: PathBuf,
    file: hdf5::File,
    labels: Vec<i64>,
}

impl ShdFile {
    /// Opens `path` and reads its labels (errors name `SpikingHeidelbergDigits`).
    fn open(path: &Path) -> Result<Self> {
        Self::read_labels(path).map_err(|e| e.in_reader("SpikingHeidelbergDigits"))
    }

    fn read_labels(path: &Path) -> Result<Self> {
        let err = |e: hdf5::Error| {
            DatasetError::format(path, 0, format!("not a readable SHD HDF5 file: {e}"))
        };
        let file = hdf5::File::open(path).map_err(err)?;
        let labels = file
            .dataset("labels")
            .and_then(|d| d.read_raw::<i64>())
            .map_err(err)?;
        if let Some((i, l)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| !(0..SHD_CLASSES as i64).contains(&l))
        {
            return Err(DatasetError::format(
                path,
                0,
                format!("labels[{i}] = {l} is not a class in 0..{SHD_CLASSES}"),
            ));
        }
        Ok(ShdFile {
            path: path.to_path_buf(),
            file,
            labels,
        })
    }

    /// Sample `i` (errors name `SpikingHeidelbergDigits`).
    fn events(&self, i: usize) -> Result<ShdEvents> {
        self.read_events(i)
            .map_err(|e| e.in_reader("SpikingHeidelbergDigits"))
    }

    fn read_events(&self, i: usize) -> Result<ShdEvents> {
        let err = |e: hdf5::Error| DatasetError::format(&self.path, 0, format!("sample {i}: {e}"));
        let t: Vec<VarLenArray<f64>> = self
            .file
            .dataset("spikes/times")
            .and_then(|d| d.read_slice_1d(i..i + 1))
            .map_err(err)?
            .to_vec();
        let x: Vec<VarLenArray<u16>> = self
            .file
            .dataset("spikes/units")
            .and_then(|d| d.read_slice_1d(i..i + 1))
            .map_err(err)?
            .to_vec();
        let (t, x) = match (t.first(), x.first()) {
            (Some(t), Some(x)) if t.len() == x.len() => (t.to_vec(), x.to_vec()),
            _ => {
                return Err(DatasetError::format(
                    &self.path,
                    0,
                    format!("sample {i}: spikes/times and spikes/units differ in length"),
                ))
            }
        };
        Ok(ShdEvents { t, x })
    }
}

/// The SHD dataset (SpikingJelly's `SpikingHeidelbergDigits`): `shd_train.h5.zip` and
/// `shd_test.h5.zip` in `root/download`, or the `.h5` files in `root/extract`. Frame caches hold
/// `<dir>/{train,test}/<label>/<i>.npz` for both sets.
pub struct SpikingHeidelbergDigits {
    events: Option<ShdFile>,
    frames: Vec<(PathBuf, i64)>,
}

impl SpikingHeidelbergDigits {
    /// `resource_url_md5()`.
    pub fn resource_url_md5() -> Vec<Resource> {
        vec![
            Resource {
                file_name: "shd_train.h5.zip",
                url: "https://zenkelab.org/datasets/shd_train.h5.zip",
                md5: Some("f3252aeb598ac776c1b526422d90eecb"),
            },
            Resource {
                file_name: "shd_test.h5.zip",
                url: "https://zenkelab.org/datasets/shd_test.h5.zip",
                md5: Some("1503a5064faa34311c398fb0a1ed0a6f"),
            },
        ]
    }

    /// Opens the train or test set under `root`, building the frame cache for `data_type` if needed.
    pub fn new(root: impl AsRef<Path>, train: bool, data_type: ShdDataType) -> Result<Self> {
        let root = root.as_ref();
        let extract_root = ensure_extracted(
            "SpikingHeidelbergDigits",
            &Self::resource_url_md5(),
            true,
            root,
            extract_each_zip,
        )?;
        let split = if train { "train" } else { "test" };
        let Some(dir_name) = data_type.dir_name() else {
            return Ok(SpikingHeidelbergDigits {
                events: Some(ShdFile::open(
                    &extract_root.join(format!("shd_{split}.h5")),
                )?),
                frames: Vec::new(),
            });
        };
        match &data_type {
            ShdDataType::FramesNumber { frames_number, .. } => {
                check_frames_num("SpikingHeidelbergDigits", *frames_number)?;
                frame_values("SpikingHeidelbergDigits", *frames_number, SHD_W)?;
            }
            ShdDataType::Duration(d) if *d <= 0 => {
                return Err(DatasetError::config(
                    "duration",
                    format!("must be positive, got {d}"),
                ))
            }
            _ => {}
        }
        let frames_root = root.join(dir_name);
        if !frames_root.is_dir() {
            build_dir_atomic(&frames_root, |tmp| {
                for set in ["train", "test"] {
                    for label in 0..SHD_CLASSES {
                        create_dir(&tmp.join(set).join(label.to_string()))?;
                    }
                    let h5 = ShdFile::open(&extract_root.join(format!("shd_{set}.h5")))?;
                    let indices: Vec<usize> = (0..h5.labels.len()).collect();
                    par_for_each(set, &indices, |&i| {
                        let frames = data_type.integrate(&h5.events(i)?).map_err(|e| {
                            DatasetError::config(
                                format!("{} sample {i}", h5.path.display()),
                                e.to_string(),
                            )
                        })?;
                        save_frames_to_npz(
                            tmp.join(set)
                                .join(h5.labels[i].to_string())
                                .join(format!("{i}.npz")),
                            &frames,
                        )
                    })?;
                }
                Ok(())
            })?;
        }
        let mut frames = Vec::new();
        for label in 0..SHD_CLASSES {
            for (_, path, is_dir) in
                sorted_entries(&frames_root.join(split).join(label.to_string()))?
            {
                if !is_dir {
                    frames.push((path, label as i64));
                }
            }
        }
        Ok(SpikingHeidelbergDigits {
            events: None,
            frames,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.events
            .as_ref()
            .map_or(self.frames.len(), |f| f.labels.len())
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The label of every sample.
    pub fn targets(&self) -> Vec<i64> {
        self.events.as_ref().map_or_else(
            || self.frames.iter().map(|f| f.1).collect(),
            |f| f.labels.clone(),
        )
    }

    /// The events of sample `i` (event data type only) and its label.
    pub fn get_events(&self, i: usize) -> Result<(ShdEvents, i64)> {
        let f = self.events.as_ref().ok_or_else(|| {
            DatasetError::config(
                "SpikingHeidelbergDigits",
                "opened with frames; use get_frames",
            )
        })?;
        let label = *f.labels.get(i).ok_or_else(|| {
            DatasetError::config(
                "SpikingHeidelbergDigits",
                format!("index {i} out of range for {} samples", f.labels.len()),
            )
        })?;
        Ok((f.events(i)?, label))
    }

    /// The frames of sample `i` (frame data types only) and its label.
    pub fn get_frames(&self, i: usize) -> Result<(Tensor, i64)> {
        let (path, label) = self.frames.get(i).ok_or_else(|| {
            DatasetError::config(
                "SpikingHeidelbergDigits",
                format!(
                    "index {i} out of range for {} frame samples (opened with events?)",
                    self.frames.len()
                ),
            )
        })?;
        Ok((load_npz_frames(path)?, *label))
    }
}

/// Frame SHD datasets plug into [`DataLoader`](crate::DataLoader) and [`summary`](crate::summary);
/// `get` on an event dataset is an error (use [`SpikingHeidelbergDigits::get_events`]).
impl Dataset for SpikingHeidelbergDigits {
    fn len(&self) -> usize {
        SpikingHeidelbergDigits::len(self)
    }
    fn get(&self, index: usize) -> Result<(Tensor, i64)> {
        self.get_frames(index)
    }
    fn classes(&self) -> Vec<String> {
        (0..SHD_CLASSES).map(|c| c.to_string()).collect()
    }
    fn targets(&self) -> Result<Vec<i64>> {
        Ok(SpikingHeidelbergDigits::targets(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::shd_h5;

    #[test]
    fn checklist_257_shd_frames_by_number_time_and_duration() {
        let e = ShdEvents {
            t: vec![0.0, 0.1, 0.25, 0.3, 0.9],
            x: vec![0, 1, 1, 699, 2],
        };
        let f = integrate_events_by_fixed_frames_number_shd(&e, SplitBy::Number, 2, SHD_W).unwrap();
        assert_eq!(f.size(), [2, 700]);
        // 'number': ⌊5/2⌋ = 2 -> [0,2), [2,5). 'time': dt = 0.45 -> [0,0.45) holds 4 spikes, the rest 1.
        assert_eq!(
            Vec::<f32>::try_from(&f.get(0).narrow(0, 0, 3)).unwrap(),
            [1., 1., 0.]
        );
        assert_eq!(f.get(1).double_value(&[699]), 1.0);
        assert_eq!(
            cal_fixed_frames_number_segment_index_shd(&e.t, SplitBy::Time, 2).unwrap(),
            (vec![0, 4], vec![4, 5])
        );
        // Duration 0.2 s: {0, 0.1}, {0.25, 0.3}, {0.9}.
        let d = integrate_events_by_fixed_duration_shd(&e, 0.2, SHD_W).unwrap();
        assert_eq!(d.size(), [3, 700]);
        assert_eq!(d.get(2).double_value(&[2]), 1.0);
        assert!(integrate_events_by_fixed_frames_number_shd(
            &ShdEvents {
                t: vec![0.0],
                x: vec![700]
            },
            SplitBy::Number,
            1,
            SHD_W
        )
        .is_err());
        tch::manual_seed(0);
        assert_eq!(
            custom_integrate_function_example(&e, SHD_W)
                .unwrap()
                .sum(tch::Kind::Float)
                .double_value(&[]),
            5.0
        );
    }

    #[test]
    fn reads_h5_samples_and_caches_frames() {
        let root = crate::neuromorphic::tests::test_dir("shd");
        std::fs::create_dir_all(root.join("extract")).unwrap();
        shd_h5(
            &root.join("extract/shd_train.h5"),
            &[(&[0.0, 0.5, 1.0], &[3, 4, 3], 7), (&[0.25], &[699], 19)],
        )
        .unwrap();
        shd_h5(
            &root.join("extract/shd_test.h5"),
            &[(&[0.125, 0.75], &[0, 1], 0)],
        )
        .unwrap();
        let ev = SpikingHeidelbergDigits::new(&root, true, ShdDataType::Event).unwrap();
        assert_eq!((ev.len(), ev.targets()), (2, vec![7, 19]));
        let (e, label) = ev.get_events(0).unwrap();
        assert_eq!((e.t, e.x, label), (vec![0.0, 0.5, 1.0], vec![3, 4, 3], 7));
        assert!(ev.get_events(2).is_err() && ev.get_frames(0).is_err());
        let fr = SpikingHeidelbergDigits::new(
            &root,
            false,
            ShdDataType::FramesNumber {
                frames_number: 2,
                split_by: SplitBy::Time,
            },
        )
        .unwrap();
        assert!(root
            .join("frames_number_2_split_by_time/train/19/1.npz")
            .is_file());
        let (f, label) = fr.get_frames(0).unwrap();
        assert_eq!((f.size(), label), (vec![2, 700], 0));
        assert_eq!(
            (f.double_value(&[0, 0]), f.double_value(&[1, 1])),
            (1.0, 1.0)
        );
        // A file that is not HDF5 names itself.
        std::fs::write(root.join("extract/shd_test.h5"), b"not hdf5").unwrap();
        let err = SpikingHeidelbergDigits::new(&root, false, ShdDataType::Event)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("shd_test.h5") && err.contains("not a readable SHD HDF5 file"),
            "{err}"
        );
    }
}
