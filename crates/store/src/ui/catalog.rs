//! The columns each UI listing exposes: the allow-list for filters, order and groups (§4).

/// How a column compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Text,
    /// Compared as its JSON text; never grouped.
    Json,
}

/// Where a column is computed: in the resource's own statement, or in a derived layer above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    Base,
    Derived,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub layer: Layer,
}

const fn col(name: &'static str, kind: Kind, layer: Layer) -> Column {
    Column { name, kind, layer }
}

use Kind::{Int, Json, Text};
use Layer::{Base, Derived};

/// A listing's columns, its default order and the tie-break that makes pages stable.
#[derive(Debug)]
pub(crate) struct Catalog {
    pub columns: &'static [Column],
    /// `(column, ascending)` when `_order` names no known column.
    pub default_order: &'static [(&'static str, bool)],
    /// Appended to every order so equal keys page deterministically.
    pub tiebreak: &'static [(&'static str, bool)],
}

impl Catalog {
    pub(crate) fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

const TAGS: [Column; 2] = [col("tags", Json, Base), col("system_tags", Json, Base)];

pub(crate) static FLOWS: Catalog = Catalog {
    columns: &[
        col("flow_id", Text, Base),
        col("user_name", Text, Base),
        col("ts_epoch", Int, Base),
        TAGS[0],
        TAGS[1],
    ],
    default_order: &[("ts_epoch", false)],
    tiebreak: &[("flow_id", true)],
};

pub(crate) static RUNS: Catalog = Catalog {
    columns: &[
        col("flow_id", Text, Base),
        col("run_number", Int, Base),
        col("run_id", Text, Base),
        col("run", Text, Base),
        col("user_name", Text, Base),
        col("user", Text, Base),
        col("ts_epoch", Int, Base),
        col("last_heartbeat_ts", Int, Base),
        TAGS[0],
        TAGS[1],
        col("status", Text, Derived),
        col("finished_at", Int, Derived),
        col("duration", Int, Derived),
    ],
    default_order: &[("ts_epoch", false)],
    tiebreak: &[("flow_id", true), ("run_number", false)],
};

pub(crate) static STEPS: Catalog = Catalog {
    columns: &[
        col("flow_id", Text, Base),
        col("run_number", Int, Base),
        col("run_id", Text, Base),
        col("step_name", Text, Base),
        col("user_name", Text, Base),
        col("ts_epoch", Int, Base),
        TAGS[0],
        TAGS[1],
        col("duration", Int, Derived),
    ],
    default_order: &[("ts_epoch", false)],
    tiebreak: &[("step_name", true)],
};

pub(crate) static TASKS: Catalog = Catalog {
    columns: &[
        col("flow_id", Text, Base),
        col("run_number", Int, Base),
        col("run_id", Text, Base),
        col("step_name", Text, Base),
        col("task_id", Int, Base),
        col("task_name", Text, Base),
        col("user_name", Text, Base),
        col("ts_epoch", Int, Base),
        col("last_heartbeat_ts", Int, Base),
        col("attempt_id", Int, Base),
        col("started_at", Int, Base),
        TAGS[0],
        TAGS[1],
        col("attempt_ok", Int, Derived),
        col("task_ok", Text, Derived),
        col("finished_at", Int, Derived),
        col("duration", Int, Derived),
        col("status", Text, Derived),
    ],
    default_order: &[("ts_epoch", false)],
    tiebreak: &[("task_id", false), ("attempt_id", false)],
};

pub(crate) static ARTIFACTS: Catalog = Catalog {
    columns: &[
        col("flow_id", Text, Base),
        col("run_number", Int, Base),
        col("run_id", Text, Base),
        col("step_name", Text, Base),
        col("task_id", Int, Base),
        col("task_name", Text, Base),
        col("name", Text, Base),
        col("location", Text, Base),
        col("ds_type", Text, Base),
        col("sha", Text, Base),
        col("type", Text, Base),
        col("content_type", Text, Base),
        col("user_name", Text, Base),
        col("attempt_id", Int, Base),
        col("ts_epoch", Int, Base),
        TAGS[0],
        TAGS[1],
    ],
    default_order: &[("ts_epoch", false)],
    tiebreak: &[("task_id", false), ("attempt_id", false), ("name", true)],
};

pub(crate) static METADATA: Catalog = Catalog {
    columns: &[
        col("id", Int, Base),
        col("flow_id", Text, Base),
        col("run_number", Int, Base),
        col("run_id", Text, Base),
        col("step_name", Text, Base),
        col("task_id", Int, Base),
        col("task_name", Text, Base),
        col("field_name", Text, Base),
        col("value", Text, Base),
        col("type", Text, Base),
        col("user_name", Text, Base),
        col("ts_epoch", Int, Base),
        col("attempt_id", Int, Base),
        TAGS[0],
        TAGS[1],
    ],
    default_order: &[("ts_epoch", false)],
    tiebreak: &[("id", false)],
};

/// Single-column name listings for the autocompletes.
macro_rules! names {
    ($name:ident, $col:literal) => {
        pub(crate) static $name: Catalog = Catalog {
            columns: &[col($col, Text, Base)],
            default_order: &[($col, true)],
            tiebreak: &[],
        };
    };
}

names!(FLOW_NAMES, "flow_id");
names!(TAG_NAMES, "tag");
names!(STEP_NAMES, "step_name");
names!(ARTIFACT_NAMES, "name");

/// Run names keep the runs' newest-first order.
pub(crate) static RUN_NAMES: Catalog = Catalog {
    columns: &[col("run", Text, Base), col("ts_epoch", Int, Base)],
    default_order: &[("ts_epoch", false)],
    tiebreak: &[("run", true)],
};
