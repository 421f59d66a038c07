//! The embedded font. plotters keeps registered fonts in a per-process global, and evcxr links a
//! fresh copy of every dependency into each cell, so the font is registered before every render.
use plotters::style::{register_font, FontStyle};

/// The family name every sj figure uses.
pub(crate) const FAMILY: &str = "sans-serif";

pub(crate) fn ensure_registered() {
    // Registering again replaces the entry with the same bytes; it cannot fail for a valid font.
    let _ = register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular());
    let _ = register_font(FAMILY, FontStyle::Bold, dejavu::sans::bold());
}
