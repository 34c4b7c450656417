//! SQL the UI queries spell differently per engine. The metadata API's differences stay in
//! `crate::dialect`; these are only the UI's.

use crate::dialect::Dialect;

/// Truthy and falsy spellings of an `attempt_ok` value, lower-cased.
pub(crate) const TRUTHY: &str = "('true', 't', '1', 'yes', 'y', 'on')";
pub(crate) const FALSY: &str = "('false', 'f', '0', 'no', 'n', 'off')";

/// `1`, `0` or NULL for an `attempt_ok` value.
pub(crate) fn ok_flag(value: &str) -> String {
    format!(
        "CAST((CASE WHEN LOWER({value}) IN {TRUTHY} THEN 1 WHEN LOWER({value}) IN {FALSY} THEN 0 \
         END) AS BIGINT)"
    )
}

/// The attempt number in a text column holding digits, else NULL (never a cast error).
pub(crate) fn attempt_value(dialect: Dialect, col: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!(
            "(CASE WHEN {col} GLOB '[0-9]*' AND {col} NOT GLOB '*[^0-9]*' AND LENGTH({col}) < 10 \
             THEN CAST({col} AS INTEGER) END)"
        ),
        Dialect::Postgres => {
            format!("(CASE WHEN {col} ~ '^[0-9]{{1,9}}$' THEN CAST({col} AS BIGINT) END)")
        }
    }
}

/// The attempt named by an `attempt_id:N` entry of a JSON tag list, else NULL.
pub(crate) fn attempt_tag(dialect: Dialect, tags: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!(
            "(SELECT CAST(SUBSTR(j.value, 12) AS INTEGER) FROM json_each(CASE WHEN \
             json_valid({tags}) AND json_type({tags}) = 'array' THEN {tags} ELSE '[]' END) j \
             WHERE j.value GLOB 'attempt_id:[0-9]*' AND j.value NOT GLOB 'attempt_id:*[^0-9]*' \
             AND LENGTH(j.value) < 21 LIMIT 1)"
        ),
        Dialect::Postgres => format!(
            "(SELECT CAST(SUBSTR(j, 12) AS BIGINT) FROM jsonb_array_elements_text(CASE WHEN \
             jsonb_typeof({tags}) = 'array' THEN {tags} ELSE '[]'::jsonb END) j \
             WHERE j ~ '^attempt_id:[0-9]{{1,9}}$' LIMIT 1)"
        ),
    }
}

/// Every distinct tag and system tag of every run, as column `tag`.
pub(crate) fn distinct_run_tags(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "SELECT j.value AS tag FROM runs_v3 r, json_each(CASE WHEN json_valid(r.tags) AND \
             json_type(r.tags) = 'array' THEN r.tags ELSE '[]' END) j WHERE j.type = 'text' \
             UNION SELECT j.value AS tag FROM runs_v3 r, json_each(CASE WHEN \
             json_valid(r.system_tags) AND json_type(r.system_tags) = 'array' THEN r.system_tags \
             ELSE '[]' END) j WHERE j.type = 'text'"
        }
        Dialect::Postgres => {
            "SELECT j AS tag FROM runs_v3 r, jsonb_array_elements_text(CASE WHEN \
             jsonb_typeof(r.tags) = 'array' THEN r.tags ELSE '[]'::jsonb END) j \
             UNION SELECT j AS tag FROM runs_v3 r, jsonb_array_elements_text(CASE WHEN \
             jsonb_typeof(r.system_tags) = 'array' THEN r.system_tags ELSE '[]'::jsonb END) j"
        }
    }
}

/// The larger of two nullable values, ignoring NULLs (`GREATEST` on PostgreSQL; SQLite's `max`
/// returns NULL if either is).
pub(crate) fn greatest(a: &str, b: &str) -> String {
    format!(
        "(CASE WHEN {a} IS NULL THEN {b} WHEN {b} IS NULL THEN {a} WHEN {a} > {b} THEN {a} \
         ELSE {b} END)"
    )
}
