//! Artifact blobs: gzip (or, from old clients, raw) around a pickle, decompressed within a limit.

use std::io::Read;

/// Why a blob's bytes could not be had.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unpack {
    Corrupt(String),
    TooLarge,
}

/// The blob's payload: gunzipped when it is gzip, else as it is; at most `limit` bytes.
pub(crate) fn unpack(blob: &[u8], limit: u64) -> Result<Vec<u8>, Unpack> {
    if !blob.starts_with(&[0x1f, 0x8b]) {
        if blob.len() as u64 > limit {
            return Err(Unpack::TooLarge);
        }
        return Ok(blob.to_vec());
    }
    let mut out = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "over it".
    flate2::read::MultiGzDecoder::new(blob)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Unpack::Corrupt(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(Unpack::TooLarge);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gunzips_within_the_limit() {
        assert_eq!(unpack(&gzip(b"hello"), 5), Ok(b"hello".to_vec()));
        assert_eq!(unpack(b"\x80\x04N.", 10), Ok(b"\x80\x04N.".to_vec()));
    }

    #[test]
    fn refuses_bombs_and_truncation() {
        let bomb = gzip(&vec![0u8; 10 * 1024 * 1024]);
        assert!(bomb.len() < 20 * 1024);
        assert_eq!(unpack(&bomb, 1024 * 1024), Err(Unpack::TooLarge));
        let whole = gzip(b"some text that will be cut");
        assert!(matches!(
            unpack(&whole[..whole.len() / 2], 1024),
            Err(Unpack::Corrupt(_))
        ));
    }
}
