//! MFLog lines: `[MFLOG|0|<ISO time>Z|<source>|<id>]<text>`, optionally behind `[!`.

use chrono::NaiveDateTime;

/// A parsed line: where its timestamp and text are within the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed<'a> {
    /// The UTC time as written, without the `Z` (ISO text sorts in time order).
    pub timestamp: &'a [u8],
    pub text: &'a [u8],
}

/// The MFLog fields of `line`, or `None` when it is not an MFLog line.
pub(crate) fn parse(line: &[u8]) -> Option<Parsed<'_>> {
    let line = line.strip_prefix(b"[!").unwrap_or(line);
    let rest = line.strip_prefix(b"[MFLOG|0|")?;
    let ts_end = find_z_bar(rest)?;
    let timestamp = &rest[..ts_end];
    let rest = &rest[ts_end + 2..];
    let source_end = memchr::memchr(b'|', rest)?;
    let rest = &rest[source_end + 1..];
    let id_end = memchr::memchr(b']', rest)?;
    if timestamp.is_empty() || source_end == 0 || id_end == 0 {
        return None;
    }
    Some(Parsed {
        timestamp,
        text: &rest[id_end + 1..],
    })
}

/// The first `Z|` (a one-off memmem searcher costs more than the short scan).
fn find_z_bar(haystack: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'Z', &haystack[from..]) {
        let at = from + i;
        if haystack.get(at + 1) == Some(&b'|') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Milliseconds since the epoch of an MFLog timestamp (UTC).
pub(crate) fn timestamp_millis(timestamp: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(timestamp).ok()?;
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

/// The row's timestamp and text as the API shows them.
pub(crate) fn row_fields(line: &[u8]) -> (Option<i64>, String) {
    match parse(line) {
        Some(parsed) => (
            timestamp_millis(parsed.timestamp),
            String::from_utf8_lossy(parsed.text).into_owned(),
        ),
        None => (None, String::from_utf8_lossy(line).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mflog_lines() {
        let line = b"[MFLOG|0|2024-05-01T12:00:00.123456Z|task|a1b2]hello [world] | x";
        let parsed = parse(line).unwrap();
        assert_eq!(parsed.timestamp, b"2024-05-01T12:00:00.123456");
        assert_eq!(parsed.text, b"hello [world] | x");
        assert_eq!(timestamp_millis(parsed.timestamp), Some(1714564800123));
        assert_eq!(
            row_fields(b"[![MFLOG|0|2024-05-01T12:00:00Z|runtime|id]Task is starting."),
            (Some(1714564800000), "Task is starting.".to_string())
        );
        assert_eq!(
            row_fields(b"[MFLOG|0|2024-05-01T12:00:00Z|task|id]"),
            (Some(1714564800000), String::new())
        );
    }

    #[test]
    fn other_lines_are_text_without_time() {
        for line in [
            &b"plain"[..],
            b"[MFLOG|1|2024-05-01T12:00:00Z|task|id]x",
            b"[MFLOG|0|2024Z|task]x",
            b"",
        ] {
            assert_eq!(parse(line), None, "{:?}", String::from_utf8_lossy(line));
        }
        assert_eq!(
            row_fields(b"caf\xc3\xa9 \xff"),
            (None, "café \u{fffd}".to_string())
        );
        assert_eq!(
            row_fields(b"[MFLOG|0|garbageZ|task|id]x"),
            (None, "x".to_string())
        );
    }
}
