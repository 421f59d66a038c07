//! Dense arrays drawn as one raster image instead of one rectangle per cell: above
//! [`MAX_VECTOR_CELLS`] cells (an SVG rectangle costs about 100 bytes, so a `[1000, 4096]` heat map
//! would be a 400 MB SVG) the cells are painted into an RGB image of the plotting area, which the
//! PNG shows as pixels and the SVG embeds as one `<image>`.
use crate::error::{PlotError, Result};
use base64::Engine;
use plotters::style::RGBColor;
use std::ops::Range;

/// Above this many cells (or marks), a plot draws its cells as one embedded raster image.
pub const MAX_VECTOR_CELLS: usize = 1 << 16;

/// The largest array a plot accepts (2^24 cells, 64 MiB as `f32`); downsample larger ones first
/// (e.g. `avg_pool2d`, or `narrow` to the steps and neurons of interest).
pub const MAX_CELLS: usize = 1 << 24;

/// An RGB image at a pixel position of the figure, drawn over the rest of the plot.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Raster {
    x: i32,
    y: i32,
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

/// The cells that pixel `p` of `pixels` covers along an axis of `cells` cells: a block of them
/// when there are more cells than pixels, else the one cell under the pixel's leading edge.
fn block(p: usize, pixels: usize, cells: usize) -> Range<usize> {
    let start = p * cells / pixels;
    start..((p + 1) * cells / pixels).max(start + 1)
}

impl Raster {
    /// Paints the pixel rectangle `xs x ys` (absolute figure pixels) with a grid of `cols x rows`
    /// cells, row 0 at the top: each pixel gets `colour(columns, rows)` of the cells it covers.
    pub(crate) fn cells(
        (xs, ys): (Range<i32>, Range<i32>),
        cols: usize,
        rows: usize,
        colour: impl Fn(Range<usize>, Range<usize>) -> RGBColor,
    ) -> Raster {
        let (width, height) = (xs.len().max(1), ys.len().max(1));
        let col_blocks: Vec<Range<usize>> = (0..width).map(|p| block(p, width, cols)).collect();
        let mut rgb = Vec::with_capacity(width * height * 3);
        for py in 0..height {
            let row_block = block(py, height, rows);
            for c in &col_blocks {
                let RGBColor(r, g, b) = colour(c.clone(), row_block.clone());
                rgb.extend([r, g, b]);
            }
        }
        Raster {
            x: xs.start,
            y: ys.start,
            width: width as u32,
            height: height as u32,
            rgb,
        }
    }

    /// Copies the image into the `width x height` RGB pixels of a figure (clipped to it).
    pub(crate) fn blit(&self, pixels: &mut [u8], width: u32, height: u32) {
        let row_bytes = self.width as usize * 3;
        for (dy, row) in self.rgb.chunks_exact(row_bytes).enumerate() {
            let y = self.y as i64 + dy as i64;
            if y < 0 || y >= height as i64 {
                continue;
            }
            for (dx, px) in row.chunks_exact(3).enumerate() {
                let x = self.x as i64 + dx as i64;
                if (0..width as i64).contains(&x) {
                    let i = (y as usize * width as usize + x as usize) * 3;
                    pixels[i..i + 3].copy_from_slice(px);
                }
            }
        }
    }

    /// Adds the image to an SVG document as a PNG `<image>` (the last element, so on top).
    pub(crate) fn embed(&self, svg: &mut String) -> Result<()> {
        let png = encode_png(self.width, self.height, &self.rgb)?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(png);
        let image = format!(
            r#"<image x="{}" y="{}" width="{}" height="{}" preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,{b64}"/>
"#,
            self.x, self.y, self.width, self.height
        );
        let end = svg.rfind("</svg>").ok_or_else(|| PlotError::Draw {
            plot: "svg",
            message: "no </svg> end tag".into(),
        })?;
        svg.insert_str(end, &image);
        Ok(())
    }
}

/// PNG file bytes of `width x height` RGB pixels.
pub(crate) fn encode_png(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let err = |e: png::EncodingError| PlotError::Draw {
        plot: "png",
        message: e.to_string(),
    };
    let mut writer = enc.write_header().map_err(err)?;
    writer.write_image_data(rgb).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

/// The mean of `value(row, col)` over a block of cells.
pub(crate) fn block_mean(
    rows: Range<usize>,
    cols: Range<usize>,
    value: impl Fn(usize, usize) -> f64,
) -> f64 {
    let n = (rows.len() * cols.len()).max(1) as f64;
    rows.flat_map(|r| cols.clone().map(move |c| (r, c)))
        .map(|(r, c)| value(r, c))
        .sum::<f64>()
        / n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_partition_the_cells_or_pick_the_one_under_the_pixel() {
        // 10 cells over 4 pixels: every cell in exactly one block.
        let blocks: Vec<_> = (0..4).map(|p| block(p, 4, 10)).collect();
        assert_eq!(blocks, [0..2, 2..5, 5..7, 7..10]);
        // 2 cells over 4 pixels: each pixel shows one cell.
        let blocks: Vec<_> = (0..4).map(|p| block(p, 4, 2)).collect();
        assert_eq!(blocks, [0..1, 0..1, 1..2, 1..2]);
    }

    #[test]
    fn cells_are_painted_blitted_and_embedded() {
        // 2 x 2 pixels at (1, 1) of a 3 x 3 figure, one cell: colour by its block.
        let r = Raster::cells((1..3, 1..3), 4, 2, |c, rows| {
            RGBColor(c.start as u8, rows.start as u8, 7)
        });
        assert_eq!(r.rgb, [0, 0, 7, 2, 0, 7, 0, 1, 7, 2, 1, 7]);
        let mut pixels = vec![255u8; 27];
        r.blit(&mut pixels, 3, 3);
        assert_eq!(&pixels[..12], &[255; 12], "row 0 and (0, 1) untouched");
        assert_eq!(&pixels[12..18], &[0, 0, 7, 2, 0, 7]);
        let mut svg = "<svg>\n</svg>\n".to_string();
        r.embed(&mut svg).unwrap();
        assert!(
            svg.starts_with("<svg>\n<image x=\"1\" y=\"1\" width=\"2\" height=\"2\" ")
                && svg.ends_with("\"/>\n</svg>\n"),
            "{svg}"
        );
        assert!(block_mean(0..2, 1..3, |r, c| (r * 10 + c) as f64) == 6.5);
    }
}
