//! `ImageFolder`: torchvision's generic dataset of images sorted into one folder per class.
//!
//! Reads PNG (any colour type and bit depth, with the `png` crate) and binary PGM (`P5`) / PPM
//! (`P6`) files with a maxval of at most 255; every image becomes 8-bit RGB (grey replicated,
//! alpha dropped, 16-bit samples cut to their high byte, palettes expanded; a PGM/PPM maxval
//! below 255 is scaled to 255 as Pillow does: `round(v / maxval * 255)`), then is resized to the
//! requested size as `torch.nn.functional.interpolate(x.float(), size, mode='bilinear',
//! align_corners=False)` does, rounded (half to even) and clamped to 0..255.
use crate::error::{DatasetError, Result};
use crate::image_dataset::ImageDataset;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

/// torchvision's `ImageFolder(root)` followed by a resize to one size: each sub-folder of `root`
/// is a class (sorted by name; the label is the position), each `.png`, `.pgm` or `.ppm` file in
/// it (any case; sorted by name) a sample. Other files, sub-folders of a class folder and hidden
/// entries (names starting with `.`) are skipped.
pub struct ImageFolder;

const HINT: &str = "expected one sub-folder per class, each holding .png, .pgm or .ppm images";

impl ImageFolder {
    /// The file extensions read, matched case-insensitively.
    pub const EXTENSIONS: [&'static str; 3] = ["png", "pgm", "ppm"];

    /// Every image under `root`, as 8-bit RGB resized to `size` = `[H, W]` (images already of
    /// that size are kept as they are), with the class folders' names as class names. A missing
    /// root, a root without class folders or a class folder without images is a
    /// [`DatasetError::Missing`]; an unreadable or corrupt image an error naming the file.
    // `new` returns the dataset, as torchvision's constructor does.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(root: impl AsRef<Path>, size: [usize; 2]) -> Result<ImageDataset> {
        let root = root.as_ref();
        let missing = |what: String, path: &Path| DatasetError::Missing {
            what,
            path: path.display().to_string(),
            hint: HINT.into(),
        };
        if size.contains(&0) {
            return Err(DatasetError::config(
                "ImageFolder",
                format!("size {size:?} has a zero dimension"),
            ));
        }
        if !root.is_dir() {
            return Err(missing("ImageFolder root folder".into(), root));
        }
        let folders: Vec<PathBuf> = visible_entries(root)?
            .into_iter()
            .filter(|p| p.is_dir())
            .collect();
        if folders.is_empty() {
            return Err(missing("ImageFolder class folders".into(), root));
        }
        let mut classes = Vec::with_capacity(folders.len());
        let mut files = Vec::new();
        let mut targets = Vec::new();
        for (label, folder) in folders.iter().enumerate() {
            let name = folder
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let images: Vec<PathBuf> = visible_entries(folder)?
                .into_iter()
                .filter(|p| p.is_file() && is_image(p))
                .collect();
            if images.is_empty() {
                return Err(missing(
                    format!("ImageFolder images of class {name:?}"),
                    folder,
                ));
            }
            targets.extend(std::iter::repeat_n(label as i64, images.len()));
            files.extend(images);
            classes.push(name);
        }
        let pixels = files
            .par_iter()
            .map(|file| read_rgb(file).and_then(|(rgb, shape)| resize(rgb, shape, size)))
            .collect::<Result<Vec<Vec<u8>>>>()
            .map_err(|e| e.in_reader("ImageFolder"))?
            .concat();
        let name = format!("ImageFolder({})", root.display());
        ImageDataset::new(name, pixels, [3, size[0], size[1]], targets, classes)
    }
}

/// The entries of `dir` whose names do not start with `.`, sorted by name.
fn visible_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)
        .and_then(|it| {
            it.map(|e| e.map(|e| e.path()))
                .collect::<std::io::Result<Vec<_>>>()
        })
        .map_err(|e| DatasetError::io(dir, e))?;
    entries.retain(|p| {
        p.file_name()
            .is_some_and(|n| !n.as_encoded_bytes().starts_with(b"."))
    });
    entries.sort();
    Ok(entries)
}

/// Whether `path` has one of [`ImageFolder::EXTENSIONS`], in any case.
fn is_image(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ImageFolder::EXTENSIONS
            .iter()
            .any(|x| x.eq_ignore_ascii_case(e))
    })
}

/// The image in `file` as 8-bit RGB `[3, H, W]`, with `[H, W]`.
fn read_rgb(file: &Path) -> Result<(Vec<u8>, [usize; 2])> {
    let bytes = std::fs::read(file).map_err(|e| DatasetError::io(file, e))?;
    let is_png = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let (pixels, [h, w], samples) = if is_png {
        decode_png(&bytes).map_err(|e| {
            let message = format!("not a readable PNG image: {e}");
            DatasetError::io(
                file,
                std::io::Error::new(std::io::ErrorKind::InvalidData, message),
            )
        })?
    } else {
        decode_pnm(file, &bytes)?
    };
    if h == 0 || w == 0 {
        return Err(DatasetError::format(
            file,
            0,
            format!("image of zero size {w}x{h}"),
        ));
    }
    // Interleaved samples (grey, grey+alpha, RGB or RGBA) to RGB planes.
    let mut rgb = vec![0u8; 3 * h * w];
    for (i, p) in pixels.chunks_exact(samples).take(h * w).enumerate() {
        let (r, g, b) = if samples < 3 {
            (p[0], p[0], p[0])
        } else {
            (p[0], p[1], p[2])
        };
        (rgb[i], rgb[h * w + i], rgb[2 * h * w + i]) = (r, g, b);
    }
    Ok((rgb, [h, w]))
}

/// A PNG's interleaved 8-bit samples, `[H, W]` and the samples per pixel (1 to 4), or the
/// decoder's message.
fn decode_png(bytes: &[u8]) -> std::result::Result<(Vec<u8>, [usize; 2], usize), String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    // Palettes and low bit depths to 8 bits (tRNS to an alpha channel), 16 bits to the high byte.
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let len = reader.output_buffer_size().unwrap_or(usize::MAX);
    let mut buf = Vec::new();
    buf.try_reserve_exact(len)
        .map_err(|_| format!("{len} bytes of pixels are more than can be allocated"))?;
    buf.resize(len, 0);
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    buf.truncate(info.buffer_size());
    let samples = info.color_type.samples();
    if info.bit_depth != png::BitDepth::Eight || !(1..=4).contains(&samples) {
        return Err(format!(
            "unexpected decoded format {:?} {:?}",
            info.color_type, info.bit_depth
        ));
    }
    Ok((buf, [info.height as usize, info.width as usize], samples))
}

/// A binary PGM (`P5`) or PPM (`P6`) file's interleaved samples scaled to 0..255, `[H, W]` and
/// the samples per pixel (1 or 3).
fn decode_pnm(file: &Path, bytes: &[u8]) -> Result<(Vec<u8>, [usize; 2], usize)> {
    let samples = match bytes.get(..2) {
        Some(b"P5") => 1,
        Some(b"P6") => 3,
        _ => {
            return Err(DatasetError::format(
                file,
                0,
                "not a binary PGM (magic P5) or PPM (magic P6) file",
            ))
        }
    };
    let mut pos = 2;
    // The next header number, after whitespace and `#` comments.
    let mut number = |what: &str| {
        while let Some(&b) = bytes.get(pos) {
            match b {
                b'#' => {
                    while bytes.get(pos).is_some_and(|&c| c != b'\n' && c != b'\r') {
                        pos += 1;
                    }
                }
                b if b.is_ascii_whitespace() => pos += 1,
                _ => break,
            }
        }
        let start = pos;
        while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        std::str::from_utf8(&bytes[start..pos])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| {
                DatasetError::format(
                    file,
                    start as u64,
                    format!("expected the {what}, a decimal number"),
                )
            })
    };
    let (w, h, maxval) = (number("width")?, number("height")?, number("maxval")?);
    if !bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
        return Err(DatasetError::format(
            file,
            pos as u64,
            "expected a whitespace byte after the maxval",
        ));
    }
    pos += 1;
    if !(1..=255).contains(&maxval) {
        return Err(DatasetError::format(
            file,
            pos as u64,
            format!("maxval {maxval}: only 8-bit files (maxval 1..=255) are read"),
        ));
    }
    let len = w.checked_mul(h).and_then(|n| n.checked_mul(samples));
    let raster = len
        .and_then(|n| bytes.get(pos..pos.checked_add(n)?))
        .ok_or_else(|| {
            DatasetError::format(
                file,
                bytes.len() as u64,
                format!(
                    "truncated: a {w}x{h} image needs {} bytes after the {pos}-byte header, \
                     the file has {}",
                    w.saturating_mul(h).saturating_mul(samples),
                    bytes.len() - pos
                ),
            )
        })?;
    let scale = |v: u8| {
        (f64::from(v) / maxval as f64 * 255.0)
            .round_ties_even()
            .min(255.0) as u8
    };
    let pixels = if maxval == 255 {
        raster.to_vec()
    } else {
        raster.iter().map(|&v| scale(v)).collect()
    };
    Ok((pixels, [h, w], samples))
}

/// `rgb` (`[3, H, W]` with `[H, W]` = `from`) resized bilinearly to `to` by libtorch, as
/// `F.interpolate(mode='bilinear', align_corners=False)` on floats, rounded and clamped to u8.
fn resize(rgb: Vec<u8>, from: [usize; 2], to: [usize; 2]) -> Result<Vec<u8>> {
    if from == to {
        return Ok(rgb);
    }
    let [h, w] = from.map(|d| d as i64);
    let y = Tensor::f_from_data_size(&rgb, &[1, 3, h, w], Kind::Uint8)?
        .f_to_kind(Kind::Float)?
        .f_upsample_bilinear2d(to.map(|d| d as i64), false, None, None)?
        .f_round()?
        .f_clamp(0.0, 255.0)?
        .f_to_kind(Kind::Uint8)?
        .f_flatten(0, -1)?;
    Ok(Vec::<u8>::try_from(&y)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Dataset;

    /// A PNG of `w x h` pixels of colour type `color` and bit depth `depth` (`data` as PNG lays
    /// it out: interleaved, 16-bit samples big-endian).
    fn png_file(
        w: u32,
        h: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(color);
        enc.set_depth(depth);
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(data).unwrap();
        writer.finish().unwrap();
        out
    }

    /// Planes `[3, H, W]` from interleaved RGB.
    fn planar(rgb: &[u8]) -> Vec<u8> {
        (0..3)
            .flat_map(|c| rgb.iter().skip(c).step_by(3).copied())
            .collect()
    }

    #[test]
    fn classes_labels_pixels_and_resize() {
        let root =
            std::env::temp_dir().join(format!("sj_image_folder_test_{}", std::process::id()));
        let (dog, cat) = (root.join("dog"), root.join("cat"));
        for d in [&dog, &cat, &root.join(".hidden_class")] {
            std::fs::create_dir_all(d).unwrap();
        }
        // cat/1.png: 4x4 RGB, copied as it is.
        let rgb: Vec<u8> = (0..48).map(|i| (i * 5 + 3) as u8).collect();
        std::fs::write(
            cat.join("1.png"),
            png_file(4, 4, png::ColorType::Rgb, png::BitDepth::Eight, &rgb),
        )
        .unwrap();
        // cat/0.PPM: 2x2, resized to 4x4: R = [[0, 100], [200, 40]], G = 10,
        // B = [[255, 255], [0, 0]].
        let mut ppm = b"P6\n# a comment\n2 2\n255\n".to_vec();
        ppm.extend([0, 10, 255, 100, 10, 255, 200, 10, 0, 40, 10, 0]);
        std::fs::write(cat.join("0.PPM"), ppm).unwrap();
        // dog/a.png: 4x4 grey; dog/b.pgm: 4x4 grey with maxval 15; skipped files.
        let grey: Vec<u8> = (0..16).map(|i| (i * 16 + 1) as u8).collect();
        std::fs::write(
            dog.join("a.png"),
            png_file(4, 4, png::ColorType::Grayscale, png::BitDepth::Eight, &grey),
        )
        .unwrap();
        let mut pgm = b"P5 4 4 15\n".to_vec();
        pgm.extend(0..16u8);
        std::fs::write(dog.join("b.pgm"), pgm).unwrap();
        std::fs::write(dog.join(".c.png"), b"not a png").unwrap();
        std::fs::write(dog.join("notes.txt"), b"skipped").unwrap();
        std::fs::write(root.join("stray.png"), b"skipped").unwrap();

        let d = ImageFolder::new(&root, [4, 4]).unwrap();
        assert_eq!(d.classes(), vec!["cat".to_string(), "dog".to_string()]);
        assert_eq!(
            (d.labels(), d.image_shape()),
            (&[0, 0, 1, 1][..], [3, 4, 4])
        );
        // align_corners=False, 2 -> 4: source positions -0.25 (clamped to 0), 0.25, 0.75, 1.25
        // (past the last pixel: the last pixel), so a row [a, b] becomes
        // [a, 0.75a + 0.25b, 0.25a + 0.75b, b]; then the same down the columns.
        #[rustfmt::skip]
        let red: [u8; 16] = [
            0, 25, 75, 100,
            50, 59, 76, 85, // 58.75, 76.25
            150, 126, 79, 55, // 126.25, 78.75
            200, 160, 80, 40,
        ];
        let blue: Vec<u8> = [[255; 4], [191; 4], [64; 4], [0; 4]].concat(); // 191.25, 63.75
        assert_eq!(
            d.pixels(0).unwrap(),
            [&red[..], &[10; 16][..], &blue[..]].concat()
        );
        assert_eq!(d.pixels(1).unwrap(), planar(&rgb));
        assert_eq!(d.pixels(2).unwrap(), grey.repeat(3));
        let scaled: Vec<u8> = (0..16).map(|v| v * 17).collect();
        assert_eq!(d.pixels(3).unwrap(), scaled.repeat(3));
        let (x, y) = d.get(1).unwrap();
        assert_eq!(
            (x.size(), y, x.int64_value(&[1, 2, 3])),
            (vec![3, 4, 4], 0, rgb[(2 * 4 + 3) * 3 + 1] as i64)
        );

        // A corrupt PNG, an empty class, no classes, no root: errors naming the file or folder.
        let bad = dog.join("a.png");
        let full = png_file(4, 4, png::ColorType::Grayscale, png::BitDepth::Eight, &grey);
        std::fs::write(&bad, &full[..43]).unwrap(); // in the middle of IDAT
        let e = ImageFolder::new(&root, [4, 4]).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "ImageFolder: {}: not a readable PNG image: ",
                bad.display()
            )),
            "{e}"
        );
        std::fs::write(&bad, b"P5 0 4 255\n").unwrap();
        std::fs::rename(&bad, dog.join("a.pgm")).unwrap();
        let e = ImageFolder::new(&root, [4, 4]).unwrap_err().to_string();
        assert!(
            e.contains("a.pgm: at byte 0: image of zero size 0x4"),
            "{e}"
        );
        std::fs::remove_dir_all(&dog).unwrap();
        std::fs::create_dir(&dog).unwrap();
        let e = ImageFolder::new(&root, [4, 4]).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "ImageFolder images of class \"dog\" not found at {}",
                dog.display()
            )),
            "{e}"
        );
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::create_dir(&root).unwrap();
        let e = ImageFolder::new(&root, [4, 4]).unwrap_err().to_string();
        assert!(
            e.starts_with("ImageFolder class folders not found at "),
            "{e}"
        );
        std::fs::remove_dir_all(&root).unwrap();
        let e = ImageFolder::new(&root, [4, 4]).unwrap_err().to_string();
        assert!(
            e.starts_with("ImageFolder root folder not found at "),
            "{e}"
        );
    }

    #[test]
    fn png_colour_types_become_rgb() {
        let dir = std::env::temp_dir().join(format!("sj_image_folder_png_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("x.png");
        // 16-bit RGBA: the high bytes, alpha dropped.
        let rgba16 = [
            0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
            0x07, 0x08,
        ];
        std::fs::write(
            &file,
            png_file(2, 1, png::ColorType::Rgba, png::BitDepth::Sixteen, &rgba16),
        )
        .unwrap();
        assert_eq!(
            read_rgb(&file).unwrap(),
            (vec![0x12, 0x01, 0x56, 0x03, 0x9a, 0x05], [1, 2])
        );
        // 8-bit grey + alpha: grey replicated.
        std::fs::write(
            &file,
            png_file(
                1,
                2,
                png::ColorType::GrayscaleAlpha,
                png::BitDepth::Eight,
                &[7, 1, 9, 2],
            ),
        )
        .unwrap();
        assert_eq!(read_rgb(&file).unwrap(), (vec![7, 9, 7, 9, 7, 9], [2, 1]));
        // A PPM that stops short, and a 16-bit PGM.
        std::fs::write(file.with_extension("ppm"), b"P6 2 1 255\n\x01\x02\x03").unwrap();
        let e = read_rgb(&file.with_extension("ppm"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.ppm: at byte 14: truncated: a 2x1 image needs 6 bytes"),
            "{e}"
        );
        std::fs::write(file.with_extension("pgm"), b"P5 1 1 65535\n\x01\x02").unwrap();
        let e = read_rgb(&file.with_extension("pgm"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("maxval 65535: only 8-bit files"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
