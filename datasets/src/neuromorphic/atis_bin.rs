//! `load_ATIS_bin`: the 40-bit event files of N-MNIST and N-Caltech101.
//!
//! Each event is 5 bytes: byte 0 = x, byte 1 = y, then bit 7 of byte 2 = polarity (0 OFF, 1 ON)
//! and the remaining 23 bits (bytes 2–4, big-endian) = timestamp in µs.
use super::events::Events;
use super::io::{read_file, Bytes};
use crate::error::Result;
use std::path::Path;

/// Reads an ATIS `.bin` file: `x = b0`, `y = b1`, `p = b2 >> 7`,
/// `t = ((b2 & 127) << 16) | (b3 << 8) | b4`. A length that is not a multiple of 5 is an error at the
/// offset of the incomplete event.
pub fn load_atis_bin(file: impl AsRef<Path>) -> Result<Events> {
    let file = file.as_ref();
    read_atis_bin(file).map_err(|e| e.in_reader("load_atis_bin"))
}

fn read_atis_bin(file: &Path) -> Result<Events> {
    let data = read_file(file)?;
    if data.len() % 5 != 0 {
        let at = data.len() - data.len() % 5;
        return Err(Bytes::new(file, &data).error_at(
            at,
            format!(
                "truncated event: ATIS .bin events are 5 bytes, {} bytes left over",
                data.len() % 5
            ),
        ));
    }
    let n = data.len() / 5;
    let mut e = Events {
        t: Vec::with_capacity(n),
        x: Vec::with_capacity(n),
        y: Vec::with_capacity(n),
        p: Vec::with_capacity(n),
    };
    for b in data.chunks_exact(5) {
        e.x.push(b[0] as u16);
        e.y.push(b[1] as u16);
        e.p.push(b[2] >> 7);
        e.t.push((((b[2] & 127) as i64) << 16) | ((b[3] as i64) << 8) | b[4] as i64);
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklist_240_reads_the_real_nmnist_recording() {
        let path = crate::neuromorphic::tests::sample_nmnist();
        let bytes = std::fs::read(&path).unwrap();
        let e = load_atis_bin(&path).unwrap();
        assert_eq!(bytes.len(), 21_625);
        assert_eq!(e.len(), 4_325);
        // Decoded by hand from the bytes: 07 0f 80 02 8e | 13 12 00 0b b7 | ... | 15 0e 84 bf 87.
        // Event 0: x = 7, y = 15, p = 0x80 >> 7 = 1, t = 0x00028e = 654 µs.
        // Event 1: x = 0x13 = 19, y = 0x12 = 18, p = 0, t = 0x000bb7 = 2999 µs.
        // Last: x = 0x15 = 21, y = 14, p = 1, t = 0x04bf87 = 311175 µs.
        assert_eq!((e.x[0], e.y[0], e.p[0], e.t[0]), (7, 15, 1, 654));
        assert_eq!((e.x[1], e.y[1], e.p[1], e.t[1]), (19, 18, 0, 2999));
        assert_eq!(
            (e.x[4324], e.y[4324], e.p[4324], e.t[4324]),
            (21, 14, 1, 311_175)
        );
        assert_eq!(&bytes[..5], [0x07, 0x0f, 0x80, 0x02, 0x8e]);
        assert!(
            e.x.iter().all(|&x| x < 34) && e.y.iter().all(|&y| y < 34),
            "N-MNIST is 34 x 34"
        );
        assert!(e.p.iter().all(|&p| p <= 1));
        assert!(
            e.t.windows(2).all(|w| w[0] <= w[1]),
            "timestamps never decrease"
        );
    }

    #[test]
    fn hand_written_events_and_truncation() {
        let dir = crate::neuromorphic::tests::test_dir("atis_bin");
        let f = dir.join("two.bin");
        // (x=33, y=2, ON, t=0x012345) and (x=0, y=31, OFF, t=0x7FFFFF).
        std::fs::write(&f, [33, 2, 0x81, 0x23, 0x45, 0, 31, 0x7f, 0xff, 0xff]).unwrap();
        let e = load_atis_bin(&f).unwrap();
        assert_eq!(
            e,
            Events::new(
                vec![0x012345, 0x7fffff],
                vec![33, 0],
                vec![2, 31],
                vec![1, 0]
            )
            .unwrap()
        );
        std::fs::write(&f, [33, 2, 0x81, 0x23, 0x45, 0, 31]).unwrap();
        let err = load_atis_bin(&f).unwrap_err().to_string();
        assert!(
            err.contains("two.bin") && err.contains("at byte 5") && err.contains("truncated"),
            "{err}"
        );
        assert!(load_atis_bin(dir.join("missing.bin"))
            .unwrap_err()
            .to_string()
            .contains("missing.bin"));
    }
}
