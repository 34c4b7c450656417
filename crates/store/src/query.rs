//! Listing requests: keyset pages (spec 2.8) and the run/task filter model (spec 2.9). The service
//! parses the query string into these; the store turns them into SQL with bound values.

use serde::{Deserialize, Serialize};

/// A page request: at most `limit` rows strictly after `after` in the listing's descending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<C> {
    /// Page size.
    pub limit: u32,
    /// Key of the last row of the previous page.
    pub after: Option<C>,
}

/// One page of rows.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows, in listing order.
    pub rows: Vec<T>,
    /// Whether rows remain after the last one.
    pub has_more: bool,
}

/// Cursor of `GET /flows` (spec 2.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowCursor {
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    /// Flow name.
    pub flow_id: String,
}

/// Cursor of the runs listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCursor {
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    /// Internal run number.
    pub run_number: i64,
}

/// Cursor of the tasks listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskCursor {
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    /// Internal task id.
    pub task_id: i64,
}

/// Cursor of the metadata listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataCursor {
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    /// Row id.
    pub id: i64,
}

/// Cursor of the artifact listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactCursor {
    /// Epoch milliseconds.
    pub ts_epoch: i64,
    /// Internal task id.
    pub task_id: i64,
    /// Artifact name.
    pub name: String,
}

/// A filter operator (spec 2.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    /// `=`
    Eq,
    /// `≠`
    Ne,
    /// `<`
    Lt,
    /// `≤`
    Le,
    /// `>`
    Gt,
    /// `≥`
    Ge,
    /// Case-insensitive contains.
    Co,
    /// Case-insensitive starts-with.
    Sw,
    /// Case-insensitive ends-with.
    Ew,
    /// Case-insensitive LIKE with the caller's `%`.
    Li,
    /// SQL `IS` (null-safe equality).
    Is,
}

impl FilterOp {
    /// The operator named in a query key, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "eq" => FilterOp::Eq,
            "ne" => FilterOp::Ne,
            "lt" => FilterOp::Lt,
            "le" => FilterOp::Le,
            "gt" => FilterOp::Gt,
            "ge" => FilterOp::Ge,
            "co" => FilterOp::Co,
            "sw" => FilterOp::Sw,
            "ew" => FilterOp::Ew,
            "li" => FilterOp::Li,
            "is" => FilterOp::Is,
            _ => return None,
        })
    }
}

/// One filter value; `null` always means `IS NULL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    /// The literal `null`.
    Null,
    /// A value for a numeric column.
    Int(i64),
    /// A value for a text column.
    Text(String),
}

/// Columns a runs listing can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunField {
    /// `flow_id`
    FlowId,
    /// `run_number` (integer column)
    RunNumber,
    /// `run_id`
    RunId,
    /// `user_name`
    UserName,
    /// `ts_epoch`
    TsEpoch,
    /// `last_heartbeat_ts`
    LastHeartbeatTs,
    /// `tags` (compared as text)
    Tags,
    /// `system_tags` (compared as text)
    SystemTags,
    /// Verified owner (spec 3.2)
    User,
    /// Derived status (spec 6.3)
    Status,
}

/// Columns a tasks listing can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskField {
    /// `task_id` (integer column)
    TaskId,
    /// `task_name`
    TaskName,
    /// `user_name`
    UserName,
    /// `ts_epoch`
    TsEpoch,
    /// `last_heartbeat_ts`
    LastHeartbeatTs,
}

/// `field:op=v1,v2`: the values are OR-ed; separate filters are AND-ed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter<F> {
    /// Column.
    pub field: F,
    /// Operator.
    pub op: FilterOp,
    /// Values.
    pub values: Vec<FilterValue>,
}

/// The runs listing's `_tags` filter (spec 2.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagFilter {
    /// At least one of these tags among tags ∪ system tags.
    Any(Vec<String>),
    /// All of these tags.
    All(Vec<String>),
    /// At least one substring found in the tags' text.
    LikeAny(Vec<String>),
    /// Every substring found in the tags' text.
    LikeAll(Vec<String>),
}

/// A filtered, paginated runs listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunQuery {
    /// Column filters.
    pub filters: Vec<Filter<RunField>>,
    /// Tag filters.
    pub tags: Vec<TagFilter>,
    /// The page.
    pub page: PageRequest<RunCursor>,
}

impl RunQuery {
    /// Status is derived (and returned) only when a filter asks for it (spec 4.3.3).
    pub fn wants_status(&self) -> bool {
        self.filters.iter().any(|f| f.field == RunField::Status)
    }
}

/// A filtered, paginated tasks listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQuery {
    /// Column filters.
    pub filters: Vec<Filter<TaskField>>,
    /// The page.
    pub page: PageRequest<TaskCursor>,
}
