//! [`Events`]: an event stream as a struct of arrays, SpikingJelly's `{'t', 'x', 'y', 'p'}` dict,
//! with its `events_np` file format (`.npz` with keys `t`, `x`, `y`, `p`).
use super::npy::{read_npz, take_key, write_npz, NpyArray, NpyData};
use crate::error::{DatasetError, Result};
use polars::prelude::*;
use std::path::Path;

/// Events as four equally long arrays: timestamp `t` (the recording's unit, µs for the cameras),
/// pixel column `x`, pixel row `y` and polarity `p` (0 = OFF, anything else counts as ON).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Events {
    /// Timestamps.
    pub t: Vec<i64>,
    /// Columns.
    pub x: Vec<u16>,
    /// Rows.
    pub y: Vec<u16>,
    /// Polarities.
    pub p: Vec<u8>,
}

impl Events {
    /// Wraps the four arrays; errors if their lengths differ.
    pub fn new(t: Vec<i64>, x: Vec<u16>, y: Vec<u16>, p: Vec<u8>) -> Result<Self> {
        let e = Events { t, x, y, p };
        e.validate()?;
        Ok(e)
    }

    /// Errors if the four arrays differ in length (the fields are public, so this is checked again
    /// before integrating or saving).
    pub fn validate(&self) -> Result<()> {
        let (t, x, y, p) = (self.t.len(), self.x.len(), self.y.len(), self.p.len());
        if x != t || y != t || p != t {
            return Err(DatasetError::config(
                "Events",
                format!("t, x, y, p have lengths {t}, {x}, {y}, {p}; they must be equal"),
            ));
        }
        Ok(())
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.t.len()
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    /// The events `(t, x, y, p)` for which `keep` is true, in order.
    pub fn filter(&self, keep: impl Fn(i64, u16, u16, u8) -> bool) -> Events {
        let mut out = Events::default();
        for (((&t, &x), &y), &p) in self.t.iter().zip(&self.x).zip(&self.y).zip(&self.p) {
            if keep(t, x, y, p) {
                out.t.push(t);
                out.x.push(x);
                out.y.push(y);
                out.p.push(p);
            }
        }
        out
    }

    /// The events with `start <= t < end` (the mask DVS128 Gesture's csv split uses).
    pub fn time_window(&self, start: i64, end: i64) -> Events {
        self.filter(|t, _, _, _| t >= start && t < end)
    }

    /// Errors (naming `what` and the first bad event) unless every event lies inside `h x w`.
    pub fn check_bounds(&self, h: usize, w: usize, what: &str) -> Result<()> {
        self.validate()?;
        match (0..self.len()).find(|&i| self.x[i] as usize >= w || self.y[i] as usize >= h) {
            None => Ok(()),
            Some(i) => Err(DatasetError::config(
                what,
                format!(
                    "event {i} at (x={}, y={}) lies outside the {h} x {w} (H x W) frame",
                    self.x[i], self.y[i]
                ),
            )),
        }
    }

    /// A one-row table: number of events, ON and OFF counts, and the ranges of t, x and y.
    pub fn summary(&self) -> Result<DataFrame> {
        self.validate()?;
        fn range<T: Copy + Ord + Into<i64>>(v: &[T]) -> (Option<i64>, Option<i64>) {
            (
                v.iter().min().map(|&a| a.into()),
                v.iter().max().map(|&a| a.into()),
            )
        }
        let on = self.p.iter().filter(|&&p| p != 0).count() as u64;
        let (t0, t1) = range(&self.t);
        let (x0, x1) = range(&self.x);
        let (y0, y1) = range(&self.y);
        Ok(df!(
            "events" => [self.len() as u64],
            "on" => [on],
            "off" => [self.len() as u64 - on],
            "t_min" => [t0],
            "t_max" => [t1],
            "duration" => [t0.zip(t1).map(|(a, b)| b - a)],
            "x_min" => [x0],
            "x_max" => [x1],
            "y_min" => [y0],
            "y_max" => [y1],
        )?)
    }

    /// Saves as SpikingJelly's `events_np` file: an `.npz` with `t` (`<i8`), `x`, `y` (`<u2`) and
    /// `p` (`|u1`), compressed like `np.savez_compressed`; written to a temporary name, then renamed.
    pub fn save_npz(&self, file: impl AsRef<Path>) -> Result<()> {
        self.validate()?;
        let t = NpyArray::vector(NpyData::I64(self.t.clone()));
        let x = NpyArray::vector(NpyData::U16(self.x.clone()));
        let y = NpyArray::vector(NpyData::U16(self.y.clone()));
        let p = NpyArray::vector(NpyData::U8(self.p.clone()));
        write_npz(file, &[("t", &t), ("x", &x), ("y", &y), ("p", &p)], true)
    }

    /// Loads an `events_np` file (`np.load(fname)`): any numeric dtypes; coordinates must fit in
    /// `u16`, polarities in `u8` and float timestamps must be whole numbers.
    pub fn load_npz(file: impl AsRef<Path>) -> Result<Events> {
        let file = file.as_ref();
        Self::read_npz_columns(file).map_err(|e| e.in_reader("Events::load_npz"))
    }

    fn read_npz_columns(file: &Path) -> Result<Events> {
        let mut arrays = read_npz(file)?;
        let mut column = |key: &str| -> Result<Vec<i64>> {
            let a = take_key(&mut arrays, key, file)?;
            a.to_i64(&format!("{}: {key}", file.display()))
        };
        let (t, x, y, p) = (column("t")?, column("x")?, column("y")?, column("p")?);
        let what = file.display().to_string();
        Events::new(
            t,
            narrow(&x, &what, "x")?,
            narrow(&y, &what, "y")?,
            narrow(&p, &what, "p")?,
        )
    }
}

/// Converts `v` to a narrower integer type, naming `what`/`key` and the first value out of range.
pub(crate) fn narrow<T: TryFrom<i64>>(v: &[i64], what: &str, key: &str) -> Result<Vec<T>> {
    v.iter()
        .enumerate()
        .map(|(i, &a)| {
            T::try_from(a).map_err(|_| {
                DatasetError::config(
                    what,
                    format!(
                        "{key}[{i}] = {a} is out of range for {}",
                        std::any::type_name::<T>()
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_np_files_from_numpy_and_our_own() {
        let dir = crate::neuromorphic::tests::test_dir("events_np");
        let f = dir.join("numpy.npz");
        std::fs::write(&f, crate::fixtures::numpy_events_npz()).unwrap();
        let e = Events::load_npz(&f).unwrap();
        assert_eq!(
            e,
            Events::new(vec![1, 5, 9], vec![3, 4, 5], vec![0, 33, 7], vec![1, 0, 1]).unwrap()
        );
        let g = dir.join("ours.npz");
        e.save_npz(&g).unwrap();
        let back = read_npz(&g).unwrap();
        assert_eq!(back[0].1.descr(), "<i8");
        assert_eq!(back[1].1.descr(), "<u2");
        assert_eq!(back[3].1.descr(), "|u1");
        assert_eq!(Events::load_npz(&g).unwrap(), e);
        assert!(Events::new(vec![1], vec![], vec![], vec![]).is_err());
        let broken = Events {
            t: vec![1, 2],
            ..e.clone()
        };
        assert!(
            broken.validate().is_err()
                && broken.summary().is_err()
                && broken.save_npz(dir.join("b.npz")).is_err()
        );
        assert_eq!(
            broken.time_window(0, 10).len(),
            2,
            "filtering zips the arrays, never indexes past them"
        );
        let s = e.summary().unwrap();
        assert_eq!(s.column("events").unwrap().u64().unwrap().get(0), Some(3));
        assert_eq!(s.column("on").unwrap().u64().unwrap().get(0), Some(2));
        assert_eq!(s.column("duration").unwrap().i64().unwrap().get(0), Some(8));
        assert_eq!(s.column("y_max").unwrap().i64().unwrap().get(0), Some(33));
        assert!(e.check_bounds(34, 34, "frame").is_ok());
        assert!(e
            .check_bounds(33, 34, "frame")
            .unwrap_err()
            .to_string()
            .contains("event 1 at (x=4, y=33)"));
        assert_eq!(e.time_window(5, 9).t, vec![5]);
    }
}
