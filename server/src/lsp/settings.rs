//! The server's settings: the `concur` section sent by the editor, and the
//! effective rules and job options per workspace folder, combined from
//! those settings and the folder's `concur.toml`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::job::JobOptions;
use crate::rules::{Config, RuleSet, CONFIG_FILE_NAME};

/// Highest `maxRounds` accepted, as in the CLI's `--rounds`.
const MAX_ROUNDS: u64 = 100;
/// Highest `workers` accepted, as in the CLI's `--jobs`.
const MAX_WORKERS: u64 = 256;

/// The editor's `concur` settings. `None` leaves the choice to the
/// folder's `concur.toml`, then to the defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    pub builtin: Option<bool>,
    /// Rule ids to switch off, on top of the `concur.toml`'s `disable`;
    /// `None` when the setting is absent.
    pub disable: Option<Vec<String>>,
    pub max_rounds: Option<u32>,
    pub workers: Option<usize>,
}

impl Settings {
    /// Reads settings from `initializationOptions`, a `workspace/configuration`
    /// response or a `didChangeConfiguration` payload. Both `{"concur": {...}}`
    /// and the bare section are accepted; `null` and `[]` give the defaults,
    /// and keys this server does not use (such as the extension's own
    /// settings) are ignored.
    ///
    /// An empty array is read as an empty object because Lua has one table
    /// type, so Neovim 0.7.2 and 0.11.4 both encode `{ concur = {} }` as
    /// `{"concur": []}`.
    ///
    /// # Errors
    /// A message naming the setting, the value received and the value
    /// expected.
    pub fn from_value(value: &Value) -> Result<Settings, String> {
        let is_empty_array = |value: &Value| value.as_array().is_some_and(Vec::is_empty);
        if value.is_null() || is_empty_array(value) {
            return Ok(Settings::default());
        }
        let section = match value {
            Value::Object(map) => match map.get("concur") {
                Some(inner) if inner.is_null() || is_empty_array(inner) => {
                    return Ok(Settings::default())
                }
                Some(inner @ Value::Object(_)) => inner,
                _ => value,
            },
            other => {
                return Err(format!(
                    "concur settings must be an object such as {{\"maxRounds\": 3}}, got {other}"
                ))
            }
        };
        let Value::Object(map) = section else {
            return Ok(Settings::default());
        };
        let mut settings = Settings::default();
        if let Some(value) = map.get("builtin").filter(|value| !value.is_null()) {
            settings.builtin = Some(value.as_bool().ok_or_else(|| {
                format!("setting concur.builtin must be true or false, got {value}")
            })?);
        }
        if let Some(value) = map.get("disable").filter(|value| !value.is_null()) {
            let invalid = || {
                format!("setting concur.disable must be a list of rule ids such as [\"try-macro\"], got {value}")
            };
            let list = value.as_array().ok_or_else(invalid)?;
            let mut ids = Vec::with_capacity(list.len());
            for id in list {
                ids.push(id.as_str().ok_or_else(invalid)?.to_owned());
            }
            settings.disable = Some(ids);
        }
        if let Some(value) = map.get("maxRounds").filter(|value| !value.is_null()) {
            let rounds = value
                .as_u64()
                .filter(|rounds| (1..=MAX_ROUNDS).contains(rounds))
                .ok_or_else(|| {
                    format!(
                        "setting concur.maxRounds must be a whole number from 1 to {MAX_ROUNDS}, got {value}"
                    )
                })?;
            settings.max_rounds = Some(rounds as u32);
        }
        if let Some(value) = map.get("workers").filter(|value| !value.is_null()) {
            let workers = value
                .as_u64()
                .filter(|workers| (1..=MAX_WORKERS).contains(workers))
                .ok_or_else(|| {
                    format!(
                        "setting concur.workers must be a whole number from 1 to {MAX_WORKERS}, got {value}"
                    )
                })?;
            settings.workers = Some(workers as usize);
        }
        Ok(settings)
    }

    /// Returns these settings with every setting that `newer` sets
    /// replaced by its value: `workspace/configuration` responses overlay
    /// `initializationOptions`, and a client that returns `null` for the
    /// section keeps the options it started the server with.
    pub fn overlay(&self, newer: &Settings) -> Settings {
        Settings {
            builtin: newer.builtin.or(self.builtin),
            disable: newer.disable.clone().or_else(|| self.disable.clone()),
            max_rounds: newer.max_rounds.or(self.max_rounds),
            workers: newer.workers.or(self.workers),
        }
    }
}

/// The rules and options a job on one document runs with, resolved from
/// the settings and a `concur.toml`.
#[derive(Clone, Debug)]
pub struct Effective {
    pub rules: RuleSet,
    pub options: JobOptions,
    /// Worker threads; `None` uses one per core.
    pub workers: Option<usize>,
    /// The `concur.toml` these came from, if any.
    pub config_path: Option<PathBuf>,
}

impl Effective {
    /// Combines `settings` with `config`: the editor's `builtin`,
    /// `maxRounds` and `workers` win over the file's, and both `disable`
    /// lists apply.
    ///
    /// # Errors
    /// A message when a disabled id names no rule.
    pub fn resolve(settings: &Settings, config: &Config) -> Result<Effective, String> {
        let builtin = settings.builtin.unwrap_or(config.builtin);
        let mut disable = config.disable.clone();
        disable.extend(settings.disable.iter().flatten().cloned());
        let rules = RuleSet::combine(
            config.user_rules.clone(),
            builtin.then(RuleSet::builtin),
            &disable,
        )
        .map_err(|error| {
            let origin = config.path.as_ref().map_or_else(
                || "the concur.disable setting".to_owned(),
                |path| {
                    format!(
                        "the concur.disable setting or {} [config] disable",
                        path.display()
                    )
                },
            );
            format!("{error} (from {origin})")
        })?;
        Ok(Effective {
            rules,
            options: JobOptions {
                max_rounds: settings.max_rounds.unwrap_or(config.max_rounds),
                ..JobOptions::default()
            },
            workers: settings.workers.or(config.workers),
            config_path: config.path.clone(),
        })
    }
}

/// One workspace folder: its root, the last valid `concur.toml` found
/// there, and the effective rules built from it.
#[derive(Debug)]
pub struct Folder {
    pub root: PathBuf,
    /// The last `concur.toml` that loaded, or the defaults when there is
    /// none; an invalid file leaves the previous one in force.
    pub config: Config,
    pub effective: Option<Arc<Effective>>,
}

impl Folder {
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            config: Config::default(),
            effective: None,
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE_NAME)
    }

    /// Reloads the folder's `concur.toml`. A missing file means the
    /// defaults.
    ///
    /// # Errors
    /// The load error, naming the file and position; the previous
    /// configuration stays in force.
    pub fn reload(&mut self) -> Result<(), String> {
        let path = self.config_path();
        let config = if path.exists() {
            Config::load(&path).map_err(|error| error.to_string())?
        } else {
            Config::default()
        };
        self.config = config;
        self.effective = None;
        Ok(())
    }

    /// Returns true when `path` lies inside this folder.
    pub fn contains(&self, path: &Path) -> bool {
        path.starts_with(&self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_section_nested_or_bare() {
        let nested = Settings::from_value(&json!({"concur": {"maxRounds": 2}})).unwrap();
        let bare =
            Settings::from_value(&json!({"maxRounds": 2, "trace": {"server": "off"}})).unwrap();
        assert_eq!(nested, bare);
        assert_eq!(nested.max_rounds, Some(2));
        assert_eq!(
            Settings::from_value(&Value::Null).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn empty_lua_tables_are_empty_settings() {
        for value in [json!([]), json!({"concur": []}), json!({"concur": null})] {
            assert_eq!(
                Settings::from_value(&value),
                Ok(Settings::default()),
                "{value}"
            );
        }
        let error = Settings::from_value(&json!([1])).unwrap_err();
        assert!(error.contains("must be an object"), "{error}");
    }

    #[test]
    fn reads_every_setting() {
        let settings = Settings::from_value(&json!({
            "builtin": false, "disable": ["try-macro"], "maxRounds": 5, "workers": 4
        }))
        .unwrap();
        assert_eq!(
            settings,
            Settings {
                builtin: Some(false),
                disable: Some(vec!["try-macro".to_owned()]),
                max_rounds: Some(5),
                workers: Some(4),
            }
        );
    }

    #[test]
    fn names_the_bad_value() {
        let cases = [
            (json!({"builtin": "yes"}), "concur.builtin", "\"yes\""),
            (
                json!({"disable": "try-macro"}),
                "concur.disable",
                "\"try-macro\"",
            ),
            (json!({"disable": [1]}), "concur.disable", "[1]"),
            (json!({"maxRounds": 0}), "concur.maxRounds", "got 0"),
            (json!({"maxRounds": 1.5}), "concur.maxRounds", "1.5"),
            (json!({"workers": 1000}), "concur.workers", "1000"),
            (json!(7), "object", "7"),
        ];
        for (value, setting, shown) in cases {
            let error = Settings::from_value(&value).unwrap_err();
            assert!(error.contains(setting), "{error}");
            assert!(error.contains(shown), "{error}");
        }
    }

    #[test]
    fn editor_settings_win_over_the_file() {
        let config = Config::from_toml_str(
            "[config]\nmax_rounds = 7\nworkers = 3\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let settings = Settings {
            max_rounds: Some(2),
            disable: Some(vec!["try-macro".to_owned()]),
            ..Settings::default()
        };
        let effective = Effective::resolve(&settings, &config).unwrap();
        assert_eq!(effective.options.max_rounds, 2);
        assert_eq!(effective.workers, Some(3));
        assert!(effective.rules.get("try-macro").is_none());
        assert!(effective.rules.get("len-zero").is_some());
        let no_builtin = Settings {
            builtin: Some(false),
            ..Settings::default()
        };
        let effective = Effective::resolve(&no_builtin, &config).unwrap();
        assert!(effective.rules.rules().is_empty());
    }

    #[test]
    fn configuration_overlays_the_options() {
        let options =
            Settings::from_value(&json!({"disable": ["len-zero"], "maxRounds": 2})).unwrap();
        for empty in [Value::Null, json!({}), json!({"other": 1})] {
            let pulled = Settings::from_value(&empty).unwrap();
            assert_eq!(options.overlay(&pulled), options, "{empty}");
        }
        let pulled = Settings::from_value(&json!({"disable": [], "workers": 3})).unwrap();
        let merged = options.overlay(&pulled);
        assert_eq!(merged.disable, Some(Vec::new()));
        assert_eq!(merged.max_rounds, Some(2));
        assert_eq!(merged.workers, Some(3));
    }

    #[test]
    fn unknown_disabled_id_is_an_error() {
        let settings = Settings {
            disable: Some(vec!["no-such-rule".to_owned()]),
            ..Settings::default()
        };
        let error = Effective::resolve(&settings, &Config::default()).unwrap_err();
        assert!(error.contains("no-such-rule"), "{error}");
        assert!(error.contains("concur.disable"), "{error}");
    }
}
