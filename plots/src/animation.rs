//! [`Animation`]: frames played as an animated GIF, shown inline in evcxr and saved with
//! [`Animation::save_gif_to`] (SpikingJelly's `play_frame(x, save_gif_to=...)`).
use crate::error::{PlotError, Result};
use crate::figure::{fnv1a64, write_atomic};
use base64::Engine;
use std::path::Path;

/// Frames of `width x height` RGB pixels played in a loop, `delay_ms` apart.
#[derive(Clone)]
pub struct Animation {
    title: String,
    width: u16,
    height: u16,
    delay_ms: u16,
    /// Frame-major `[frames][height][width][3]`.
    rgb: Vec<u8>,
    /// The factor the inline GIF enlarges each pixel by (the saved GIF keeps the frames' size).
    display_scale: u16,
}

impl Animation {
    /// An animation of `rgb` (`frames x height x width x 3` bytes), each frame shown `delay_ms`
    /// milliseconds, enlarged `display_scale` times when shown inline.
    pub fn new(
        title: impl Into<String>,
        width: usize,
        height: usize,
        rgb: Vec<u8>,
        delay_ms: u16,
        display_scale: usize,
    ) -> Result<Self> {
        let plot = "Animation";
        let side = |v: usize| u16::try_from(v).ok().filter(|&v| v > 0);
        let (Some(w), Some(h)) = (side(width), side(height)) else {
            return Err(PlotError::Data {
                plot,
                message: format!("{width} x {height} frames: GIF sides are 1 to 65535 pixels"),
            });
        };
        let frame = width * height * 3;
        if rgb.is_empty() || rgb.len() % frame != 0 {
            return Err(PlotError::Data {
                plot,
                message: format!(
                    "{} bytes are not a whole, non-zero number of {width} x {height} RGB frames",
                    rgb.len()
                ),
            });
        }
        let scale = display_scale.clamp(1, usize::from(u16::MAX / w.max(h)));
        Ok(Animation {
            title: title.into(),
            width: w,
            height: h,
            delay_ms,
            rgb,
            display_scale: scale as u16,
        })
    }

    /// Number of frames.
    pub fn frame_count(&self) -> usize {
        self.rgb.len() / (usize::from(self.width) * usize::from(self.height) * 3)
    }

    /// `(width, height)` of a frame in pixels.
    pub fn size(&self) -> (u16, u16) {
        (self.width, self.height)
    }

    /// The GIF file: every frame at `scale` times its size, looping forever.
    pub fn gif(&self, scale: u16) -> Result<Vec<u8>> {
        let err = |e: gif::EncodingError| PlotError::Draw {
            plot: "Animation::gif",
            message: e.to_string(),
        };
        let s = usize::from(scale.max(1));
        let (w, h) = (usize::from(self.width), usize::from(self.height));
        let (sw, sh) = (w * s, h * s);
        let (Ok(gw), Ok(gh)) = (u16::try_from(sw), u16::try_from(sh)) else {
            return Err(PlotError::Data {
                plot: "Animation::gif",
                message: format!("{sw} x {sh} pixels: GIF sides are at most 65535"),
            });
        };
        let mut out = Vec::new();
        {
            let mut enc = gif::Encoder::new(&mut out, gw, gh, &[]).map_err(err)?;
            enc.set_repeat(gif::Repeat::Infinite).map_err(err)?;
            let mut big = vec![0u8; sw * sh * 3];
            for frame in self.rgb.chunks_exact(w * h * 3) {
                for (y, row) in big.chunks_exact_mut(sw * 3).enumerate() {
                    for (x, px) in row.chunks_exact_mut(3).enumerate() {
                        let i = ((y / s) * w + x / s) * 3;
                        px.copy_from_slice(&frame[i..i + 3]);
                    }
                }
                let mut f = gif::Frame::from_rgb(gw, gh, &big);
                f.delay = self.delay_ms / 10;
                enc.write_frame(&f).map_err(err)?;
            }
        }
        Ok(out)
    }

    /// Saves the GIF at the frames' own size (as SpikingJelly's `play_frame(x, save_gif_to=path)`);
    /// writes a temporary file, then renames it.
    pub fn save_gif_to(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), &self.gif(1)?)
    }

    /// The text stored beside the GIF in notebooks, so that regressions are caught.
    pub fn digest(&self) -> String {
        let hash = fnv1a64(&self.rgb);
        format!(
            "Animation '{}' {} frames of {}x{} px, {} ms each, fnv1a64 {hash:016x}",
            self.title,
            self.frame_count(),
            self.width,
            self.height,
            self.delay_ms
        )
    }

    /// evcxr's display hook: the GIF inline (enlarged), with [`Animation::digest`] as its text form.
    pub fn evcxr_display(&self) {
        match self.gif(self.display_scale) {
            Ok(gif) => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(gif);
                println!("EVCXR_BEGIN_CONTENT image/gif\n{b64}\nEVCXR_END_CONTENT");
                println!(
                    "EVCXR_BEGIN_CONTENT text/plain\n{}\nEVCXR_END_CONTENT",
                    self.digest()
                );
            }
            Err(e) => println!("EVCXR_BEGIN_CONTENT text/plain\n{e}\nEVCXR_END_CONTENT"),
        }
    }
}

impl std::fmt::Debug for Animation {
    /// The digest, not the pixels.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.digest())
    }
}
