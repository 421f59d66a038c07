//! Event-to-frame integration (SpikingJelly's `integrate_events_*` functions): count events per
//! pixel and polarity into `[2, H, W]` frames, over segments chosen by a fixed frame count (split
//! by event number or by time) or by a fixed duration, or by a custom function.
//!
//! Frames are `f32` tensors `[F, 2, H, W]`; channel 0 counts `p == 0`, channel 1 every other `p`.
//! Where SpikingJelly raises on degenerate input (an empty time window, no events for a
//! fixed duration), sj gives an empty frame or an error respectively; events outside the frame are
//! an error (numpy would silently wrap `x >= W` into the next row).
//!
//! Sizes are checked before anything is allocated: at most [`MAX_FRAMES_NUMBER`] frames for a
//! fixed frame count, and at most [`MAX_FRAME_VALUES`] values (`F · 2 · H · W`) in one result; a
//! larger request is an error naming the function, not an allocation that aborts the process.
use super::events::Events;
use super::npy::{read_npz, take_key, write_npz, NpyArray, NpyData};
use crate::error::{DatasetError, Result};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// How a fixed number of frames splits the events: `'number'` (equal event counts) or `'time'`
/// (equal time spans).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitBy {
    /// `split_by='number'`.
    Number,
    /// `split_by='time'`.
    Time,
}

impl fmt::Display for SplitBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SplitBy::Number => "number",
            SplitBy::Time => "time",
        })
    }
}

impl FromStr for SplitBy {
    type Err = DatasetError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "number" => Ok(SplitBy::Number),
            "time" => Ok(SplitBy::Time),
            _ => Err(DatasetError::config(
                "split_by",
                format!("{s:?} is neither 'number' nor 'time'"),
            )),
        }
    }
}

/// The most frames a fixed frame count may ask for (2^20; SpikingJelly's settings use 4 to a few
/// hundred): [`cal_fixed_frames_number_segment_index`] returns two indices per frame.
pub const MAX_FRAMES_NUMBER: usize = 1 << 20;

/// The most values one frames result may hold (2^32 `f32`, 16 GiB).
pub const MAX_FRAME_VALUES: usize = 1 << 32;

/// Errors (naming `what`) unless `1 <= frames_num <= MAX_FRAMES_NUMBER`.
pub(crate) fn check_frames_num(what: &str, frames_num: usize) -> Result<()> {
    if frames_num == 0 || frames_num > MAX_FRAMES_NUMBER {
        return Err(DatasetError::config(
            what,
            format!("frames_number must be between 1 and {MAX_FRAMES_NUMBER} (MAX_FRAMES_NUMBER), got {frames_num}"),
        ));
    }
    Ok(())
}

/// `frames · per_frame`, the number of values of a frames result, or an error naming `what` when
/// it overflows or exceeds [`MAX_FRAME_VALUES`].
pub(crate) fn frame_values(what: &str, frames: usize, per_frame: usize) -> Result<usize> {
    frames.checked_mul(per_frame).filter(|&n| n <= MAX_FRAME_VALUES).ok_or_else(|| {
        DatasetError::config(
            what,
            format!(
                "{frames} frames of {per_frame} values exceed the {MAX_FRAME_VALUES}-value limit (MAX_FRAME_VALUES, 16 GiB of f32); \
                 ask for fewer frames, a longer duration or a smaller frame"
            ),
        )
    })
}

/// A user integration function `(events, H, W) -> frames` (SpikingJelly's
/// `custom_integrate_function`); its frames are cached under the folder name given with it.
pub type CustomIntegrate = Arc<dyn Fn(&Events, usize, usize) -> Result<Tensor> + Send + Sync>;

/// Adds the events with index in `[j_l, j_r)` to `frame` (`[2, H, W]`, flat).
fn accumulate(
    events: &Events,
    h: usize,
    w: usize,
    j_l: usize,
    j_r: usize,
    frame: &mut [f32],
) -> Result<()> {
    for i in j_l..j_r {
        let (x, y) = (events.x[i] as usize, events.y[i] as usize);
        if x >= w || y >= h {
            return Err(DatasetError::config(
                "integrate_events_segment_to_frame",
                format!("event {i} at (x={x}, y={y}) lies outside the {h} x {w} (H x W) frame"),
            ));
        }
        let c = (events.p[i] != 0) as usize;
        frame[(c * h + y) * w + x] += 1.0;
    }
    Ok(())
}

/// Errors (naming `what`) unless `events` is consistent, `H x W` is a possible frame and
/// `[j_l, j_r)` lies inside the events.
fn check_segment(
    what: &str,
    events: &Events,
    h: usize,
    w: usize,
    j_l: usize,
    j_r: usize,
) -> Result<()> {
    events.validate()?;
    if h == 0 || w == 0 {
        return Err(DatasetError::config(
            what,
            format!("frame size {h} x {w} must be positive"),
        ));
    }
    frame_values(what, 1, 2usize.saturating_mul(h).saturating_mul(w))?;
    if j_l > j_r || j_r > events.len() {
        return Err(DatasetError::config(
            what,
            format!(
                "segment [{j_l}, {j_r}) is not inside the {} events",
                events.len()
            ),
        ));
    }
    Ok(())
}

/// An `[F, 2, H, W]` float tensor of zeros that `fill` counts into directly, `F` flat `[2, H, W]`
/// frames (no copy from a `Vec`; zeroed here rather than by libtorch's parallel fill, which costs
/// more than counting a small sample's events). `what` names the caller in a size error.
fn frames_tensor(
    what: &str,
    f: usize,
    h: usize,
    w: usize,
    fill: impl FnOnce(&mut [f32]) -> Result<()>,
) -> Result<Tensor> {
    // Checked first: every dimension below then fits in i64 and the product cannot overflow.
    let n = frame_values(what, f, 2usize.saturating_mul(h).saturating_mul(w))?;
    let frames = Tensor::f_empty(
        [f as i64, 2, h as i64, w as i64],
        (Kind::Float, Device::Cpu),
    )?;
    let ptr = frames.data_ptr() as *mut f32;
    let data: &mut [f32] = if n == 0 {
        &mut []
    } else if ptr.is_null() {
        return Err(DatasetError::config(
            what,
            format!("libtorch returned no storage for {n} frame values"),
        ));
    } else {
        // SAFETY: `ptr` is the non-null start of a fresh contiguous float32 CPU tensor of `n`
        // elements that nothing else references while `data` lives.
        unsafe { std::slice::from_raw_parts_mut(ptr, n) }
    };
    data.fill(0.0);
    fill(data)?;
    Ok(frames)
}

/// `integrate_events_segment_to_frame(x, y, p, H, W, j_l, j_r)`: the `[2, H, W]` frame counting
/// the events with index in `[j_l, j_r)`, `F(p, x, y) = Σ_i 1[(p, x, y) = (p_i, x_i, y_i)]`.
pub fn integrate_events_segment_to_frame(
    events: &Events,
    h: usize,
    w: usize,
    j_l: usize,
    j_r: usize,
) -> Result<Tensor> {
    let what = "integrate_events_segment_to_frame";
    check_segment(what, events, h, w, j_l, j_r)?;
    Ok(frames_tensor(what, 1, h, w, |frame| {
        accumulate(events, h, w, j_l, j_r, frame)
    })?
    .f_squeeze_dim(0)?)
}

/// The segments `[j_l, j_r)` of `frames_num` windows of `[t_l(j), t_r(j))` given by `bounds`:
/// SpikingJelly's mask semantics (`j_l` = first index in the window, `j_r` = last + 1, the last
/// `j_r` is `N`). An empty window gives an empty segment; an empty last window starts at the first
/// event at or after its start.
pub(crate) fn time_segments<T: Copy + PartialOrd>(
    t: &[T],
    frames_num: usize,
    bounds: impl Fn(usize) -> (T, T),
) -> (Vec<usize>, Vec<usize>) {
    let n = t.len();
    let sorted = t.windows(2).all(|w| w[0] <= w[1]);
    let (mut j_l, mut j_r) = (vec![0; frames_num], vec![0; frames_num]);
    for j in 0..frames_num {
        let (lo, hi) = bounds(j);
        let inside = |v: T| v >= lo && v < hi;
        let (first, last) = if sorted {
            let a = t.partition_point(|&v| v < lo);
            let b = a + t[a..].partition_point(|&v| v < hi);
            (a, b)
        } else {
            match t.iter().position(|&v| inside(v)) {
                Some(a) => (a, t.iter().rposition(|&v| inside(v)).map_or(a, |b| b + 1)),
                None => (0, 0),
            }
        };
        if first < last {
            (j_l[j], j_r[j]) = (first, last);
        } else if j + 1 == frames_num {
            j_l[j] = t.iter().position(|&v| v >= lo).unwrap_or(n);
        }
    }
    if let Some(r) = j_r.last_mut() {
        *r = n;
    }
    (j_l, j_r)
}

/// The `'number'` split: `j_l = ⌊N/M⌋·j`, `j_r = ⌊N/M⌋·(j+1)`, the last `j_r = N`.
pub(crate) fn number_segments(n: usize, frames_num: usize) -> (Vec<usize>, Vec<usize>) {
    let di = n / frames_num.max(1);
    let j_l: Vec<usize> = (0..frames_num).map(|j| j * di).collect();
    let mut j_r: Vec<usize> = (0..frames_num).map(|j| (j + 1) * di).collect();
    if let Some(r) = j_r.last_mut() {
        *r = n;
    }
    (j_l, j_r)
}

/// `cal_fixed_frames_number_segment_index(events_t, split_by, frames_num) -> (j_l, j_r)`.
/// `'time'` uses `ΔT = ⌊(t_{N-1} − t_0)/M⌋` (integer division, as SpikingJelly) and windows
/// `[t_0 + ΔT·j, t_0 + ΔT·(j+1))`.
pub fn cal_fixed_frames_number_segment_index(
    events_t: &[i64],
    split_by: SplitBy,
    frames_num: usize,
) -> Result<(Vec<usize>, Vec<usize>)> {
    check_frames_num("cal_fixed_frames_number_segment_index", frames_num)?;
    Ok(match (split_by, events_t.first(), events_t.last()) {
        (SplitBy::Time, Some(&t0), Some(&t1)) => {
            let dt = t1.saturating_sub(t0).div_euclid(frames_num as i64);
            time_segments(events_t, frames_num, |j| {
                let lo = t0.saturating_add(dt.saturating_mul(j as i64));
                (lo, lo.saturating_add(dt))
            })
        }
        _ => number_segments(events_t.len(), frames_num),
    })
}

/// `integrate_events_by_fixed_frames_number(events, split_by, frames_num, H, W)`: `[M, 2, H, W]`.
pub fn integrate_events_by_fixed_frames_number(
    events: &Events,
    split_by: SplitBy,
    frames_num: usize,
    h: usize,
    w: usize,
) -> Result<Tensor> {
    let what = "integrate_events_by_fixed_frames_number";
    check_segment(what, events, h, w, 0, 0)?;
    check_frames_num(what, frames_num)?;
    frame_values(what, frames_num, 2 * h * w)?;
    let (j_l, j_r) = cal_fixed_frames_number_segment_index(&events.t, split_by, frames_num)?;
    frames_tensor(what, frames_num, h, w, |frames| {
        for (j, chunk) in frames.chunks_exact_mut(2 * h * w).enumerate() {
            accumulate(events, h, w, j_l[j], j_r[j], chunk)?;
        }
        Ok(())
    })
}

/// The greedy fixed-duration windows: from `left`, extend `right` while `t[right] − t[left] ≤
/// duration`, emit `[left, right)`, continue from `right` until `N`.
pub(crate) fn duration_segments<T: Copy + PartialOrd + std::ops::Sub<Output = T>>(
    t: &[T],
    duration: T,
) -> Vec<(usize, usize)> {
    let (n, mut left, mut right) = (t.len(), 0, 0);
    let mut out = Vec::new();
    while left < n {
        while right < n
            && (t[right] - t[left]).partial_cmp(&duration) != Some(std::cmp::Ordering::Greater)
        {
            right += 1;
        }
        right = right.max(left + 1);
        out.push((left, right));
        left = right;
    }
    out
}

/// `integrate_events_by_fixed_duration(events, duration, H, W)`: `[T, 2, H, W]` with a variable
/// number of frames (about ⌈L/duration⌉ for a recording of length L). Needs at least one event
/// and `duration >= 0` (SpikingJelly raises on no events and loops forever on a negative duration).
pub fn integrate_events_by_fixed_duration(
    events: &Events,
    duration: i64,
    h: usize,
    w: usize,
) -> Result<Tensor> {
    let what = "integrate_events_by_fixed_duration";
    if duration < 0 || events.is_empty() {
        return Err(DatasetError::config(
            what,
            format!(
                "needs duration >= 0 (got {duration}) and at least one event (got {})",
                events.len()
            ),
        ));
    }
    check_segment(what, events, h, w, 0, 0)?;
    let segments = duration_segments(&events.t, duration);
    frames_tensor(what, segments.len(), h, w, |frames| {
        for (&(a, b), chunk) in segments.iter().zip(frames.chunks_exact_mut(2 * h * w)) {
            accumulate(events, h, w, a, b, chunk)?;
        }
        Ok(())
    })
}

/// The flat `f32` values and shape of a CPU copy of `frames`.
pub(crate) fn tensor_values(frames: &Tensor) -> Result<(Vec<usize>, Vec<f32>)> {
    let shape: Vec<usize> = frames.size().iter().map(|&s| s as usize).collect();
    let flat = frames
        .f_to_kind(tch::Kind::Float)?
        .f_to_device(tch::Device::Cpu)?
        .f_contiguous()?
        .f_flatten(0, -1)?;
    Ok((shape, Vec::<f32>::try_from(&flat)?))
}

/// `save_frames_to_npz_and_print(fname, frames)` without the print: an `.npz` with key `frames`
/// (`<f4`), compressed, written to a temporary name and then renamed.
pub fn save_frames_to_npz(file: impl AsRef<Path>, frames: &Tensor) -> Result<()> {
    let (shape, values) = tensor_values(frames)?;
    write_npz(
        file,
        &[(
            "frames",
            &NpyArray {
                shape,
                data: NpyData::F32(values),
            },
        )],
        true,
    )
}

/// `load_npz_frames(file_name)`: the `frames` array of an `.npz` as an `f32` tensor of its shape.
pub fn load_npz_frames(file: impl AsRef<Path>) -> Result<Tensor> {
    let file = file.as_ref();
    let frames = || -> Result<Tensor> {
        let mut arrays = read_npz(file)?;
        let a = take_key(&mut arrays, "frames", file)?;
        Ok(a.to_tensor()?.f_to_kind(Kind::Float)?)
    };
    frames().map_err(|e| e.in_reader("load_npz_frames"))
}

/// `integrate_events_file_to_frames_file_by_fixed_frames_number(loader, events_np_file,
/// output_dir, split_by, frames_num, H, W)`: saves `output_dir/<same file name>`.
pub fn integrate_events_file_to_frames_file_by_fixed_frames_number(
    loader: &dyn Fn(&Path) -> Result<Events>,
    events_np_file: &Path,
    output_dir: &Path,
    split_by: SplitBy,
    frames_num: usize,
    h: usize,
    w: usize,
) -> Result<()> {
    let frames = integrate_events_by_fixed_frames_number(
        &loader(events_np_file)?,
        split_by,
        frames_num,
        h,
        w,
    )
    .map_err(|e| in_file(events_np_file, e))?;
    save_frames_to_npz(output_dir.join(file_name(events_np_file)?), &frames)
}

/// `integrate_events_file_to_frames_file_by_fixed_duration(loader, events_np_file, output_dir,
/// duration, H, W)`: saves `output_dir/<stem>_<T>.npz` and returns the number of frames `T`.
pub fn integrate_events_file_to_frames_file_by_fixed_duration(
    loader: &dyn Fn(&Path) -> Result<Events>,
    events_np_file: &Path,
    output_dir: &Path,
    duration: i64,
    h: usize,
    w: usize,
) -> Result<usize> {
    let frames = integrate_events_by_fixed_duration(&loader(events_np_file)?, duration, h, w)
        .map_err(|e| in_file(events_np_file, e))?;
    let t = frames.size()[0] as usize;
    let stem = events_np_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    save_frames_to_npz(output_dir.join(format!("{stem}_{t}.npz")), &frames)?;
    Ok(t)
}

/// The file name of `path`, or an error.
pub(crate) fn file_name(path: &Path) -> Result<&std::ffi::OsStr> {
    path.file_name().ok_or_else(|| {
        DatasetError::config("integrate", format!("{} has no file name", path.display()))
    })
}

/// Prefixes a configuration error with the file it came from.
pub(crate) fn in_file(file: &Path, e: DatasetError) -> DatasetError {
    match e {
        DatasetError::Config { what, message } => DatasetError::Config {
            what: format!("{}: {what}", file.display()),
            message,
        },
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: &Tensor) -> Vec<f32> {
        tensor_values(t).unwrap().1
    }

    /// Six events on a 2 x 3 frame (H = 2, W = 3).
    fn tiny() -> Events {
        Events::new(
            vec![0, 1, 2, 6, 7, 9],
            vec![0, 2, 0, 1, 2, 0],
            vec![0, 1, 0, 1, 0, 1],
            vec![0, 1, 0, 1, 1, 0],
        )
        .unwrap()
    }

    #[test]
    fn checklist_232_segment_counts_per_pixel_and_polarity() {
        let f = integrate_events_segment_to_frame(&tiny(), 2, 3, 0, 6).unwrap();
        assert_eq!(f.size(), [2, 2, 3]);
        // p = 0: events 0, 2 at (0,0) and 5 at (x=0, y=1); p = 1: event 1 at (2,1), 3 at (1,1), 4 at (2,0).
        assert_eq!(values(&f), [2., 0., 0., 1., 0., 0., 0., 0., 1., 0., 1., 1.]);
        assert_eq!(
            values(&integrate_events_segment_to_frame(&tiny(), 2, 3, 2, 2).unwrap()),
            [0.0; 12]
        );
        assert!(integrate_events_segment_to_frame(&tiny(), 2, 3, 4, 7).is_err());
        let e = integrate_events_segment_to_frame(&tiny(), 2, 2, 0, 6)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("event 1 at (x=2, y=1)") && e.contains("2 x 2"),
            "{e}"
        );
    }

    #[test]
    fn checklist_233_segment_index_by_number_and_time() {
        // N = 6, M = 4: ⌊6/4⌋ = 1, so [0,1) [1,2) [2,3) [3,6).
        let t = tiny().t;
        assert_eq!(
            cal_fixed_frames_number_segment_index(&t, SplitBy::Number, 4).unwrap(),
            (vec![0, 1, 2, 3], vec![1, 2, 3, 6])
        );
        // 'time', M = 3: ΔT = ⌊9/3⌋ = 3, windows [0,3) [3,6) [6,9): indices 0..3, none, 3..5 -> last j_r = N.
        assert_eq!(
            cal_fixed_frames_number_segment_index(&t, SplitBy::Time, 3).unwrap(),
            (vec![0, 0, 3], vec![3, 0, 6])
        );
        // 'time', M = 2: ΔT = 4, [0,4) -> 0..3, [4,8) -> 3..5 then j_r = 6.
        assert_eq!(
            cal_fixed_frames_number_segment_index(&t, SplitBy::Time, 2).unwrap(),
            (vec![0, 3], vec![3, 6])
        );
        // Unsorted timestamps use the mask: first and last index inside the window.
        // t = [0, 7, 2, 9, 4], M = 2: ΔT = ⌊4/2⌋ = 2; [0,2) holds index 0 only, [2,4) index 2 (then j_r = N).
        let u = [0i64, 7, 2, 9, 4];
        assert_eq!(
            cal_fixed_frames_number_segment_index(&u, SplitBy::Time, 2).unwrap(),
            (vec![0, 2], vec![1, 5])
        );
        assert!(cal_fixed_frames_number_segment_index(&t, SplitBy::Time, 0).is_err());
        assert_eq!("time".parse::<SplitBy>().unwrap(), SplitBy::Time);
        assert!("frames".parse::<SplitBy>().is_err());
    }

    #[test]
    fn checklist_234_frames_by_number_and_time() {
        let f = integrate_events_by_fixed_frames_number(&tiny(), SplitBy::Number, 2, 2, 3).unwrap();
        assert_eq!(f.size(), [2, 2, 2, 3]);
        // Frame 0 = events 0..3: (0,0) p0 twice, (2,1) p1. Frame 1 = events 3..6.
        assert_eq!(
            values(&f.get(0)),
            [2., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 1.]
        );
        assert_eq!(
            values(&f.get(1)),
            [0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 1., 0.]
        );
        let g = integrate_events_by_fixed_frames_number(&tiny(), SplitBy::Time, 3, 2, 3).unwrap();
        assert_eq!(
            values(&g.get(0)),
            values(&f.get(0)),
            "[0,3) holds events 0..3"
        );
        assert_eq!(values(&g.get(1)), [0.0; 12], "[3,6) is empty");
        assert_eq!(values(&g.get(2)), values(&f.get(1)));
        // Number split with fewer events than frames: all but the last frame are empty.
        let h = integrate_events_by_fixed_frames_number(&tiny(), SplitBy::Number, 8, 2, 3).unwrap();
        assert_eq!(h.sum(tch::Kind::Float).double_value(&[]), 6.0);
        assert_eq!(h.get(7).sum(tch::Kind::Float).double_value(&[]), 6.0);
    }

    #[test]
    fn checklist_236_frames_by_duration() {
        // duration 3: windows from t=0: {0,1,2} (6-0 > 3 stops), from t=6: {6,7,9}: 2 frames.
        let f = integrate_events_by_fixed_duration(&tiny(), 3, 2, 3).unwrap();
        assert_eq!(f.size(), [2, 2, 2, 3]);
        assert_eq!(
            values(&f.get(0)),
            [2., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 1.]
        );
        // duration 2: {0,1,2}, {6,7}, {9}.
        let g = integrate_events_by_fixed_duration(&tiny(), 2, 2, 3).unwrap();
        assert_eq!(g.size()[0], 3);
        assert_eq!(
            values(&g.get(2)),
            [0., 0., 0., 1., 0., 0., 0., 0., 0., 0., 0., 0.]
        );
        // duration 0 groups equal timestamps only.
        assert_eq!(
            integrate_events_by_fixed_duration(&tiny(), 0, 2, 3)
                .unwrap()
                .size()[0],
            6
        );
        assert!(integrate_events_by_fixed_duration(&Events::default(), 3, 2, 3).is_err());
        assert!(integrate_events_by_fixed_duration(&tiny(), -1, 2, 3).is_err());
        let broken = Events {
            p: vec![0],
            ..tiny()
        };
        assert!(integrate_events_by_fixed_duration(&broken, 3, 2, 3)
            .unwrap_err()
            .to_string()
            .contains("lengths 6, 6, 6, 1"));
        assert!(integrate_events_by_fixed_frames_number(&broken, SplitBy::Time, 2, 2, 3).is_err());
    }

    #[test]
    fn absurd_sizes_are_errors_naming_the_function() {
        for split_by in [SplitBy::Number, SplitBy::Time] {
            let e = integrate_events_by_fixed_frames_number(&tiny(), split_by, 1 << 40, 2, 3)
                .unwrap_err()
                .to_string();
            assert!(e.contains("integrate_events_by_fixed_frames_number: frames_number must be between 1 and 1048576 (MAX_FRAMES_NUMBER), got 1099511627776"), "{e}");
            let e = cal_fixed_frames_number_segment_index(&tiny().t, split_by, 1 << 40)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("cal_fixed_frames_number_segment_index: frames_number must be"),
                "{e}"
            );
        }
        // 2^20 frames of 2 x 2^10 x 2^10 values: 2^41 values, checked before any allocation.
        let e = integrate_events_by_fixed_frames_number(
            &tiny(),
            SplitBy::Time,
            1 << 20,
            1 << 10,
            1 << 10,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("integrate_events_by_fixed_frames_number: 1048576 frames of 2097152 values exceed the 4294967296-value limit"), "{e}");
        // H x W that overflows, and a fixed duration that makes 6 frames of 2^31 values.
        let e = integrate_events_segment_to_frame(&tiny(), usize::MAX, usize::MAX, 0, 6)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "integrate_events_segment_to_frame: 1 frames of 18446744073709551615 values exceed"
            ),
            "{e}"
        );
        let e = integrate_events_by_fixed_duration(&tiny(), 0, 1 << 15, 1 << 15)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "integrate_events_by_fixed_duration: 6 frames of 2147483648 values exceed"
            ),
            "{e}"
        );
    }

    /// Per frame `[OFF, ON]` counts and `Σ_i (v_i · i mod 997)` over the flat frames.
    fn counts_and_checksum(f: &Tensor) -> (Vec<[i64; 2]>, f64) {
        let v = values(f);
        let per = 2 * 34 * 34;
        let counts = v
            .chunks(per)
            .map(|c| {
                [
                    c[..per / 2].iter().sum::<f32>() as i64,
                    c[per / 2..].iter().sum::<f32>() as i64,
                ]
            })
            .collect();
        (
            counts,
            v.iter()
                .enumerate()
                .map(|(i, &x)| (x as f64 * i as f64) % 997.0)
                .sum(),
        )
    }

    #[test]
    fn matches_spikingjelly_on_the_real_nmnist_sample() {
        // Reference values from SpikingJelly 0.0.0.0.14's own functions run on sample_nmnist.bin.
        let e = crate::neuromorphic::load_atis_bin(crate::neuromorphic::tests::sample_nmnist())
            .unwrap();
        let (counts, sum) = counts_and_checksum(
            &integrate_events_by_fixed_frames_number(&e, SplitBy::Number, 10, 34, 34).unwrap(),
        );
        assert_eq!(
            counts,
            [
                [216, 216],
                [216, 216],
                [213, 219],
                [225, 207],
                [217, 215],
                [214, 218],
                [217, 215],
                [225, 207],
                [214, 218],
                [223, 214]
            ]
        );
        assert_eq!(sum, 1016591.0);
        let (counts, sum) = counts_and_checksum(
            &integrate_events_by_fixed_frames_number(&e, SplitBy::Time, 10, 34, 34).unwrap(),
        );
        assert_eq!(
            counts,
            [
                [103, 95],
                [390, 399],
                [187, 186],
                [99, 92],
                [331, 323],
                [191, 196],
                [91, 88],
                [228, 220],
                [436, 419],
                [124, 127]
            ]
        );
        assert_eq!(sum, 944863.0);
        let (j_l, j_r) = cal_fixed_frames_number_segment_index(&e.t, SplitBy::Time, 10).unwrap();
        assert_eq!(j_l, [0, 198, 987, 1360, 1551, 2205, 2592, 2771, 3219, 4074]);
        assert_eq!(
            j_r,
            [198, 987, 1360, 1551, 2205, 2592, 2771, 3219, 4074, 4325]
        );
        let d = integrate_events_by_fixed_duration(&e, 100_000, 34, 34).unwrap();
        let totals: Vec<i64> = counts_and_checksum(&d)
            .0
            .iter()
            .map(|c| c[0] + c[1])
            .collect();
        assert_eq!(totals, [1373, 1288, 1645, 19]);
        assert_eq!(d.max().double_value(&[]), 10.0);
        let totals: Vec<i64> =
            counts_and_checksum(&integrate_events_by_fixed_duration(&e, 30_000, 34, 34).unwrap())
                .0
                .iter()
                .map(|c| c[0] + c[1])
                .collect();
        assert_eq!(
            totals,
            [180, 754, 421, 171, 620, 423, 183, 309, 885, 369, 10]
        );
    }

    #[test]
    fn checklist_235_237_241_frame_files() {
        let dir = crate::neuromorphic::tests::test_dir("frame_files");
        let ev = dir.join("s0.npz");
        tiny().save_npz(&ev).unwrap();
        let loader = |p: &Path| Events::load_npz(p);
        let out = dir.join("out");
        std::fs::create_dir(&out).unwrap();
        integrate_events_file_to_frames_file_by_fixed_frames_number(
            &loader,
            &ev,
            &out,
            SplitBy::Number,
            2,
            2,
            3,
        )
        .unwrap();
        let f = load_npz_frames(out.join("s0.npz")).unwrap();
        assert_eq!(
            values(&f),
            values(
                &integrate_events_by_fixed_frames_number(&tiny(), SplitBy::Number, 2, 2, 3)
                    .unwrap()
            )
        );
        assert_eq!(
            integrate_events_file_to_frames_file_by_fixed_duration(&loader, &ev, &out, 2, 2, 3)
                .unwrap(),
            3
        );
        assert_eq!(
            load_npz_frames(out.join("s0_3.npz")).unwrap().size(),
            [3, 2, 2, 3]
        );
        let e = integrate_events_file_to_frames_file_by_fixed_duration(&loader, &ev, &out, 2, 1, 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("s0.npz") && e.contains("outside"), "{e}");
    }
}
