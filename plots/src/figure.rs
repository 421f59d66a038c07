//! [`Figure`]: a rendered plot, displayable inline in evcxr and savable as PNG or SVG.
use crate::error::{draw_err, PlotError, Result};
use crate::font;
use crate::raster::{encode_png, Raster};
use base64::Engine;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The largest figure side in pixels (a 16384 x 16384 figure is 768 MiB of pixels).
const MAX_SIDE: u32 = 16384;

/// A plot drawn on any plotters backend; each plot function implements it once and [`Figure`]
/// renders it to both pixels and SVG.
pub(crate) trait Draw {
    /// The plot's name for error messages (SpikingJelly's function name).
    const PLOT: &'static str;
    /// Draws the plot; a [`Raster`] returned is laid over the drawing (dense cells of large arrays).
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<Option<Raster>>;
}

/// A finished figure: RGB pixels plus the same drawing as SVG.
#[derive(Clone)]
pub struct Figure {
    title: String,
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    svg: String,
}

/// A figure shown as SVG instead of PNG in a notebook (see [`Figure::as_svg`]).
#[derive(Clone, Debug)]
pub struct Svg(pub String);

impl Figure {
    /// Draws `plot` on a `width x height` figure (each side 1 to 16384 pixels, else an error).
    pub(crate) fn render<D: Draw>(
        title: &str,
        width: u32,
        height: u32,
        plot: &D,
    ) -> Result<Figure> {
        if !(1..=MAX_SIDE).contains(&width) || !(1..=MAX_SIDE).contains(&height) {
            return Err(PlotError::Data {
                plot: D::PLOT,
                message: format!("a {width} x {height} pixel figure is too large (at most {MAX_SIDE} pixels a side); plot less data"),
            });
        }
        font::ensure_registered();
        let mut rgb = vec![0u8; width as usize * height as usize * 3];
        let raster = {
            let area = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
            area.fill(&WHITE).map_err(draw_err(D::PLOT))?;
            let raster = plot.draw(&area)?;
            area.present().map_err(draw_err(D::PLOT))?;
            raster
        };
        if let Some(raster) = raster {
            raster.blit(&mut rgb, width, height);
        }
        let mut svg = String::new();
        let raster = {
            let area = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            area.fill(&WHITE).map_err(draw_err(D::PLOT))?;
            let raster = plot.draw(&area)?;
            area.present().map_err(draw_err(D::PLOT))?;
            raster
        };
        if let Some(raster) = raster {
            raster.embed(&mut svg)?;
        }
        Ok(Figure {
            title: title.to_string(),
            width,
            height,
            rgb,
            svg,
        })
    }

    /// Width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The RGB pixel at `(x, y)`, `None` outside the figure.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        Some([self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]])
    }

    /// Fraction of pixels that are not white.
    pub fn ink(&self) -> f64 {
        let inked = self
            .rgb
            .chunks_exact(3)
            .filter(|p| p != &[255, 255, 255])
            .count();
        inked as f64 / (self.width as f64 * self.height as f64)
    }

    /// FNV-1a 64-bit hash of the pixels: equal for equal images.
    pub fn pixel_hash(&self) -> u64 {
        fnv1a64(&self.rgb)
    }

    /// The text stored beside the image in notebooks, so that image regressions are caught.
    pub fn digest(&self) -> String {
        format!(
            "Figure '{}' {}x{} px, ink {:.2}%, fnv1a64 {:016x}",
            self.title,
            self.width,
            self.height,
            100.0 * self.ink(),
            self.pixel_hash()
        )
    }

    /// PNG file bytes.
    pub fn png(&self) -> Result<Vec<u8>> {
        encode_png(self.width, self.height, &self.rgb)
    }

    /// The SVG document.
    pub fn svg(&self) -> &str {
        &self.svg
    }

    /// A value that evcxr shows as SVG.
    pub fn as_svg(&self) -> Svg {
        Svg(self.svg.clone())
    }

    /// Saves as PNG or SVG by the extension of `path`. Writes a temporary file, then renames it.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = match path.extension().and_then(|e| e.to_str()) {
            Some("png") => self.png()?,
            Some("svg") => self.svg.as_bytes().to_vec(),
            _ => {
                return Err(PlotError::Data {
                    plot: "Figure::save",
                    message: format!("{}: use a .png or .svg file name", path.display()),
                })
            }
        };
        write_atomic(path, &bytes)
    }

    /// evcxr's display hook: the PNG inline, with [`Figure::digest`] as its text form.
    pub fn evcxr_display(&self) {
        match self.png() {
            Ok(png) => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(png);
                println!("EVCXR_BEGIN_CONTENT image/png\n{b64}\nEVCXR_END_CONTENT");
                println!(
                    "EVCXR_BEGIN_CONTENT text/plain\n{}\nEVCXR_END_CONTENT",
                    self.digest()
                );
            }
            Err(e) => println!("EVCXR_BEGIN_CONTENT text/plain\n{e}\nEVCXR_END_CONTENT"),
        }
    }
}

impl std::fmt::Debug for Figure {
    /// The digest, not the pixels (evcxr falls back to `Debug` when it cannot call `evcxr_display`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.digest())
    }
}

impl Svg {
    /// evcxr's display hook: the SVG inline.
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT image/svg+xml\n{}\nEVCXR_END_CONTENT",
            self.0
        );
    }
}

/// FNV-1a 64-bit hash of `bytes` (the notebooks' image digests).
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes `bytes` to a temporary sibling of `path` (unique to the process), then renames it to
/// `path`; the temporary is removed on failure. Errors name `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| PlotError::Io {
        path: path.display().to_string(),
        source,
    };
    let tmp = path.with_file_name(format!(
        ".{}.partial-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}
