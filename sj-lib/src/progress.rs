//! Progress of epoch and batch loops: position, rate, ETA and running metrics.
//!
//! In a terminal an indicatif bar redraws in place. In a notebook (evcxr sets
//! `EVCXR_IS_RUNTIME` in the process that runs the cells, and sends every printed line to the
//! cell as it comes), or when stderr is not a terminal, progress is printed as at most
//! `max_lines` lines per loop at evenly spaced positions (10 for a loop, 4 for a loop nested with
//! [`Progress::child`]), so a long loop never floods the output.
//!
//! ```
//! use sj::prelude::*;
//! let mut epochs = Progress::new("epoch", 2).with_output(ProgressOutput::Hidden);
//! for _ in 0..2 {
//!     let mut batches = epochs.child("train", 3);
//!     for loss in [0.5, 0.25, 0.0] {
//!         batches.tick(&[("loss", loss)]);
//!     }
//!     let loss = batches.finish().metric("loss").unwrap();
//!     epochs.tick(&[("loss", loss)]);
//! }
//! assert_eq!(epochs.metric("loss"), Some(0.25));
//! ```
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a [`Progress`] shows itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ProgressOutput {
    /// An indicatif bar on stderr, redrawn in place.
    Terminal,
    /// At most `max_lines` printed lines per loop (notebooks, logs).
    Lines {
        /// Lines per loop.
        max_lines: usize,
    },
    /// Nothing shown; the metrics are still kept.
    Hidden,
}

impl ProgressOutput {
    /// Lines in a notebook (evcxr) or when stderr is not a terminal, else the terminal bar.
    pub fn detect() -> Self {
        if std::env::var_os("EVCXR_IS_RUNTIME").is_none() && std::io::stderr().is_terminal() {
            ProgressOutput::Terminal
        } else {
            ProgressOutput::Lines { max_lines: 10 }
        }
    }
}

type SharedWriter = Arc<Mutex<Box<dyn Write + Send>>>;

enum Sink {
    Bar {
        bar: ProgressBar,
        multi: MultiProgress,
    },
    Lines {
        max_lines: usize,
        last_printed: Option<u64>,
        out: SharedWriter,
    },
    Hidden,
}

/// One loop's progress: `tick` once per item with that item's metrics; the line shows the
/// position, rate, ETA and each metric's running mean.
pub struct Progress {
    label: String,
    total: u64,
    pos: u64,
    start: Instant,
    metrics: Vec<(String, f64, u64)>,
    sink: Sink,
    nested: bool,
    finished: bool,
}

/// Seconds with one decimal, e.g. `12.5s`.
fn seconds(d: f64) -> String {
    if d.is_finite() {
        format!("{d:.1}s")
    } else {
        "?".into()
    }
}

/// The status line of a loop at `pos` of `total` after `elapsed`, with the metrics text.
fn render(label: &str, pos: u64, total: u64, elapsed: Duration, metrics: &str) -> String {
    const WIDTH: usize = 20;
    let fraction = if total == 0 {
        1.0
    } else {
        (pos as f64 / total as f64).min(1.0)
    };
    let filled = (fraction * WIDTH as f64).round() as usize;
    let bar = format!("{}{}", "#".repeat(filled), "-".repeat(WIDTH - filled));
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { pos as f64 / secs } else { 0.0 };
    let eta = if rate > 0.0 {
        total.saturating_sub(pos) as f64 / rate
    } else {
        f64::NAN
    };
    let digits = total.to_string().len();
    format!(
        "{label} [{bar}] {pos:>digits$}/{total} {:>3.0}% {rate:.2} it/s ETA {} elapsed {}{metrics}",
        fraction * 100.0,
        seconds(eta),
        seconds(secs)
    )
}

impl Progress {
    /// A loop of `total` items, shown where [`ProgressOutput::detect`] says.
    pub fn new(label: impl Into<String>, total: u64) -> Self {
        Progress {
            label: label.into(),
            total,
            pos: 0,
            start: Instant::now(),
            metrics: Vec::new(),
            sink: Sink::Hidden,
            nested: false,
            finished: false,
        }
        .with_output(ProgressOutput::detect())
    }

    /// Shows the progress in `output` instead.
    pub fn with_output(mut self, output: ProgressOutput) -> Self {
        self.sink = match output {
            ProgressOutput::Terminal => {
                let multi = MultiProgress::new();
                Sink::Bar {
                    bar: multi.add(self.new_bar()),
                    multi,
                }
            }
            ProgressOutput::Lines { max_lines } => {
                let out: SharedWriter = match std::mem::replace(&mut self.sink, Sink::Hidden) {
                    Sink::Lines { out, .. } => out,
                    _ => Arc::new(Mutex::new(Box::new(std::io::stdout()))),
                };
                Sink::Lines {
                    max_lines,
                    last_printed: None,
                    out,
                }
            }
            ProgressOutput::Hidden => Sink::Hidden,
        };
        self
    }

    /// Prints the lines to `out` (switching to lines mode, 10 lines per loop, if not in it).
    pub fn with_writer(mut self, out: impl Write + Send + 'static) -> Self {
        let max_lines = match self.sink {
            Sink::Lines { max_lines, .. } => max_lines,
            _ => 10,
        };
        self.sink = Sink::Lines {
            max_lines,
            last_printed: None,
            out: Arc::new(Mutex::new(Box::new(out))),
        };
        self
    }

    fn new_bar(&self) -> ProgressBar {
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("#>-");
        let bar = ProgressBar::new(self.total).with_style(style);
        bar.set_prefix(self.label.clone());
        bar
    }

    /// A nested loop (the batches of an epoch): another bar under this one in a terminal, at
    /// most 4 indented lines in lines mode.
    pub fn child(&self, label: impl Into<String>, total: u64) -> Progress {
        let mut child = Progress {
            label: label.into(),
            total,
            pos: 0,
            start: Instant::now(),
            metrics: Vec::new(),
            sink: Sink::Hidden,
            nested: true,
            finished: false,
        };
        child.sink = match &self.sink {
            Sink::Bar { multi, .. } => Sink::Bar {
                bar: multi.add(child.new_bar()),
                multi: multi.clone(),
            },
            Sink::Lines { out, .. } => {
                child.label = format!("  {}", child.label);
                Sink::Lines {
                    max_lines: 4,
                    last_printed: None,
                    out: out.clone(),
                }
            }
            Sink::Hidden => Sink::Hidden,
        };
        child
    }

    /// Lines per loop in lines mode (ignored otherwise).
    pub fn with_max_lines(mut self, lines: usize) -> Self {
        if let Sink::Lines { max_lines, .. } = &mut self.sink {
            *max_lines = lines;
        }
        self
    }

    /// One item done, with its metrics (e.g. `&[("loss", 0.31), ("acc", 0.9)]`).
    pub fn tick(&mut self, metrics: &[(&str, f64)]) {
        self.inc(1, metrics);
    }

    /// `n` items done, with their metrics (counted once in the running means). In lines mode a
    /// line is printed at each of `max_lines` evenly spaced positions up to `total`, none past it
    /// (the final line comes from [`Progress::finish`]).
    pub fn inc(&mut self, n: u64, metrics: &[(&str, f64)]) {
        let before = self.pos;
        self.pos = self.pos.saturating_add(n);
        for (name, value) in metrics {
            match self.metrics.iter_mut().find(|(m, _, _)| m == name) {
                Some((_, sum, count)) => {
                    *sum += value;
                    *count += 1;
                }
                None => self.metrics.push((name.to_string(), *value, 1)),
            }
        }
        match &self.sink {
            Sink::Bar { bar, .. } => {
                bar.set_position(self.pos);
                bar.set_message(self.metrics_text());
            }
            Sink::Lines { max_lines, .. } => {
                // Which of the max_lines evenly spaced marks a position has passed (u128: no overflow).
                let (k, total) = (*max_lines as u128, self.total.max(1) as u128);
                let mark = |pos: u64| pos.min(self.total) as u128 * k / total;
                let reached_end = before < self.total && self.pos >= self.total;
                if reached_end || mark(before) < mark(self.pos) {
                    self.print_line();
                }
            }
            Sink::Hidden => {}
        }
    }

    fn print_line(&mut self) {
        let line = self.line();
        if let Sink::Lines {
            last_printed, out, ..
        } = &mut self.sink
        {
            if *last_printed != Some(self.pos) {
                *last_printed = Some(self.pos);
                let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
        }
    }

    /// The running means as ` name=value` pairs.
    fn metrics_text(&self) -> String {
        self.metrics()
            .iter()
            .map(|(name, mean)| format!(" {name}={mean:.4}"))
            .collect()
    }

    /// The status line now.
    pub fn line(&self) -> String {
        render(
            &self.label,
            self.pos,
            self.total,
            self.start.elapsed(),
            &self.metrics_text(),
        )
    }

    /// Items done so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Time since the loop started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Each metric's running mean, in the order first seen.
    pub fn metrics(&self) -> Vec<(String, f64)> {
        self.metrics
            .iter()
            .map(|(name, sum, count)| (name.clone(), sum / *count as f64))
            .collect()
    }

    /// One metric's running mean.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics()
            .into_iter()
            .find(|(m, _)| m == name)
            .map(|(_, v)| v)
    }

    /// Ends the loop: prints the last line if it was not printed yet, or leaves the terminal bar
    /// (a nested bar is cleared and replaced by its final line). Returns the loop for its metrics.
    pub fn finish(&mut self) -> &Self {
        if !self.finished {
            self.finished = true;
            match &self.sink {
                Sink::Bar { bar, multi } if self.nested => {
                    bar.finish_and_clear();
                    let _ = multi.println(self.line());
                }
                Sink::Bar { bar, .. } => bar.finish(),
                Sink::Lines { .. } => self.print_line(),
                Sink::Hidden => {}
            }
        }
        self
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose text the test reads back.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn lines(&self) -> Vec<String> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect()
        }
    }

    #[test]
    fn the_line_has_position_rate_eta_and_metrics() {
        assert_eq!(
            render("train", 50, 200, Duration::from_secs(10), " loss=0.2500"),
            "train [#####---------------]  50/200  25% 5.00 it/s ETA 30.0s elapsed 10.0s loss=0.2500"
        );
        assert_eq!(
            render("x", 0, 0, Duration::ZERO, ""),
            "x [####################] 0/0 100% 0.00 it/s ETA ? elapsed 0.0s"
        );
    }

    #[test]
    fn a_thousand_ticks_print_ten_lines_with_running_means() {
        let buf = Buffer::default();
        let mut p = Progress::new("batch", 1000).with_writer(buf.clone());
        for i in 0..1000 {
            p.tick(&[("loss", i as f64)]);
        }
        p.finish();
        let lines = buf.lines();
        assert_eq!(lines.len(), 10, "{lines:?}");
        assert!(
            lines[0].starts_with("batch [##------------------]  100/1000  10% "),
            "{}",
            lines[0]
        );
        // the running mean of 0..99, then of 0..999
        assert!(lines[0].ends_with(" loss=49.5000"), "{}", lines[0]);
        assert!(
            lines[9].contains(" 1000/1000 100% ") && lines[9].ends_with(" loss=499.5000"),
            "{}",
            lines[9]
        );
        assert_eq!(p.metric("loss"), Some(499.5));
        assert_eq!(p.metric("acc"), None);
    }

    #[test]
    fn nested_loops_print_compactly_and_an_early_end_prints_its_line() {
        let buf = Buffer::default();
        let mut epochs = Progress::new("epoch", 2).with_writer(buf.clone());
        for e in 0..2 {
            let mut batches = epochs.child(format!("epoch {e}"), 8);
            for b in 0..8 {
                batches.tick(&[("acc", b as f64 / 8.0)]);
            }
            let acc = batches.finish().metric("acc").unwrap();
            epochs.tick(&[("acc", acc)]);
        }
        epochs.finish();
        let lines = buf.lines();
        assert_eq!(lines.len(), 2 * 4 + 2, "{lines:?}");
        assert!(
            lines[0].starts_with("  epoch 0 [#####---------------] 2/8  25% "),
            "{}",
            lines[0]
        );
        assert!(lines[3].ends_with(" acc=0.4375"), "{}", lines[3]);
        assert!(
            lines[4].starts_with("epoch [##########----------] 1/2  50% ")
                && lines[4].ends_with(" acc=0.4375")
        );
        // a loop left early prints where it stopped, once
        let buf = Buffer::default();
        let mut p = Progress::new("b", 100)
            .with_writer(buf.clone())
            .with_max_lines(2);
        (0..30).for_each(|_| p.tick(&[]));
        p.finish();
        drop(p);
        assert_eq!(buf.lines().len(), 1);
        assert!(
            buf.lines()[0].starts_with("b [######--------------]  30/100  30% "),
            "{:?}",
            buf.lines()
        );
    }
}
