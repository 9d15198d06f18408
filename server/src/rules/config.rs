//! `concur.toml`: the project's own `[[rule]]` tables and the `[config]`
//! table, found in the nearest ancestor directory.
//!
//! ```toml
//! [config]
//! builtin = true          # also run the built-in catalog (default true)
//! disable = ["len-zero"]  # rule ids to leave out, user or built-in
//! max_rounds = 3          # merge rounds per job (default 3)
//! workers = 4             # worker threads (default: decided by the caller)
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{load, read_file, Location, RuleError, RuleSet, RuleSource};

/// The name of the configuration file.
pub const CONFIG_FILE_NAME: &str = "concur.toml";

/// The default number of merge rounds.
const DEFAULT_MAX_ROUNDS: u32 = 3;

/// The settings and rules of one `concur.toml`.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file these settings came from; `None` for the defaults.
    pub path: Option<PathBuf>,
    /// Whether the built-in catalog runs.
    pub builtin: bool,
    /// Ids of rules to leave out.
    pub disable: Vec<String>,
    /// How many rounds a job may run before it stops at what it has.
    pub max_rounds: u32,
    /// Worker threads; `None` lets the caller decide.
    pub workers: Option<usize>,
    /// The file's own `[[rule]]` tables, in order.
    pub user_rules: RuleSet,
    /// The effective rules: the user rules, then the built-in ones unless
    /// `builtin` is false, without the disabled ones (see
    /// [`RuleSet::combine`]).
    pub rules: RuleSet,
}

impl Default for Config {
    /// Returns the settings without a `concur.toml`: every built-in rule.
    fn default() -> Self {
        let user_rules = RuleSet::new(Vec::new());
        Self {
            path: None,
            builtin: true,
            disable: Vec::new(),
            max_rounds: DEFAULT_MAX_ROUNDS,
            workers: None,
            rules: RuleSet::builtin(),
            user_rules,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    builtin: Option<bool>,
    disable: Option<Vec<String>>,
    max_rounds: Option<i64>,
    workers: Option<i64>,
}

impl Config {
    /// Finds `concur.toml` in `start` (or its directory, when `start` is a
    /// file) or the nearest ancestor directory, and loads it.
    ///
    /// # Errors
    /// As [`Config::load`] for the file found.
    pub fn discover(start: &Path) -> Result<Option<(PathBuf, Config)>, RuleError> {
        let start = std::path::absolute(start).unwrap_or_else(|_| start.to_owned());
        let first_dir = if start.is_file() {
            start.parent().map(Path::to_owned)
        } else {
            Some(start)
        };
        let Some(first_dir) = first_dir else {
            return Ok(None);
        };
        for dir in first_dir.ancestors() {
            let candidate = dir.join(CONFIG_FILE_NAME);
            if candidate.is_file() {
                let config = Config::load(&candidate)?;
                return Ok(Some((candidate, config)));
            }
        }
        Ok(None)
    }

    /// Reads and validates a `concur.toml`.
    ///
    /// # Errors
    /// `Read` when the file cannot be read; otherwise as
    /// [`Config::from_toml_str`].
    pub fn load(path: &Path) -> Result<Config, RuleError> {
        let text = read_file(path)?;
        Config::from_toml_str(&text, path)
    }

    /// Parses a `concur.toml`'s text; `path` names it in messages.
    ///
    /// # Errors
    /// Invalid rules fail as in [`RuleSet::from_toml_str`]. An unknown key
    /// or a bad value in `[config]` is a `Config` error. `UnknownDisabled`
    /// names every id in `disable` that is neither in the file nor built
    /// in. Nothing is loaded from an invalid file.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Config, RuleError> {
        let parsed = load::parse(text, &RuleSource::File(path.to_owned()))?;
        let at = Location::line(path, parsed.config_line.unwrap_or(1));
        let config_error = |message: String| RuleError::Config {
            at: at.clone(),
            message,
        };
        let raw = match parsed.config {
            Some(value) => value
                .try_into::<RawConfig>()
                .map_err(|error| config_error(error.message().trim().to_owned()))?,
            None => RawConfig {
                builtin: None,
                disable: None,
                max_rounds: None,
                workers: None,
            },
        };
        let max_rounds = match raw.max_rounds {
            None => DEFAULT_MAX_ROUNDS,
            Some(rounds) => u32::try_from(rounds)
                .ok()
                .filter(|rounds| *rounds >= 1)
                .ok_or_else(|| {
                    config_error(format!(
                        "max_rounds is {rounds}; set it to a whole number of at least 1"
                    ))
                })?,
        };
        let workers = match raw.workers {
            None => None,
            Some(workers) => Some(
                usize::try_from(workers)
                    .ok()
                    .filter(|workers| *workers >= 1)
                    .ok_or_else(|| {
                        config_error(format!(
                            "workers is {workers}; set it to a whole number of at least 1, or \
                             leave it out"
                        ))
                    })?,
            ),
        };
        let builtin = raw.builtin.unwrap_or(true);
        let disable = raw.disable.unwrap_or_default();
        let user_rules = RuleSet::new(parsed.rules);
        let rules = RuleSet::combine(user_rules.clone(), builtin.then(RuleSet::builtin), &disable)
            .map_err(|error| match error {
                RuleError::UnknownDisabled { ids, .. } => RuleError::UnknownDisabled {
                    at: Some(at.clone()),
                    ids,
                },
                other => other,
            })?;
        Ok(Config {
            path: Some(path.to_owned()),
            builtin,
            disable,
            max_rounds,
            workers,
            user_rules,
            rules,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER_RULE: &str = r#"
[[rule]]
id = "no-foo"
language = "rust"
message = "rename foo to bar"
query = '((identifier) @match (#eq? @match "foo"))'
replace = "bar"
"#;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("concur-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn defaults_without_config_table() {
        let config = Config::from_toml_str(USER_RULE, Path::new("concur.toml")).unwrap();
        assert!(config.builtin);
        assert_eq!(config.max_rounds, 3);
        assert_eq!(config.workers, None);
        assert_eq!(config.user_rules.rules().len(), 1);
        let builtin_count = RuleSet::builtin().rules().len();
        assert_eq!(config.rules.rules().len(), 1 + builtin_count);
        assert_eq!(
            config.rules.rules()[0].id,
            "no-foo",
            "user rules come first"
        );
    }

    #[test]
    fn config_table_read() {
        let text = format!(
            "{USER_RULE}\n[config]\nbuiltin = false\nmax_rounds = 5\nworkers = 2\n\
             disable = [\"no-foo\"]\n"
        );
        let config = Config::from_toml_str(&text, Path::new("concur.toml")).unwrap();
        assert!(!config.builtin);
        assert_eq!(config.max_rounds, 5);
        assert_eq!(config.workers, Some(2));
        assert!(config.rules.rules().is_empty());
    }

    #[test]
    fn unknown_disable_ids_named() {
        let text =
            format!("{USER_RULE}\n[config]\ndisable = [\"len-zero\", \"no-such\", \"nope\"]\n");
        let err = Config::from_toml_str(&text, Path::new("/p/concur.toml")).unwrap_err();
        let message = err.to_string();
        // The [config] table starts on line 9, after the rule.
        assert!(message.contains("/p/concur.toml:9"), "{message}");
        assert!(message.contains("\"no-such\", \"nope\""), "{message}");
        assert!(!message.contains("len-zero"), "{message}");
    }

    #[test]
    fn builtin_id_rejected_even_when_catalog_off() {
        for config in ["", "[config]\nbuiltin = false\n"] {
            let text = format!("{config}{}", USER_RULE.replace("no-foo", "len-zero"));
            let err = Config::from_toml_str(&text, Path::new("/p/concur.toml")).unwrap_err();
            let line = config.lines().count() + 2;
            assert_eq!(
                err,
                RuleError::BuiltinId {
                    at: Location::line(Path::new("/p/concur.toml"), line),
                    id: "len-zero".to_owned(),
                },
                "{config}"
            );
        }
    }

    #[test]
    fn bad_config_values_rejected() {
        for (setting, expected) in [
            ("max_rounds = 0", "max_rounds is 0"),
            ("workers = -1", "workers is -1"),
            ("colour = true", "colour"),
        ] {
            let text = format!("[config]\n{setting}\n");
            let err = Config::from_toml_str(&text, Path::new("/p/concur.toml")).unwrap_err();
            let message = err.to_string();
            assert!(message.contains(expected), "{message}");
            assert!(message.contains("/p/concur.toml:1"), "{message}");
        }
    }

    #[test]
    fn discover_finds_nearest_ancestor() {
        let root = temp_dir("discover");
        let nested = root.join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(root.join(CONFIG_FILE_NAME), USER_RULE).unwrap();
        let file = nested.join("main.rs");
        std::fs::write(&file, "fn main() {}").unwrap();

        let (path, config) = Config::discover(&file).unwrap().expect("found");
        assert_eq!(path, root.join(CONFIG_FILE_NAME));
        assert!(config.user_rules.get("no-foo").is_some());

        std::fs::write(
            root.join("a").join(CONFIG_FILE_NAME),
            "[config]\nbuiltin = false\n",
        )
        .unwrap();
        let (path, config) = Config::discover(&nested).unwrap().expect("found");
        assert_eq!(path, root.join("a").join(CONFIG_FILE_NAME));
        assert!(!config.builtin);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn discover_reports_invalid_file() {
        let root = temp_dir("invalid");
        let text = USER_RULE.replace("@match", "@other");
        std::fs::write(root.join(CONFIG_FILE_NAME), text).unwrap();
        let err = Config::discover(&root).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(CONFIG_FILE_NAME), "{message}");
        assert!(message.contains("\"no-foo\""), "{message}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
