//! Snapshot settings from code, a JSON file and the environment.

use std::ffi::OsString;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::options::{Background, Options, Rect, SizeMismatch};

/// `STEADFAST_UPDATE`: which baselines a run may write.
pub(crate) const ENV_UPDATE: &str = "STEADFAST_UPDATE";
/// `STEADFAST_VISUAL_THRESHOLD`: overrides every snapshot's threshold.
pub(crate) const ENV_THRESHOLD: &str = "STEADFAST_VISUAL_THRESHOLD";
/// `STEADFAST_VISUAL_MAX_DIFF_RATIO`: overrides every snapshot's ratio.
pub(crate) const ENV_MAX_DIFF_RATIO: &str = "STEADFAST_VISUAL_MAX_DIFF_RATIO";
/// `STEADFAST_VISUAL_MAX_DIFF_PIXELS`: overrides every snapshot's pixels.
pub(crate) const ENV_MAX_DIFF_PIXELS: &str = "STEADFAST_VISUAL_MAX_DIFF_PIXELS";

/// The values of [`UpdateMode`], as its parser names them.
const UPDATE_MODES: &str = "none, missing, changed or all";

/// Which baselines a snapshot assertion may write, like Playwright's
/// `--update-snapshots`. Read from `STEADFAST_UPDATE`.
///
/// # Example
///
/// ```
/// use steadfast_visual::UpdateMode;
///
/// assert_eq!("changed".parse::<UpdateMode>()?, UpdateMode::Changed);
/// assert!("sometimes".parse::<UpdateMode>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateMode {
    /// Never write; a missing baseline fails (the default when `CI` is set).
    None,
    /// Write baselines that do not exist yet (the default locally).
    Missing,
    /// Write missing baselines and replace those that no longer match.
    Changed,
    /// Write every baseline, matching or not.
    All,
}

impl std::str::FromStr for UpdateMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "none" => Ok(Self::None),
            "missing" => Ok(Self::Missing),
            "changed" => Ok(Self::Changed),
            "all" => Ok(Self::All),
            other => Err(Error::invalid_option(
                "update mode",
                format!("{other:?} is not one of {UPDATE_MODES}"),
            )),
        }
    }
}

/// Settings that each layer (code, file, environment) may set.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Settings {
    pub threshold: Option<f64>,
    pub max_diff_ratio: Option<f64>,
    pub max_diff_pixels: Option<u64>,
    pub include_aa: Option<bool>,
    pub background: Option<Background>,
    pub ignore: Vec<Rect>,
}

impl Settings {
    /// `self` with every value `over` sets taking precedence; ignore
    /// regions add up.
    pub fn overlay(mut self, over: Settings) -> Settings {
        self.threshold = over.threshold.or(self.threshold);
        self.max_diff_ratio = over.max_diff_ratio.or(self.max_diff_ratio);
        self.max_diff_pixels = over.max_diff_pixels.or(self.max_diff_pixels);
        self.include_aa = over.include_aa.or(self.include_aa);
        self.background = over.background.or(self.background);
        self.ignore.extend(over.ignore);
        self
    }

    /// Comparison options for a snapshot: pixelmatch defaults plus these
    /// settings, on the union canvas so a size change still draws a diff.
    pub fn to_options(&self) -> Result<Options, Error> {
        let mut o = Options::new().size_mismatch(SizeMismatch::Union);
        if let Some(t) = self.threshold {
            o = o.threshold(t);
        }
        if let Some(r) = self.max_diff_ratio {
            o = o.max_diff_ratio(r);
        }
        if let Some(p) = self.max_diff_pixels {
            o = o.max_diff_pixels(p);
        }
        if let Some(aa) = self.include_aa {
            o = o.include_aa(aa);
        }
        if let Some(bg) = self.background {
            o = o.background(bg);
        }
        for r in &self.ignore {
            o = o.ignore(*r);
        }
        o.validate()?;
        Ok(o)
    }
}

/// Everything read from the environment, through `lookup` so tests never
/// touch the process environment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EnvConfig {
    pub update: UpdateMode,
    pub settings: Settings,
}

impl EnvConfig {
    /// Read the configuration; an empty (or blank) variable counts as
    /// unset, and one that is not UTF-8 is as malformed as one that does not parse.
    pub fn read(lookup: &dyn Fn(&str) -> Option<OsString>) -> Result<Self, Error> {
        let text = |name: &'static str, expected: &'static str| match lookup(name) {
            None => Ok(None),
            Some(value) => match value.into_string() {
                Ok(v) if v.trim().is_empty() => Ok(None),
                Ok(v) => Ok(Some(v)),
                Err(raw) => Err(Error::invalid_env(name, &raw.to_string_lossy(), expected)),
            },
        };
        let ci = lookup("CI")
            .is_some_and(|v| !matches!(v.to_str().map(str::trim), Some("" | "0" | "false")));
        let update = match text(ENV_UPDATE, UPDATE_MODES)? {
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| Error::invalid_env(ENV_UPDATE, &v, UPDATE_MODES))?,
            None if ci => UpdateMode::None,
            None => UpdateMode::Missing,
        };
        let settings = Settings {
            threshold: env_unit(&text, ENV_THRESHOLD)?,
            max_diff_ratio: env_unit(&text, ENV_MAX_DIFF_RATIO)?,
            max_diff_pixels: text(ENV_MAX_DIFF_PIXELS, NON_NEGATIVE)?
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| Error::invalid_env(ENV_MAX_DIFF_PIXELS, &v, NON_NEGATIVE))
                })
                .transpose()?,
            ..Settings::default()
        };
        Ok(Self { update, settings })
    }
}

const NON_NEGATIVE: &str = "a non-negative integer";
const UNIT: &str = "a number in 0..=1";

fn env_unit(
    text: &impl Fn(&'static str, &'static str) -> Result<Option<String>, Error>,
    name: &'static str,
) -> Result<Option<f64>, Error> {
    text(name, UNIT)?
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| (0.0..=1.0).contains(n))
                .ok_or_else(|| Error::invalid_env(name, &v, UNIT))
        })
        .transpose()
}

/// Read per-snapshot settings from a JSON file; a missing file is empty.
pub(crate) fn read_file(path: &Path) -> Result<Settings, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
        Err(e) => return Err(Error::io("read snapshot settings", path, e)),
    };
    let bad = |what: String| Error::new(ErrorKind::InvalidConfig, what).with_path(path);
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| bad("snapshot settings are not valid json".into()).with_source(e))?;
    let Value::Object(map) = value else {
        return Err(bad("snapshot settings must be a json object".into()));
    };
    let mut s = Settings::default();
    for (key, v) in map {
        let wrong = |expected: &str| bad(format!("setting `{key}` must be {expected}, got {v}"));
        match key.as_str() {
            "threshold" | "max_diff_ratio" => {
                let n = v
                    .as_f64()
                    .filter(|n| (0.0..=1.0).contains(n))
                    .ok_or_else(|| wrong("a number in 0..=1"))?;
                if key == "threshold" {
                    s.threshold = Some(n);
                } else {
                    s.max_diff_ratio = Some(n);
                }
            }
            "max_diff_pixels" => {
                s.max_diff_pixels =
                    Some(v.as_u64().ok_or_else(|| wrong("a non-negative integer"))?);
            }
            "include_aa" => s.include_aa = Some(v.as_bool().ok_or_else(|| wrong("a boolean"))?),
            "background" => {
                s.background = Some(match v.as_str() {
                    Some("checkerboard") => Background::Checkerboard,
                    Some("white") => Background::White,
                    _ => return Err(wrong("\"checkerboard\" or \"white\"")),
                });
            }
            "ignore" => {
                let rects = v
                    .as_array()
                    .ok_or_else(|| wrong("a list of [x, y, w, h]"))?;
                for r in rects {
                    let n: Vec<u32> = r
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|n| n.as_u64()?.try_into().ok())
                                .collect()
                        })
                        .unwrap_or_default();
                    if n.len() != 4 || r.as_array().is_some_and(|a| a.len() != 4) {
                        return Err(wrong("a list of [x, y, w, h]"));
                    }
                    s.ignore.push(Rect::new(n[0], n[1], n[2], n[3]));
                }
            }
            _ => return Err(bad(format!("unknown snapshot setting `{key}`"))),
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn a_value_that_is_not_utf8_is_an_error_naming_the_variable() {
        use std::os::unix::ffi::OsStringExt;
        let lookup = |k: &str| (k == ENV_THRESHOLD).then(|| OsString::from_vec(vec![b'0', 0xff]));
        let err = EnvConfig::read(&lookup).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidEnv);
        assert_eq!(
            err.to_string(),
            "environment variable STEADFAST_VISUAL_THRESHOLD has invalid value \"0\u{fffd}\": \
             expected a number in 0..=1"
        );
    }

    #[test]
    fn update_defaults_to_missing_locally_and_none_on_ci() {
        assert_eq!(
            EnvConfig::read(&env(&[])).unwrap().update,
            UpdateMode::Missing
        );
        assert_eq!(
            EnvConfig::read(&env(&[("CI", "true")])).unwrap().update,
            UpdateMode::None
        );
        assert_eq!(
            EnvConfig::read(&env(&[("CI", "false")])).unwrap().update,
            UpdateMode::Missing
        );
        let explicit = EnvConfig::read(&env(&[("CI", "1"), (ENV_UPDATE, "all")])).unwrap();
        assert_eq!(explicit.update, UpdateMode::All);
    }

    #[test]
    fn blank_values_count_as_unset() {
        let c =
            EnvConfig::read(&env(&[(ENV_UPDATE, ""), (ENV_THRESHOLD, " "), ("CI", "")])).unwrap();
        assert_eq!(c.update, UpdateMode::Missing);
        assert_eq!(c.settings.threshold, None);
    }

    #[test]
    fn tolerances_come_from_the_environment() {
        let c = EnvConfig::read(&env(&[
            (ENV_THRESHOLD, "0.2"),
            (ENV_MAX_DIFF_RATIO, " 0.01 "),
            (ENV_MAX_DIFF_PIXELS, "40"),
        ]))
        .unwrap();
        assert_eq!(c.settings.threshold, Some(0.2));
        assert_eq!(c.settings.max_diff_ratio, Some(0.01));
        assert_eq!(c.settings.max_diff_pixels, Some(40));
    }

    #[test]
    fn malformed_values_name_the_variable() {
        for (var, value, expected) in [
            (ENV_UPDATE, "sometimes", "none, missing, changed or all"),
            (ENV_THRESHOLD, "high", "a number in 0..=1"),
            (ENV_THRESHOLD, "1.5", "a number in 0..=1"),
            (ENV_MAX_DIFF_RATIO, "NaN", "a number in 0..=1"),
            (ENV_MAX_DIFF_PIXELS, "-3", "a non-negative integer"),
        ] {
            let err = EnvConfig::read(&env(&[(var, value)])).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidEnv);
            assert_eq!(err.variable(), Some(var));
            assert_eq!(
                err.to_string(),
                format!(
                    "environment variable {var} has invalid value \"{value}\": expected {expected}"
                )
            );
        }
    }

    #[test]
    fn an_unknown_update_mode_in_code_is_an_invalid_option() {
        let err = "sometimes".parse::<UpdateMode>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidOption);
        assert_eq!(
            err.to_string(),
            "invalid update mode: \"sometimes\" is not one of none, missing, changed or all"
        );
    }

    #[test]
    fn later_layers_win_and_ignores_add_up() {
        let code = Settings {
            threshold: Some(0.3),
            max_diff_pixels: Some(5),
            ignore: vec![Rect::new(0, 0, 1, 1)],
            ..Settings::default()
        };
        let file = Settings {
            threshold: Some(0.2),
            ignore: vec![Rect::new(1, 1, 1, 1)],
            ..Settings::default()
        };
        let merged = code.overlay(file);
        assert_eq!(merged.threshold, Some(0.2));
        assert_eq!(merged.max_diff_pixels, Some(5));
        assert_eq!(merged.ignore.len(), 2);
    }
}
