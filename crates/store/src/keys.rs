//! How a path segment addresses a run or a task: digits name the server-assigned integer, anything
//! else the client-chosen string id (spec 2.5).

/// A `{run_number}` path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunKey {
    Number(i64),
    Id(String),
}

impl RunKey {
    /// Read a path segment. Digit strings too large for an integer can name no run, so they are kept as
    /// string ids, which are never all digits, and find nothing.
    pub fn parse(segment: &str) -> Self {
        match parse_number(segment) {
            Some(n) => RunKey::Number(n),
            None => RunKey::Id(segment.to_owned()),
        }
    }
}

/// A `{task_id}` path segment, read like [`RunKey`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskKey {
    Number(i64),
    Name(String),
}

impl TaskKey {
    pub fn parse(segment: &str) -> Self {
        match parse_number(segment) {
            Some(n) => TaskKey::Number(n),
            None => TaskKey::Name(segment.to_owned()),
        }
    }
}

/// True when a client-chosen id would collide with the integer id space (spec 4.3.1, 4.5.1).
pub fn is_numeric_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_number(s: &str) -> Option<i64> {
    if is_numeric_id(s) {
        s.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_pick_the_id_column() {
        assert_eq!(RunKey::parse("12"), RunKey::Number(12));
        assert_eq!(RunKey::parse("sfn-12"), RunKey::Id("sfn-12".into()));
        assert_eq!(RunKey::parse("-1"), RunKey::Id("-1".into()));
        assert_eq!(RunKey::parse("²"), RunKey::Id("²".into()));
        assert_eq!(
            RunKey::parse("99999999999999999999999"),
            RunKey::Id("99999999999999999999999".into())
        );
        assert_eq!(TaskKey::parse("7"), TaskKey::Number(7));
        assert!(is_numeric_id("123") && !is_numeric_id("") && !is_numeric_id("1a"));
    }
}
