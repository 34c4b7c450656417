//! The few places SQLite and PostgreSQL spell SQL differently. Everything else is shared text with
//! `$N` placeholders, which both drivers accept.

/// Which engine a statement is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Most placeholders one statement may bind: SQLite's `SQLITE_MAX_VARIABLE_NUMBER` (32,766 since
    /// 3.32) and PostgreSQL's 16-bit parameter count.
    pub fn max_binds(self) -> usize {
        match self {
            Dialect::Sqlite => 32_766,
            Dialect::Postgres => 65_535,
        }
    }

    /// `col` matches the POSIX/Rust regular expression in placeholder `p`.
    pub(crate) fn regex_match(self, col: &str, p: usize) -> String {
        match self {
            Dialect::Sqlite => format!("{col} REGEXP ${p}"),
            Dialect::Postgres => format!("{col} ~ ${p}"),
        }
    }

    /// The run (alias `r`) has tag `$p` among its tags or system tags.
    pub(crate) fn has_tag(self, p: usize) -> String {
        match self {
            Dialect::Sqlite => format!(
                "EXISTS (SELECT 1 FROM json_each(r.tags) WHERE value = ${p} \
                 UNION ALL SELECT 1 FROM json_each(r.system_tags) WHERE value = ${p})"
            ),
            // Written as the reference's GIN index expression so the index serves it.
            Dialect::Postgres => format!("(r.tags || r.system_tags) ? ${p}"),
        }
    }

    /// Text of the run's combined tags, for substring matches.
    pub(crate) fn tags_text(self) -> &'static str {
        match self {
            Dialect::Sqlite => "(COALESCE(r.tags, '') || COALESCE(r.system_tags, ''))",
            Dialect::Postgres => "((r.tags || r.system_tags)::text)",
        }
    }

    /// A JSON column as text.
    pub(crate) fn json_text(self, col: &str) -> String {
        match self {
            Dialect::Sqlite => col.to_owned(),
            Dialect::Postgres => format!("({col})::text"),
        }
    }

    /// Null-safe equality (`IS` in the filter grammar).
    pub(crate) fn null_safe_eq(self) -> &'static str {
        match self {
            Dialect::Sqlite => "IS",
            Dialect::Postgres => "IS NOT DISTINCT FROM",
        }
    }

    /// `col` holds the same JSON as placeholder `p`.
    pub(crate) fn json_eq(self, col: &str, p: usize) -> String {
        match self {
            Dialect::Sqlite => format!("json({col}) = json(${p})"),
            Dialect::Postgres => format!("{col} = ${p}"),
        }
    }

    /// The verified owner of run `r` (spec 3.2).
    pub(crate) fn verified_user(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "(CASE WHEN EXISTS (SELECT 1 FROM json_each(r.system_tags) \
                 WHERE value = 'user:' || r.user_name) THEN r.user_name END)"
            }
            Dialect::Postgres => {
                "(CASE WHEN r.system_tags ? ('user:' || r.user_name) THEN r.user_name END)"
            }
        }
    }
}
