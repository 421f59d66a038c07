//! A dense 2-D array of `f32`, row-major: the plots' input (`[T, N]` spikes, `[H, W]` maps).
use crate::error::{PlotError, Result};

/// `rows x cols` values, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    data: Vec<f32>,
    rows: usize,
    cols: usize,
}

impl Grid {
    /// Wraps `data` as `rows x cols`; errors (naming `Grid`) if the sizes disagree or it is empty.
    pub fn new(data: Vec<f32>, rows: usize, cols: usize) -> Result<Self> {
        if rows == 0 || cols == 0 {
            return Err(PlotError::Data {
                plot: "Grid",
                message: format!("empty array ({rows} x {cols})"),
            });
        }
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(PlotError::Data {
                plot: "Grid",
                message: format!("{} values do not fill {rows} x {cols}", data.len()),
            });
        }
        Ok(Grid { data, rows, cols })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The value at `(row, col)`, `None` outside the grid.
    pub fn get(&self, row: usize, col: usize) -> Option<f32> {
        (row < self.rows && col < self.cols).then(|| self.at(row, col))
    }

    /// The value at `(row, col)`, inside the grid.
    pub(crate) fn at(&self, row: usize, col: usize) -> f32 {
        self.data[row * self.cols + col]
    }

    /// How many values satisfy `pred`.
    pub(crate) fn count(&self, pred: impl Fn(f32) -> bool) -> usize {
        self.data.iter().filter(|&&v| pred(v)).count()
    }

    /// The smallest and largest value; errors (naming `plot`) if any value is NaN or infinite.
    pub fn finite_range(&self, plot: &'static str) -> Result<(f64, f64)> {
        if self.data.iter().any(|v| !v.is_finite()) {
            return Err(PlotError::Data {
                plot,
                message: "array has non-finite values".into(),
            });
        }
        Ok(self
            .data
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v as f64), hi.max(v as f64))
            }))
    }

    /// Column `col` (inside the grid) as a vector.
    pub(crate) fn column(&self, col: usize) -> Vec<f32> {
        (0..self.rows).map(|r| self.at(r, col)).collect()
    }
}
