//! Training curves: loss and accuracy per epoch, several runs overlaid (train solid, test dashed).
use crate::colour::TAB10;
use crate::curves::{check_points, Curves, Line};
use crate::error::{draw_err, PlotError, Result};
use crate::figure::{Draw, Figure};
use crate::font::FAMILY;
use crate::raster::Raster;
use plotters::coord::Shift;
use plotters::prelude::*;

const PLOT: &str = "plot_training_curves";

/// One training run's metrics per epoch. A metric that was not recorded is left empty; every
/// recorded one has a value per entry of `epochs`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Run {
    /// Legend name of the run (e.g. its hyper-parameters).
    pub name: String,
    /// Epoch numbers (the x axis).
    pub epochs: Vec<usize>,
    /// Training loss per epoch.
    pub train_loss: Vec<f32>,
    /// Test loss per epoch.
    pub test_loss: Vec<f32>,
    /// Training accuracy per epoch.
    pub train_acc: Vec<f32>,
    /// Test accuracy per epoch.
    pub test_acc: Vec<f32>,
}

impl Run {
    /// An empty run named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Run {
            name: name.into(),
            ..Run::default()
        }
    }

    /// Records one epoch's four metrics.
    pub fn push(
        &mut self,
        epoch: usize,
        train_loss: f32,
        test_loss: f32,
        train_acc: f32,
        test_acc: f32,
    ) {
        self.epochs.push(epoch);
        self.train_loss.push(train_loss);
        self.test_loss.push(test_loss);
        self.train_acc.push(train_acc);
        self.test_acc.push(test_acc);
    }

    /// The run's recorded `(metric, values)` pairs that go in one panel, validated.
    fn metrics<'a>(
        &'a self,
        pairs: [(&'static str, &'a [f32]); 2],
    ) -> Result<Vec<(&'static str, &'a [f32])>> {
        let data = |message: String| PlotError::Data {
            plot: PLOT,
            message,
        };
        for (metric, values) in pairs {
            if !values.is_empty() && values.len() != self.epochs.len() {
                return Err(data(format!(
                    "run '{}': {metric} has {} values for {} epochs",
                    self.name,
                    values.len(),
                    self.epochs.len()
                )));
            }
            if values.iter().any(|v| !v.is_finite()) {
                return Err(data(format!(
                    "run '{}': {metric} has non-finite values",
                    self.name
                )));
            }
        }
        Ok(pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect())
    }
}

struct Training<'a> {
    loss: Curves<'a>,
    acc: Curves<'a>,
    title: &'a str,
}

impl Draw for Training<'_> {
    const PLOT: &'static str = PLOT;

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<Option<Raster>> {
        let area = area
            .titled(self.title, (FAMILY, 24))
            .map_err(draw_err(Self::PLOT))?;
        let panels = area.split_evenly((1, 2));
        self.loss.draw_panel(&panels[0], Self::PLOT)?;
        self.acc.draw_panel(&panels[1], Self::PLOT)?;
        Ok(None)
    }
}

/// Loss (left) and accuracy (right) per epoch for each of `runs`: run `r` in tab10 colour `r`,
/// train solid and test dashed, labelled "`name` train" / "`name` test". Errors when there are no
/// runs or epochs, a metric's length differs from the epochs', a value is not finite, a panel
/// would have no curve, or the curves have more than [`crate::MAX_POINTS`] points.
pub fn plot_training_curves(runs: &[Run], title: &str) -> Result<Figure> {
    let data = |message: String| PlotError::Data {
        plot: PLOT,
        message,
    };
    if runs.is_empty() {
        return Err(data("no runs".into()));
    }
    let (mut loss, mut acc) = (Vec::new(), Vec::new());
    for (r, run) in runs.iter().enumerate() {
        if run.epochs.is_empty() {
            return Err(data(format!("run '{}' has no epochs", run.name)));
        }
        let colour = TAB10[r % TAB10.len()];
        let line = |(metric, values): (&str, &[f32])| Line {
            label: format!(
                "{} {}",
                run.name,
                metric.split('_').next().unwrap_or(metric)
            )
            .trim()
            .to_string(),
            points: run
                .epochs
                .iter()
                .zip(values)
                .map(|(&e, &v)| (e as f64, v as f64))
                .collect(),
            colour,
            dashed: metric.starts_with("test"),
        };
        loss.extend(
            run.metrics([
                ("train_loss", &run.train_loss),
                ("test_loss", &run.test_loss),
            ])?
            .into_iter()
            .map(line),
        );
        acc.extend(
            run.metrics([("train_acc", &run.train_acc), ("test_acc", &run.test_acc)])?
                .into_iter()
                .map(line),
        );
    }
    if loss.is_empty() || acc.is_empty() {
        return Err(data(format!(
            "no run has a recorded {}",
            if loss.is_empty() { "loss" } else { "accuracy" }
        )));
    }
    check_points(PLOT, loss.iter().chain(&acc).map(|l| l.points.len()).sum())?;
    let panel = |lines, name, legend| Curves {
        lines,
        title: name,
        xlabel: "epoch",
        ylabel: name,
        int_x: true,
        legend,
    };
    let plot = Training {
        loss: panel(loss, "loss", SeriesLabelPosition::UpperRight),
        acc: panel(acc, "accuracy", SeriesLabelPosition::LowerRight),
        title,
    };
    Figure::render(title, 1200, 480, &plot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, offset: f32) -> Run {
        let mut r = Run::new(name);
        for e in 0..4 {
            let e32 = e as f32;
            r.push(
                e,
                2.0 / (1.0 + e32) + offset,
                2.2 / (1.0 + e32) + offset,
                0.5 + 0.1 * e32 - offset,
                0.45 + 0.1 * e32 - offset,
            );
        }
        r
    }

    #[test]
    fn overlays_runs_in_two_panels() {
        let one = plot_training_curves(&[run("lr=0.1", 0.0)], "training").unwrap();
        let two =
            plot_training_curves(&[run("lr=0.1", 0.0), run("lr=0.01", 0.1)], "training").unwrap();
        let svg = two.svg();
        for text in [
            "lr=0.1 train",
            "lr=0.1 test",
            "lr=0.01 train",
            "lr=0.01 test",
            "loss",
            "accuracy",
            "epoch",
            "training",
        ] {
            assert!(svg.contains(&format!(">\n{text}\n</text>")), "{text}");
        }
        // Run 0 is tab10 blue, run 1 orange: train lines are one polyline, test lines are dashed
        // (one short polyline per dash), legend samples are two segments each.
        let strokes = |svg: &str, colour: &str| {
            svg.matches(&format!(
                "<polyline fill=\"none\" opacity=\"1\" stroke=\"{colour}\""
            ))
            .count()
        };
        assert_eq!(strokes(one.svg(), "#FF7F0E"), 0);
        // Per panel and run: 1 train polyline + >= 2 dashes + 4 legend segments.
        for colour in ["#1F77B4", "#FF7F0E"] {
            assert!(
                strokes(svg, colour) >= 2 * (1 + 2 + 4),
                "{colour}: {}",
                strokes(svg, colour)
            );
        }
        // Integer epoch labels only (no y label here is 1.5 or 2.5).
        assert!(
            svg.contains(">\n3\n</text>")
                && !svg.contains(">\n1.5\n</text>")
                && !svg.contains(">\n2.5\n</text>")
        );
    }

    #[test]
    fn rejects_bad_runs() {
        assert!(plot_training_curves(&[], "t").is_err());
        assert!(plot_training_curves(&[Run::new("empty")], "t").is_err());
        let mut short = run("a", 0.0);
        short.test_acc.pop();
        assert!(plot_training_curves(&[short], "t").is_err());
        let mut nan = run("a", 0.0);
        nan.train_loss[1] = f32::NAN;
        assert!(plot_training_curves(&[nan], "t").is_err());
        let loss_only = Run {
            train_acc: vec![],
            test_acc: vec![],
            ..run("a", 0.0)
        };
        assert!(
            plot_training_curves(std::slice::from_ref(&loss_only), "t").is_err(),
            "the accuracy panel would be empty"
        );
        // A metric that was not recorded is simply not drawn.
        let no_test = Run {
            test_loss: vec![],
            test_acc: vec![],
            ..run("a", 0.0)
        };
        assert!(!plot_training_curves(&[no_test], "t")
            .unwrap()
            .svg()
            .contains(">\na test\n</text>"));
    }
}
