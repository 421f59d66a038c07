//! A confusion matrix: how often each true class was predicted as each class, with the count (or
//! the row-normalised fraction) written in every cell.
use crate::colour::{draw_colour_bar, viridis};
use crate::error::{draw_err, PlotError, Result};
use crate::figure::{Draw, Figure};
use crate::font::FAMILY;
use crate::grid::Grid;
use crate::raster::{block_mean, Raster, MAX_VECTOR_CELLS};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const PLOT: &str = "plot_confusion_matrix";

/// The most classes [`confusion_matrix`] counts (a `[K, K]` matrix of 16M cells).
pub const MAX_CLASSES: usize = 4096;

/// The most axis labels drawn: with more classes, labels at a subset of them.
const MAX_LABELS: usize = 50;

struct Confusion<'a> {
    /// The values drawn: counts, or fractions of each true class.
    matrix: Grid,
    class_names: &'a [&'a str],
    normalize: bool,
    title: &'a str,
    lo: f64,
    hi: f64,
}

impl Confusion<'_> {
    /// The axis label of `class`: its name, or its index when no names were given.
    fn name(&self, class: usize) -> String {
        self.class_names
            .get(class)
            .map_or_else(|| class.to_string(), |s| s.to_string())
    }
}

impl Draw for Confusion<'_> {
    const PLOT: &'static str = PLOT;

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<Option<Raster>> {
        let e = draw_err(Self::PLOT);
        let k = self.matrix.rows();
        let area = area.titled(self.title, (FAMILY, 22)).map_err(&e)?;
        let w = area.dim_in_pixel().0;
        let (main, bar) = area.split_horizontally(w - 90);
        // Class i's row is drawn at y = k - 1 - i, so that class 0 is the top row.
        let x_name = |v: &f64| {
            if (v - v.round()).abs() < 1e-9 && *v >= 0.0 {
                self.name(v.round() as usize)
            } else {
                String::new()
            }
        };
        let y_name = |v: &f64| x_name(&(k as f64 - 1.0 - v));
        let mut chart = ChartBuilder::on(&main)
            .margin(8)
            .x_label_area_size(48)
            .y_label_area_size(110)
            .build_cartesian_2d(-0.5..k as f64 - 0.5, -0.5..k as f64 - 0.5)
            .map_err(&e)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(k.min(MAX_LABELS))
            .y_labels(k.min(MAX_LABELS))
            .x_label_formatter(&x_name)
            .y_label_formatter(&y_name)
            .x_desc("predicted label")
            .y_desc("true label")
            .label_style((FAMILY, 13))
            .draw()
            .map_err(&e)?;
        let span = (self.hi - self.lo).max(f64::MIN_POSITIVE);
        let cells = || (0..k).flat_map(|i| (0..k).map(move |j| (i, j)));
        let t = |i: usize, j: usize| (self.matrix.at(i, j) as f64 - self.lo) / span;
        if k * k > MAX_VECTOR_CELLS {
            // Pixel rows are true classes from class 0 at the top, columns predicted classes.
            let pixels = chart.plotting_area().get_pixel_range();
            let raster = Raster::cells(pixels, k, k, |pred, truth| {
                viridis(block_mean(truth, pred, t))
            });
            draw_colour_bar(&bar, self.lo, self.hi, Self::PLOT)?;
            return Ok(Some(raster));
        }
        chart
            .draw_series(cells().map(|(i, j)| {
                let (x, y) = (j as f64, (k - 1 - i) as f64);
                Rectangle::new(
                    [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                    viridis(t(i, j)).filled(),
                )
            }))
            .map_err(&e)?;
        // The numbers, when a cell is large enough to hold them: white on the dark half of the map.
        let cell_px = main.dim_in_pixel().1.saturating_sub(64) as f64 / k as f64;
        if cell_px >= 16.0 {
            let size = (cell_px * 0.3).clamp(9.0, 20.0);
            chart
                .draw_series(cells().map(|(i, j)| {
                    let v = self.matrix.at(i, j);
                    let text = if self.normalize {
                        format!("{v:.2}")
                    } else {
                        format!("{v:.0}")
                    };
                    let colour = if t(i, j) < 0.5 { &WHITE } else { &BLACK };
                    let style = TextStyle::from((FAMILY, size).into_font())
                        .color(colour)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    Text::new(text, (j as f64, (k - 1 - i) as f64), style)
                }))
                .map_err(&e)?;
        }
        draw_colour_bar(&bar, self.lo, self.hi, Self::PLOT)?;
        Ok(None)
    }
}

/// The `[K, K]` confusion counts of `predicted` against the true `labels` (row = true class,
/// column = predicted class, scikit-learn's convention). Errors on empty or unequal-length inputs,
/// on `num_classes` outside `1..=`[`MAX_CLASSES`] and on a class outside `0..num_classes`.
pub fn confusion_matrix(predicted: &[usize], labels: &[usize], num_classes: usize) -> Result<Grid> {
    let data = |message: String| PlotError::Data {
        plot: "confusion_matrix",
        message,
    };
    if !(1..=MAX_CLASSES).contains(&num_classes) {
        return Err(data(format!(
            "num_classes must be in 1..={MAX_CLASSES}, got {num_classes}"
        )));
    }
    if predicted.is_empty() || predicted.len() != labels.len() {
        return Err(data(format!(
            "{} predictions for {} labels; both must be equal and > 0",
            predicted.len(),
            labels.len()
        )));
    }
    let mut counts = vec![0.0f32; num_classes * num_classes];
    for (&p, &l) in predicted.iter().zip(labels) {
        if p >= num_classes || l >= num_classes {
            return Err(data(format!(
                "class {} is outside 0..{num_classes}",
                p.max(l)
            )));
        }
        counts[l * num_classes + p] += 1.0;
    }
    Grid::new(counts, num_classes, num_classes)
}

/// A `[K, K]` confusion `matrix` (row = true class, column = predicted class; e.g. from
/// [`confusion_matrix`]) as a viridis colour map with each cell's count written in it (white on
/// dark cells, black on light ones; omitted when cells are under 16 px). With `normalize`, each row
/// is divided by its sum (the fraction of each true class, 2 decimals; all-zero rows stay 0).
/// `class_names` label the axes: one name per class, or none (class indices). Matrices of more than
/// [`MAX_VECTOR_CELLS`] cells are drawn as one embedded image (each pixel the mean of its cells).
/// Errors unless the matrix is square with finite, non-negative values and the names fit it.
pub fn plot_confusion_matrix(
    matrix: &Grid,
    class_names: &[&str],
    normalize: bool,
    title: &str,
) -> Result<Figure> {
    let k = matrix.rows();
    if matrix.cols() != k {
        return Err(PlotError::Data {
            plot: PLOT,
            message: format!("a confusion matrix is square, got {k} x {}", matrix.cols()),
        });
    }
    if !class_names.is_empty() && class_names.len() != k {
        let message = format!("{} class names for {k} classes; give one name per class, or none to label them by index", class_names.len());
        return Err(PlotError::Data {
            plot: PLOT,
            message,
        });
    }
    let (min, _) = matrix.finite_range(PLOT)?;
    if min < 0.0 {
        return Err(PlotError::Data {
            plot: PLOT,
            message: format!("counts must be >= 0, got {min}"),
        });
    }
    let shown = if normalize {
        let rows = (0..k)
            .map(|i| (0..k).map(|j| matrix.at(i, j)).sum::<f32>())
            .collect::<Vec<_>>();
        let fractions = (0..k)
            .flat_map(|i| (0..k).map(move |j| (i, j)))
            .map(|(i, j)| {
                if rows[i] > 0.0 {
                    matrix.at(i, j) / rows[i]
                } else {
                    0.0
                }
            });
        Grid::new(fractions.collect(), k, k)?
    } else {
        matrix.clone()
    };
    let (lo, hi) = shown.finite_range(PLOT)?;
    Figure::render(
        title,
        860,
        720,
        &Confusion {
            matrix: shown,
            class_names,
            normalize,
            title,
            lo,
            hi,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_predictions_per_true_class() {
        let m = confusion_matrix(&[0, 1, 1, 2], &[0, 1, 2, 2], 3).unwrap();
        let rows: Vec<Vec<f32>> = (0..3)
            .map(|i| (0..3).map(|j| m.at(i, j)).collect())
            .collect();
        assert_eq!(rows, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 1.0]]);
        assert!(
            confusion_matrix(&[0, 3], &[0, 1], 3).is_err(),
            "class out of range"
        );
        assert!(
            confusion_matrix(&[0], &[0, 1], 3).is_err(),
            "lengths differ"
        );
        assert!(confusion_matrix(&[], &[], 3).is_err(), "empty");
    }

    #[test]
    fn cells_are_coloured_and_numbered() {
        let m = Grid::new(vec![3.0, 1.0, 0.0, 2.0], 2, 2).unwrap();
        let f = plot_confusion_matrix(&m, &["cat", "dog"], false, "confusion").unwrap();
        let svg = f.svg();
        // Max (3) is yellow, min (0) dark purple; the numbers are on the cells, white on dark ones.
        assert!(svg.contains(r##"fill="#FDE725""##) && svg.contains(r##"fill="#440154""##));
        for (n, colour) in [
            ("3", "#000000"),
            ("2", "#000000"),
            ("1", "#FFFFFF"),
            ("0", "#FFFFFF"),
        ] {
            assert_eq!(
                svg.matches(&format!("fill=\"{colour}\">\n{n}\n</text>"))
                    .count(),
                1,
                "{n} in {colour}"
            );
        }
        for label in ["cat", "dog", "predicted label", "true label"] {
            assert!(svg.contains(&format!(">\n{label}\n</text>")), "{label}");
        }
        let n = plot_confusion_matrix(&m, &[], true, "confusion").unwrap();
        for fraction in ["0.75", "0.25", "0.00", "1.00"] {
            assert!(
                n.svg().contains(&format!(">\n{fraction}\n</text>")),
                "{fraction}"
            );
        }
        assert!(
            n.svg().contains(">\n1\n</text>"),
            "class indices label the axes without names"
        );
    }

    #[test]
    fn rejects_bad_matrices() {
        assert!(
            plot_confusion_matrix(&Grid::new(vec![1.0; 6], 2, 3).unwrap(), &[], false, "c")
                .is_err()
        );
        assert!(plot_confusion_matrix(
            &Grid::new(vec![1.0, -1.0, 0.0, 1.0], 2, 2).unwrap(),
            &[],
            false,
            "c"
        )
        .is_err());
        assert!(plot_confusion_matrix(
            &Grid::new(vec![1.0, f32::NAN, 0.0, 1.0], 2, 2).unwrap(),
            &[],
            false,
            "c"
        )
        .is_err());
    }
}
