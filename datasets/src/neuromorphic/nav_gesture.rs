//! NAV Gesture (240 x 304, 6 classes, no official split): ATIS `_td.dat` recordings (kAER).
//!
//! Optional `%` header lines, then (only after a header) an event-type byte and an event-size byte
//! (must be 8); then 64-bit little-endian events: `t` = bits 0–31, `x` = bits 32–40, `y` = bits
//! 41–48, `p` = bit 49. On load `y` is flipped (`y = 239 − y`); the label is the second
//! `_`-separated token of the file name (`le ri up do ho se`).
use super::events::{narrow, Events};
use super::folder::{collect_files, extract_nested_zips, NeuromorphicSource, Resource};
use super::io::{create_dir, read_file, Bytes};
use super::parallel::par_for_each;
use crate::error::{DatasetError, Result};
use std::path::{Path, PathBuf};

/// The six gesture labels: left, right, up, down, home, select.
pub const NAV_GESTURE_LABELS: [&str; 6] = ["le", "ri", "up", "do", "ho", "se"];

/// What [`read_atis_tddat`] returns: SpikingJelly's `(timestamps, coords, polarities, removed_events)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TdDat {
    /// Timestamps (µs).
    pub timestamps: Vec<i64>,
    /// Column of each event.
    pub x: Vec<u16>,
    /// Row of each event (as recorded, not flipped).
    pub y: Vec<u16>,
    /// Polarities.
    pub polarities: Vec<u8>,
    /// Events removed by `drop_negative_dt`, or −1 when it is off.
    pub removed_events: i64,
}

/// `readATIS_tddat(file_name, orig_at_zero, drop_negative_dt, verbose=False, events_restriction)`:
/// the events with index in `events_restriction.0 ..= events_restriction.1` (to the end when
/// `None`), in file order; with `orig_at_zero` timestamps start at 0; with `drop_negative_dt` every
/// event whose timestamp is below an earlier kept one is removed and counted in `removed_events`
/// (−1 without it, when the events come back as recorded).
///
/// This is what the source (NAV Gesture's `read_td_events.py`, copied unchanged into SpikingJelly)
/// means to do. Its loop stores event `i` at slot `i` only when its timestamp is not below slot
/// `i − 1`, then keeps the first "number accepted" slots: after a backwards timestamp it keeps a
/// bogus all-zero event (the rejected event's empty slot) and drops as many valid events from the
/// end, and with `events_restriction.0 > 0` it returns empty leading slots instead of the
/// requested events. sj keeps the events themselves. Where the source has no such slot (the
/// defaults on a file whose timestamps never decrease) both give the same events; with the
/// defaults `removed_events` counts the same backwards events, because the source's removal
/// passes keep exactly the events not below any earlier one, which is the single pass here. A
/// trailing partial event is an error (the source ignores it).
pub fn read_atis_tddat(
    file: impl AsRef<Path>,
    orig_at_zero: bool,
    drop_negative_dt: bool,
    events_restriction: (usize, Option<usize>),
) -> Result<TdDat> {
    let file = file.as_ref();
    read_td(file, orig_at_zero, drop_negative_dt, events_restriction)
        .map_err(|e| e.in_reader("read_atis_tddat"))
}

fn read_td(
    file: &Path,
    orig_at_zero: bool,
    drop_negative_dt: bool,
    (first, last): (usize, Option<usize>),
) -> Result<TdDat> {
    let data = read_file(file)?;
    let mut b = Bytes::new(file, &data);
    let mut header = false;
    while b.peek() == Some(b'%') {
        b.line();
        header = true;
    }
    if header {
        let _ev_type = b.u8("event type")?;
        let at = b.pos();
        let ev_size = b.u8("event size")?;
        if ev_size != 8 {
            return Err(b.error_at(
                at,
                format!("event size {ev_size}, only 8-byte events are supported"),
            ));
        }
    }
    let start = b.pos();
    if b.remaining() % 8 != 0 {
        return Err(b.error_at(
            start + b.remaining() / 8 * 8,
            format!("truncated event: {} bytes left over", b.remaining() % 8),
        ));
    }
    let n = b.remaining() / 8;
    let end = last.map_or(n, |l| l.saturating_add(1).min(n));
    let mut d = TdDat {
        removed_events: if drop_negative_dt { 0 } else { -1 },
        ..TdDat::default()
    };
    b.seek(start + first.min(n) * 8)?;
    for _ in first.min(end)..end {
        let ev = b.u64_le("event")?;
        let t = (ev & 0xFFFF_FFFF) as i64;
        if drop_negative_dt && d.timestamps.last().is_some_and(|&prev| t < prev) {
            d.removed_events += 1;
            continue;
        }
        d.timestamps.push(t);
        d.polarities
            .push(((ev & 0x0002_0000_0000_0000) >> 49) as u8);
        d.y.push(((ev & 0x0001_FE00_0000_0000) >> 41) as u16);
        d.x.push(((ev & 0x0000_01FF_0000_0000) >> 32) as u16);
    }
    if orig_at_zero {
        if let Some(&t0) = d.timestamps.first() {
            d.timestamps.iter_mut().for_each(|t| *t -= t0);
        }
    }
    Ok(d)
}

/// The NAV Gesture datasets (SpikingJelly's `NAVGestureWalk` and `NAVGestureSit`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NAVGesture {
    /// `NAVGestureWalk`: `navgesture-walk.zip`.
    #[default]
    Walk,
    /// `NAVGestureSit`: `navgesture-sit.zip`.
    Sit,
}

impl NAVGesture {
    /// `load_origin_data(file_name)`: `read_atis_tddat` with the defaults, then `y = 239 − y`.
    pub fn load_origin_data(file: impl AsRef<Path>) -> Result<Events> {
        let file = file.as_ref();
        let flipped = || {
            let d = read_atis_tddat(file, true, true, (0, None))?;
            let y: Vec<i64> = d.y.iter().map(|&y| 239 - y as i64).collect();
            Events::new(
                d.timestamps,
                d.x,
                narrow(&y, &file.display().to_string(), "239 - y")?,
                d.polarities,
            )
        };
        flipped().map_err(|e| e.in_reader("NAVGesture::load_origin_data"))
    }

    fn archive(&self) -> &'static str {
        match self {
            NAVGesture::Walk => "navgesture-walk.zip",
            NAVGesture::Sit => "navgesture-sit.zip",
        }
    }
}

impl NeuromorphicSource for NAVGesture {
    fn name(&self) -> &'static str {
        match self {
            NAVGesture::Walk => "NAVGestureWalk",
            NAVGesture::Sit => "NAVGestureSit",
        }
    }
    fn resource_url_md5(&self) -> Vec<Resource> {
        let (url, md5) = match self {
            NAVGesture::Walk => ("https://www.neuromorphic-vision.com/public/downloads/navgesture/navgesture-walk.zip", "5d305266f13005401959e819abe206f0"),
            NAVGesture::Sit => ("https://www.neuromorphic-vision.com/public/downloads/navgesture/navgesture-sit.zip", "1571753ace4d9e0946e6503313712c22"),
        };
        vec![Resource {
            file_name: self.archive(),
            url,
            md5: Some(md5),
        }]
    }
    fn downloadable(&self) -> bool {
        true
    }
    fn extract_downloaded_files(&self, download_root: &Path, extract_root: &Path) -> Result<()> {
        extract_nested_zips(&download_root.join(self.archive()), extract_root)
    }
    /// Converts every `.dat` file under `extract_root` into `events_np/<label>/<stem>.npz`.
    fn create_events_np_files(&self, extract_root: &Path, events_np_root: &Path) -> Result<()> {
        for label in NAV_GESTURE_LABELS {
            create_dir(&events_np_root.join(label))?;
        }
        let mut files = Vec::new();
        collect_files(extract_root, &mut files)?;
        let mut jobs: Vec<(PathBuf, PathBuf)> = Vec::new();
        for f in files
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "dat"))
        {
            let stem = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let label = stem.split('_').nth(1).filter(|l| NAV_GESTURE_LABELS.contains(l)).ok_or_else(|| {
                DatasetError::config("NAVGesture", format!("{}: the second `_` token of the name is not one of {NAV_GESTURE_LABELS:?}", f.display()))
            })?;
            jobs.push((
                f.clone(),
                events_np_root.join(label).join(format!("{stem}.npz")),
            ));
        }
        par_for_each("events_np", &jobs, |(src, dst)| {
            NAVGesture::load_origin_data(src)?.save_npz(dst)
        })
    }
    fn get_h_w(&self) -> (usize, usize) {
        (240, 304)
    }
    fn train_split(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::td_dat;

    /// The event word of `(t, x, y, p)`.
    fn ev(t: u32, x: u16, y: u8, p: bool) -> [u8; 8] {
        crate::fixtures::td_event(t, x, y, p).unwrap()
    }

    #[test]
    fn checklist_256_td_dat_layout_and_backwards_timestamps() {
        let dir = crate::neuromorphic::tests::test_dir("nav_gesture");
        let f = dir.join("user01_le_0001_td.dat");
        // Event 2 (t = 120) goes back in time; event 3 (t = 200) is valid again.
        std::fs::write(
            &f,
            td_dat(&[
                ev(100, 303, 0, true),
                ev(150, 7, 239, false),
                ev(120, 1, 1, true),
                ev(200, 2, 2, false),
            ]),
        )
        .unwrap();
        let raw = read_atis_tddat(&f, false, false, (0, None)).unwrap();
        assert_eq!(raw.timestamps, [100, 150, 120, 200], "as recorded");
        assert_eq!(
            (raw.x, raw.y, raw.polarities, raw.removed_events),
            (vec![303, 7, 1, 2], vec![0, 239, 1, 2], vec![1, 0, 1, 0], -1)
        );
        // Defaults: the backwards event is removed, the later valid one kept (the source's loop
        // returned [0, 50] plus a bogus event at -100 before its removal pass, losing t = 200).
        let d = read_atis_tddat(&f, true, true, (0, None)).unwrap();
        assert_eq!(
            (d.timestamps, d.x, d.removed_events),
            (vec![0, 50, 100], vec![303, 7, 2], 1)
        );
        let e = NAVGesture::load_origin_data(&f).unwrap();
        assert_eq!(
            (e.x, e.y, e.p),
            (vec![303, 7, 2], vec![239, 0, 237], vec![1, 0, 0])
        );
        // Every event below an earlier kept one goes: 150 and 120 (after 200); the second 200 stays.
        std::fs::write(
            &f,
            td_dat(&[
                ev(100, 0, 0, false),
                ev(200, 1, 0, false),
                ev(150, 2, 0, false),
                ev(120, 3, 0, false),
                ev(200, 4, 0, false),
                ev(250, 5, 0, false),
            ]),
        )
        .unwrap();
        let d = read_atis_tddat(&f, false, true, (0, None)).unwrap();
        assert_eq!(
            (d.timestamps, d.x, d.removed_events),
            (vec![100, 200, 200, 250], vec![0, 1, 4, 5], 2)
        );
        // events_restriction picks events 1..=3 themselves (the source returned zero slots).
        let d = read_atis_tddat(&f, false, false, (1, Some(3))).unwrap();
        assert_eq!((d.timestamps, d.x), (vec![200, 150, 120], vec![1, 2, 3]));
        assert_eq!(
            read_atis_tddat(&f, false, false, (9, None))
                .unwrap()
                .timestamps,
            Vec::<i64>::new()
        );
        // Without a header there are no type/size bytes; a partial event is an error.
        std::fs::write(&f, [ev(5, 1, 2, true).as_slice(), &[1, 2, 3]].concat()).unwrap();
        let err = read_atis_tddat(&f, true, true, (0, None))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("read_atis_tddat: ")
                && err.contains("user01_le_0001_td.dat")
                && err.contains("at byte 8"),
            "{err}"
        );
        let mut bad = b"%h\n".to_vec();
        bad.extend_from_slice(&[0, 4]);
        std::fs::write(&f, bad).unwrap();
        assert!(read_atis_tddat(&f, true, true, (0, None))
            .unwrap_err()
            .to_string()
            .contains("at byte 4: event size 4"));
        // y above 239 cannot be flipped into the 240-row frame.
        std::fs::write(&f, td_dat(&[ev(1, 0, 255, false)])).unwrap();
        let err = NAVGesture::load_origin_data(&f).unwrap_err().to_string();
        assert!(err.contains("239 - y[0] = -16"), "{err}");
    }
}
