//! Writing a Metaflow profile: flat JSON as `metaflow configure aws` writes it
//! (`indent=4, sort_keys=True`), in `$METAFLOW_HOME/config[_<profile>].json`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::outputs::StackOutput;

/// Config key for the API key value; the stack only outputs the key's id.
pub const AUTH_KEY: &str = "METAFLOW_SERVICE_AUTH_KEY";

/// Keys every profile for this stack needs that are not outputs. Forgetting them is a recurring
/// user error (Netflix/metaflow#125).
pub const FIXED: &[(&str, &str)] = &[
    ("METAFLOW_DEFAULT_DATASTORE", "s3"),
    ("METAFLOW_DEFAULT_METADATA", "service"),
];

/// The config file for `profile` under `metaflow_home`: `config_<profile>.json`, or `config.json`.
pub fn profile_path(metaflow_home: &Path, profile: Option<&str>) -> PathBuf {
    match profile {
        Some(p) => metaflow_home.join(format!("config_{p}.json")),
        None => metaflow_home.join("config.json"),
    }
}

/// `$METAFLOW_HOME`, else `~/.metaflowconfig`, as Metaflow resolves it.
pub fn metaflow_home() -> Option<PathBuf> {
    std::env::var_os("METAFLOW_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".metaflowconfig")))
}

/// The profile's keys: each output mapped by `mapping` (output name → config key), the fixed keys,
/// and the API key value. A mapping to [`AUTH_KEY`] is skipped, since that output holds only the id.
pub fn profile_values(
    outputs: &[StackOutput],
    mapping: &[(&str, &str)],
    api_key: Option<&str>,
) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    for (output, key) in mapping {
        if *key == AUTH_KEY {
            continue;
        }
        if let Some(o) = outputs.iter().find(|o| o.key == *output)
            && !o.value.is_empty()
        {
            // Several outputs may feed one key (two UI URLs); the first in the mapping wins.
            values
                .entry((*key).to_string())
                .or_insert_with(|| o.value.clone());
        }
    }
    for (k, v) in FIXED {
        values.insert((*k).to_string(), (*v).to_string());
    }
    if let Some(v) = api_key {
        values.insert(AUTH_KEY.to_string(), v.to_string());
    }
    values
}

/// What [`write_profile`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The profile file.
    pub path: PathBuf,
    /// Where the previous file was moved, if there was one.
    pub backup: Option<PathBuf>,
}

/// Write `values` to `path` (mode 0600, since it holds the API key), backing up an existing file.
pub fn write_profile(path: &Path, values: &BTreeMap<String, String>) -> Result<Written, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut body = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut body, fmt);
    serde::Serialize::serialize(values, &mut ser).map_err(|e| io(std::io::Error::other(e)))?;

    let backup = if path.exists() {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{secs}.bak"));
        let b = path.with_file_name(name);
        std::fs::copy(path, &b).map_err(io)?;
        Some(b)
    } else {
        None
    };
    // Write beside the target and rename, so a crash never leaves half a config.
    let tmp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp).map_err(io)?;
    f.write_all(&body).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(Written {
        path: path.to_path_buf(),
        backup,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(k: &str, v: &str) -> StackOutput {
        StackOutput {
            key: k.into(),
            value: v.into(),
            description: None,
        }
    }

    #[test]
    fn values_map_outputs_and_add_fixed_keys_and_key_value() {
        let outputs = [
            out("ServiceUrl", "https://x/api/"),
            out("ApiKeyId", "abc123"),
            out("UIServiceCloudfrontUrl", "https://ui/"),
        ];
        let mapping = [
            ("ServiceUrl", "METAFLOW_SERVICE_URL"),
            ("ApiKeyId", AUTH_KEY),
            ("UIServiceCloudfrontUrl", "METAFLOW_UI_URL"),
            ("UIServiceUrl", "METAFLOW_UI_URL"),
            ("DDBTableName", "METAFLOW_SFN_DYNAMO_DB_TABLE"),
        ];
        let v = profile_values(&outputs, &mapping, Some("s3cr3t"));
        assert_eq!(v["METAFLOW_SERVICE_URL"], "https://x/api/");
        assert_eq!(v[AUTH_KEY], "s3cr3t", "the value, never the id");
        assert_eq!(v["METAFLOW_UI_URL"], "https://ui/");
        assert_eq!(v["METAFLOW_DEFAULT_DATASTORE"], "s3");
        assert_eq!(v["METAFLOW_DEFAULT_METADATA"], "service");
        assert!(!v.contains_key("METAFLOW_SFN_DYNAMO_DB_TABLE"));
        assert!(!profile_values(&outputs, &mapping, None).contains_key(AUTH_KEY));
    }

    #[test]
    fn writes_sorted_four_space_json_0600_and_backs_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = profile_path(dir.path(), Some("dev"));
        assert!(path.ends_with("config_dev.json"));
        let mut v = BTreeMap::new();
        v.insert("METAFLOW_B".to_string(), "2".to_string());
        v.insert("METAFLOW_A".to_string(), "1".to_string());
        let first = write_profile(&path, &v).unwrap();
        assert_eq!(first.backup, None);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n    \"METAFLOW_A\": \"1\",\n    \"METAFLOW_B\": \"2\"\n}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        v.insert("METAFLOW_C".to_string(), "3".to_string());
        let second = write_profile(&path, &v).unwrap();
        let backup = second.backup.expect("existing file backed up");
        assert!(
            std::fs::read_to_string(backup)
                .unwrap()
                .contains("METAFLOW_B")
        );
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("METAFLOW_C")
        );
        assert_eq!(
            profile_path(dir.path(), None).file_name().unwrap(),
            "config.json"
        );
    }
}
