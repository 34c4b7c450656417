//! Metaflow profiles: where Metaflow looks for them, and the one way mfstack writes them (`up`,
//! `configure` and `deploy` alike). A profile is flat JSON, as `metaflow configure aws` writes it
//! (`indent=4, sort_keys=True`), in `$METAFLOW_HOME/config[_<profile>].json`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use mfstack_template::config_keys::SERVICE_AUTH_KEY;

use crate::hint::WithHint;

/// A profile's keys and values. `Debug` hides the API key's value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Profile(BTreeMap<String, String>);

// Building a profile key by key is what `configure` does; `up` collects one from a list.
#[cfg(feature = "deploy")]
impl Profile {
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.insert(key.into(), value.into());
    }

    /// Insert unless `key` is already set: when several sources feed one key, the first wins.
    pub fn insert_first(&mut self, key: &str, value: &str) {
        self.0
            .entry(key.to_string())
            .or_insert_with(|| value.to_string());
    }

    #[cfg(test)]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl Profile {
    fn to_json(&self) -> anyhow::Result<Vec<u8>> {
        let mut body = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut body, fmt);
        serde::Serialize::serialize(&self.0, &mut ser)?;
        Ok(body)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Profile {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.0.iter().map(|(k, v)| {
            let secret = k == SERVICE_AUTH_KEY;
            (k, if secret { "***" } else { v.as_str() })
        });
        f.debug_map().entries(shown).finish()
    }
}

/// `$METAFLOW_HOME`, else `~/.metaflowconfig`, as Metaflow resolves it: an empty `METAFLOW_HOME`
/// counts as unset.
pub fn metaflow_home() -> anyhow::Result<PathBuf> {
    if let Some(home) = std::env::var_os("METAFLOW_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("cannot find Metaflow's config folder: neither METAFLOW_HOME nor HOME is set")
        .hint("set METAFLOW_HOME to the folder Metaflow should read its profiles from")?;
    Ok(PathBuf::from(home).join(".metaflowconfig"))
}

/// The file of profile `name` under `home`: `config_<name>.json`, or `config.json` for `None`,
/// the profile Metaflow reads when METAFLOW_PROFILE is unset.
pub fn path(home: &Path, name: Option<&str>) -> PathBuf {
    match name {
        Some(p) => home.join(format!("config_{p}.json")),
        None => home.join("config.json"),
    }
}

/// What [`write`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    /// A copy of the file it replaced, when that file said something else.
    pub backup: Option<PathBuf>,
}

/// Write `profile` to `path`: mode 0600 (it may hold the API key), atomically (a temporary file
/// beside it, then a rename, so Metaflow never reads half a file), keeping a 0600 copy of a
/// previous file that differs.
pub fn write(path: &Path, profile: &Profile) -> anyhow::Result<Written> {
    let body = profile.to_json()?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let backup = match std::fs::read(path) {
        Ok(old) if old != body => Some(back_up(path, &old)?),
        _ => None,
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(path.file_name().unwrap_or_default());
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let written = write_private(&tmp, &body).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("cannot write the Metaflow profile {}", path.display()))?;
    Ok(Written {
        path: path.to_path_buf(),
        backup,
    })
}

/// Copy `old` to `<path>.<seconds>.bak`.
fn back_up(path: &Path, old: &[u8]) -> anyhow::Result<PathBuf> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{secs}.bak"));
    let backup = path.with_file_name(name);
    let _ = std::fs::remove_file(&backup);
    write_private(&backup, old)
        .with_context(|| format!("cannot back up {} to {}", path.display(), backup.display()))?;
    Ok(backup)
}

/// Create `path` readable by its owner only, from the first byte on.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn writes_sorted_four_space_json() {
        let dir = tempfile::tempdir().unwrap();
        let file = path(dir.path(), Some("dev"));
        assert!(file.ends_with("config_dev.json"));
        assert!(path(dir.path(), None).ends_with("config.json"));
        let p: Profile = [("METAFLOW_B", "2"), ("METAFLOW_A", "1")]
            .into_iter()
            .collect();
        let w = write(&file, &p).unwrap();
        assert_eq!(w.backup, None);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "{\n    \"METAFLOW_A\": \"1\",\n    \"METAFLOW_B\": \"2\"\n}"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file stays behind");
    }

    #[cfg(unix)]
    #[test]
    fn profile_and_backup_are_0600_even_over_a_readable_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = path(dir.path(), Some("dev"));
        std::fs::write(&file, "{\"METAFLOW_SERVICE_AUTH_KEY\": \"old\"}").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let p: Profile = [("METAFLOW_SERVICE_AUTH_KEY", "new")].into_iter().collect();
        let w = write(&file, &p).unwrap();
        assert_eq!(mode(&file), 0o600);
        let backup = w.backup.expect("the differing file is kept");
        assert_eq!(mode(&backup), 0o600);
        assert!(std::fs::read_to_string(&backup).unwrap().contains("old"));
        // The same content again: nothing to keep.
        assert_eq!(write(&file, &p).unwrap().backup, None);
    }

    #[test]
    fn debug_hides_credentials() {
        let p: Profile = [
            (SERVICE_AUTH_KEY, "s3cr3t"),
            ("METAFLOW_SERVICE_URL", "https://x/"),
        ]
        .into_iter()
        .collect();
        let shown = format!("{p:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("https://x/"), "{shown}");
    }
}
