//! `load_aedat_v3`: AEDAT 3.1 files (DVS128 Gesture).
//!
//! An ASCII header of `#` lines, the first `#!AER-DAT3.x`, the last `#!END-HEADER\r\n`; then packets,
//! each a 28-byte little-endian header (`eventType u16, eventSource u16, eventSize u32,
//! eventTSOffset u32, eventTSOverflow u32, eventCapacity u32, eventNumber u32, eventValid u32`)
//! followed by `eventCapacity · eventSize` bytes. Polarity events (type 1) are `data u32, timestamp
//! u32` with `x = data >> 17 & 0x7FFF`, `y = data >> 2 & 0x7FFF`, `p = data >> 1 & 1` (bit 0 is the
//! validity mark, ignored as SpikingJelly does) and `t = timestamp | overflow << 31`. Other packet
//! types are skipped. Like SpikingJelly, all `eventCapacity` slots of a packet are read.
use super::events::{narrow, Events};
use super::io::{read_file, Bytes};
use crate::error::Result;
use std::path::Path;

/// The AEDAT 3.1 polarity event type.
const POLARITY_EVENT: u16 = 1;

/// Reads an AEDAT 3.1 file's polarity events.
pub fn load_aedat_v3(file: impl AsRef<Path>) -> Result<Events> {
    let file = file.as_ref();
    read_aedat_v3(file).map_err(|e| e.in_reader("load_aedat_v3"))
}

fn read_aedat_v3(file: &Path) -> Result<Events> {
    let data = read_file(file)?;
    let mut b = Bytes::new(file, &data);
    let first = b.line();
    if !first.starts_with(b"#!AER-DAT3") {
        return Err(b.error_at(0, "not an AEDAT 3 file: the first line is not #!AER-DAT3.x"));
    }
    loop {
        let at = b.pos();
        let line = b.line();
        if line == b"#!END-HEADER\r\n" {
            break;
        }
        if !line.starts_with(b"#") {
            return Err(b.error_at(at, "header ends without a #!END-HEADER line"));
        }
    }
    let mut e = Events::default();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    while b.remaining() > 0 {
        let at = b.pos();
        let event_type = b.u16_le("packet header")?;
        let _source = b.u16_le("packet header")?;
        let size = b.u32_le("packet header")? as usize;
        let _ts_offset = b.u32_le("packet header")?;
        let overflow = b.u32_le("packet header")? as i64;
        let capacity = b.u32_le("packet header")? as usize;
        let _number = b.u32_le("packet header")?;
        let _valid = b.u32_le("packet header")?;
        let len = capacity.checked_mul(size).ok_or_else(|| {
            b.error_at(
                at,
                format!("packet of {capacity} events of {size} bytes overflows"),
            )
        })?;
        let body = b.take(len, "packet")?;
        if event_type != POLARITY_EVENT {
            continue;
        }
        if size < 8 {
            return Err(b.error_at(
                at,
                format!("polarity events are at least 8 bytes, the packet says {size}"),
            ));
        }
        for ev in body.chunks_exact(size) {
            let d = u32::from_le_bytes([ev[0], ev[1], ev[2], ev[3]]);
            let ts = u32::from_le_bytes([ev[4], ev[5], ev[6], ev[7]]) as i64;
            x.push(((d >> 17) & 0x7FFF) as i64);
            y.push(((d >> 2) & 0x7FFF) as i64);
            e.p.push(((d >> 1) & 1) as u8);
            e.t.push(ts | (overflow << 31));
        }
    }
    let what = file.display().to_string();
    e.x = narrow(&x, &what, "x")?;
    e.y = narrow(&y, &what, "y")?;
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::aedat3_gesture_file;

    #[test]
    fn checklist_239_polarity_events_by_the_documented_bit_layout() {
        let dir = crate::neuromorphic::tests::test_dir("aedat3");
        let f = dir.join("user01_fluorescent.aedat");
        let mut bytes = aedat3_gesture_file(&[
            (127, 0, 1, 80_048_267, 0),
            (0, 127, 0, 0x7FFF_FFF0, 0),
            (55, 92, 0, 5, 1),
        ])
        .unwrap();
        // Check the documented layout on the raw bytes: x = 127, y = 0, p = 1, valid -> 0x00FE0003.
        let first = bytes.len() - 3 * 36 + 28;
        assert_eq!(&bytes[first..first + 4], [0x03, 0x00, 0xFE, 0x00]);
        std::fs::write(&f, &bytes).unwrap();
        let e = load_aedat_v3(&f).unwrap();
        assert_eq!(e.x, [127, 0, 55]);
        assert_eq!(e.y, [0, 127, 92]);
        assert_eq!(e.p, [1, 0, 0]);
        assert_eq!(e.t, [80_048_267, 0x7FFF_FFF0, (1 << 31) | 5]);
        // A packet cut short, a header without its end line, and a file that is not AEDAT.
        bytes.truncate(bytes.len() - 3);
        std::fs::write(&f, &bytes).unwrap();
        let err = load_aedat_v3(&f).unwrap_err().to_string();
        assert!(
            err.contains("user01_fluorescent.aedat")
                && err.contains(&format!("at byte {}", bytes.len() + 3 - 8))
                && err.contains("truncated packet"),
            "{err}"
        );
        std::fs::write(&f, b"#!AER-DAT3.1\r\n#Format: RAW\r\n\x01\x00").unwrap();
        assert!(load_aedat_v3(&f)
            .unwrap_err()
            .to_string()
            .contains("at byte 28: header ends without"));
        std::fs::write(&f, [0u8; 40]).unwrap();
        assert!(load_aedat_v3(&f)
            .unwrap_err()
            .to_string()
            .contains("not an AEDAT 3 file"));
    }
}
