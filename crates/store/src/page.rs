//! Keyset pages (spec 2.8). Each listing's cursor type lives with its resource.

/// A page request: at most `limit` rows strictly after `after` in the listing's descending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<C> {
    pub limit: u32,
    /// Key of the last row of the previous page.
    pub after: Option<C>,
}

impl<C> PageRequest<C> {
    /// The LIMIT to send: one more row than the page, to learn whether another page follows.
    pub(crate) fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// One page of rows, in listing order.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<T>,
    /// Whether rows remain after the last one.
    pub has_more: bool,
}

impl<T> Page<T> {
    /// Every row: a legacy (unpaginated) listing.
    pub(crate) fn complete(rows: Vec<T>) -> Self {
        Page {
            rows,
            has_more: false,
        }
    }
}
