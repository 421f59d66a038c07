//! Parallel preprocessing over files with rayon, with an indicatif progress bar (drawn on a
//! terminal's stderr, hidden elsewhere, e.g. in notebooks and tests).
use crate::error::Result;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

/// Runs `f` on every item in parallel, counting them on a progress bar labelled `what`; stops at
/// the first error and returns it.
pub(crate) fn par_for_each<T: Sync>(
    what: &str,
    items: &[T],
    f: impl Fn(&T) -> Result<()> + Sync + Send,
) -> Result<()> {
    let bar = ProgressBar::new(items.len() as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} [{elapsed_precise}, eta {eta}]")
    {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    let result = items.par_iter().try_for_each(|item| {
        let r = f(item);
        bar.inc(1);
        r
    });
    bar.finish_and_clear();
    result
}
