//! `visualizing.plot_2d_feature_map`: C feature maps `[C, H, W]` tiled in an `nrows x ncols` grid.
use crate::colour::gray;
use crate::error::{draw_err, PlotError, Result};
use crate::figure::{Draw, Figure};
use crate::font::FAMILY;
use crate::grid::Grid;
use crate::raster::{block_mean, Raster, MAX_CELLS, MAX_VECTOR_CELLS};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Margin around the image and height of the title band, in pixels.
const MARGIN: u32 = 20;
const TITLE: u32 = 40;

struct FeatureMap<'a> {
    /// The tiled image: maps separated by `space` cells of the maximum value, as SpikingJelly builds it.
    tiled: Grid,
    title: &'a str,
    lo: f64,
    hi: f64,
    /// Pixels per cell.
    scale: f64,
    /// Draw the cells as one image (large tiled images) instead of rectangles.
    raster: bool,
}

impl FeatureMap<'_> {
    /// Pixel edge of cell boundary `k` along an axis.
    fn edge(&self, k: usize) -> i32 {
        MARGIN as i32 + (k as f64 * self.scale).round() as i32
    }

    /// The grey level (0 black .. 255 white) of `v` with the data's min and max at the ends.
    fn level(&self, v: f32) -> u8 {
        gray((v as f64 - self.lo) / (self.hi - self.lo).max(f64::MIN_POSITIVE)).0
    }
}

impl Draw for FeatureMap<'_> {
    const PLOT: &'static str = "plot_2d_feature_map";

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<Option<Raster>> {
        let e = draw_err(Self::PLOT);
        let area = area.titled(self.title, (FAMILY, 22)).map_err(&e)?;
        let (rows, cols) = (self.tiled.rows(), self.tiled.cols());
        if self.raster {
            // Each pixel is the grey of the mean of the cells it covers.
            let (x0, y0) = area.get_base_pixel();
            let pixels = (
                x0 + self.edge(0)..x0 + self.edge(cols).max(self.edge(0) + 1),
                y0 + self.edge(0)..y0 + self.edge(rows).max(self.edge(0) + 1),
            );
            let grey = |cs, rs| {
                let level =
                    self.level(block_mean(rs, cs, |r, c| self.tiled.at(r, c) as f64) as f32);
                RGBColor(level, level, level)
            };
            return Ok(Some(Raster::cells(pixels, cols, rows, grey)));
        }
        let cell = |level: u8, (r0, c0): (usize, usize), (r1, c1): (usize, usize)| {
            // Backends fill up to, not including, the second corner; cells are at least 1 px wide.
            Rectangle::new(
                [
                    (self.edge(c0), self.edge(r0)),
                    (self.edge(c1), self.edge(r1)),
                ],
                RGBColor(level, level, level).filled(),
            )
        };
        // The padding's value (the maximum) as background, then each row's runs of another grey.
        let background = self.level(self.hi as f32);
        area.draw(&cell(background, (0, 0), (rows, cols)))
            .map_err(&e)?;
        for r in 0..rows {
            let mut c = 0;
            while c < cols {
                let level = self.level(self.tiled.at(r, c));
                let end = (c..cols)
                    .find(|&k| self.level(self.tiled.at(r, k)) != level)
                    .unwrap_or(cols);
                if level != background {
                    area.draw(&cell(level, (r, c), (r + 1, end))).map_err(&e)?;
                }
                c = end;
            }
        }
        Ok(None)
    }
}

/// `plot_2d_feature_map(x3d, nrows, ncols, space, title)`: the C maps of `x3d` (`maps[c]` is
/// `[H, W]`, all the same shape) tiled row by row in an `nrows x ncols` grid (`nrows * ncols == C`)
/// with `space` cells of padding filled with the maximum value, in matplotlib's `gray` (min black,
/// max white), axes hidden. Pixels per cell are chosen to fit about 800 x 520 px (at least 1, while
/// the tiled image has at most [`MAX_VECTOR_CELLS`] cells); larger tiled images (up to
/// [`MAX_CELLS`]) are drawn scaled down to that size as one embedded image.
pub fn plot_2d_feature_map(
    maps: &[Grid],
    nrows: usize,
    ncols: usize,
    space: usize,
    title: &str,
) -> Result<Figure> {
    let plot = "plot_2d_feature_map";
    let data = |message: String| PlotError::Data { plot, message };
    let first = maps
        .first()
        .ok_or_else(|| data("no feature maps (C = 0)".into()))?;
    if nrows.checked_mul(ncols) != Some(maps.len()) {
        return Err(data(format!(
            "nrows * ncols = {nrows} * {ncols} must equal the number of maps C = {}",
            maps.len()
        )));
    }
    let (h, w) = (first.rows(), first.cols());
    if let Some(c) = maps.iter().position(|m| (m.rows(), m.cols()) != (h, w)) {
        return Err(data(format!(
            "map {c} is {} x {}, map 0 is {h} x {w}",
            maps[c].rows(),
            maps[c].cols()
        )));
    }
    let side = |cells: usize, n: usize| cells.checked_add(space).and_then(|c| c.checked_mul(n));
    let size = side(h, nrows)
        .zip(side(w, ncols))
        .filter(|&(r, c)| r.checked_mul(c).is_some_and(|n| n <= MAX_CELLS));
    let Some((rows, cols)) = size else {
        return Err(data(format!(
            "the tiled image of {nrows} x {ncols} maps of {h} x {w} with space {space} has more than {MAX_CELLS} cells; plot fewer channels or a smaller space"
        )));
    };
    let mut lo_hi = (f64::INFINITY, f64::NEG_INFINITY);
    for m in maps {
        let (lo, hi) = m.finite_range(plot)?;
        lo_hi = (lo_hi.0.min(lo), lo_hi.1.max(hi));
    }
    let (lo, hi) = lo_hi;
    let mut tiled = vec![hi as f32; rows * cols];
    for (k, m) in maps.iter().enumerate() {
        let (r0, c0) = (
            space / 2 + (k / ncols) * (h + space),
            space / 2 + (k % ncols) * (w + space),
        );
        for r in 0..h {
            for c in 0..w {
                tiled[(r0 + r) * cols + c0 + c] = m.at(r, c);
            }
        }
    }
    let fit = (800.0 / cols as f64).min(520.0 / rows as f64);
    let raster = rows * cols > MAX_VECTOR_CELLS || fit < 1.0;
    let scale = if raster { fit } else { fit.max(1.0) };
    let size = |cells: usize| ((cells as f64 * scale).round() as u32).max(1) + 2 * MARGIN;
    let (width, height) = (size(cols).max(320), size(rows) + TITLE);
    let tiled = Grid::new(tiled, rows, cols)?;
    Figure::render(
        title,
        width,
        height,
        &FeatureMap {
            tiled,
            title,
            lo,
            hi,
            scale,
            raster,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_maps_with_max_valued_padding_in_gray() {
        // C = 2 maps of 2 x 2 in 1 row x 2 columns, space 2: the tiled image is 4 x 8 cells.
        let maps = [
            Grid::new(vec![1.0, 0.0, 0.0, 1.0], 2, 2).unwrap(),
            Grid::new(vec![0.0; 4], 2, 2).unwrap(),
        ];
        let f = plot_2d_feature_map(&maps, 1, 2, 2, "S[t]").unwrap();
        // One white background, then one black run per row segment of zeros: 1 + 1 (map 0) + 1 + 1 (map 1).
        let black_rects = f
            .svg()
            .match_indices("<rect")
            .filter(|(i, _)| {
                f.svg()[*i..]
                    .split('>')
                    .next()
                    .is_some_and(|r| r.contains(r##"fill="#000000""##))
            })
            .count();
        assert_eq!(black_rects, 4);
        assert!(f.svg().contains(">\nS[t]\n</text>"));
        // 100 px per cell (fits 800 px across 8 columns); cell (row, col) centre is at 20 + 100 * (col + 0.5).
        assert_eq!(f.size(), (840, 480));
        let centre = |r: u32, c: u32| f.pixel(20 + 100 * c + 50, 40 + 20 + 100 * r + 50).unwrap();
        assert_eq!(centre(1, 1), [255, 255, 255], "map 0 (0, 0) = 1 is white");
        assert_eq!(centre(1, 2), [0, 0, 0], "map 0 (0, 1) = 0 is black");
        assert_eq!(centre(2, 1), [0, 0, 0], "map 0 (1, 0) = 0 is black");
        assert_eq!(centre(0, 0), [255, 255, 255], "padding is the maximum");
        assert_eq!(centre(2, 6), [0, 0, 0], "map 1 sits in the second tile");
        assert_eq!(
            centre(3, 4),
            [255, 255, 255],
            "padding between rows of tiles"
        );
        // Cells meet without gaps: the last pixel row of image row 1 and the first of row 2 in map 1.
        assert_eq!(f.pixel(670, 60 + 199), Some([0, 0, 0]));
        assert_eq!(f.pixel(670, 60 + 200), Some([0, 0, 0]));
        // SpikingJelly's assertion nrows * ncols == C, mismatched shapes, no maps and NaN are errors.
        assert!(plot_2d_feature_map(&maps, 2, 2, 2, "t").is_err());
        assert!(plot_2d_feature_map(
            &[maps[0].clone(), Grid::new(vec![0.0; 3], 1, 3).unwrap()],
            1,
            2,
            0,
            "t"
        )
        .is_err());
        assert!(plot_2d_feature_map(&[], 0, 0, 2, "t").is_err());
        assert!(
            plot_2d_feature_map(&[Grid::new(vec![f32::NAN], 1, 1).unwrap()], 1, 1, 0, "t").is_err()
        );
    }
}
