//! The soak's settings, read from the environment (every variable optional).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// What one soak run does.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long the clients run after they first all connected (`SOAK_MINUTES`, 30).
    pub duration: Duration,
    /// How many clients run at once (`SOAK_CLIENTS`, 1000).
    pub clients: usize,
    /// Time between two samples (`SOAK_SAMPLE_SECS`, 60).
    pub sample_every: Duration,
    /// Mean time between two cuts of some clients (`SOAK_CHAOS_SECS`, 10).
    pub chaos_every: Duration,
    /// Time between two server-wide faults (`SOAK_GLOBAL_SECS`, 240).
    pub global_every: Duration,
    /// Mean time between two operations of one client (`SOAK_OP_SECS`, 5).
    pub op_every: Duration,
    /// Where the CSV, the plot and the report go (`SOAK_OUT`, `target/soak`).
    pub out_dir: PathBuf,
}

/// A variable that is set but cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    variable: &'static str,
    value: String,
    expected: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?}: expected {}",
            self.variable, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The settings from the process's environment.
    ///
    /// # Errors
    /// [`ConfigError`] for a variable that is not a positive number.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings from `lookup` (a variable's value, when set).
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let seconds = |variable: &'static str, default: f64, scale: f64| {
            number(&lookup, variable)
                .map(|value| Duration::from_secs_f64(value.unwrap_or(default) * scale))
        };
        Ok(Config {
            duration: seconds("SOAK_MINUTES", 30.0, 60.0)?,
            clients: count(&lookup, "SOAK_CLIENTS")?.unwrap_or(1000),
            sample_every: seconds("SOAK_SAMPLE_SECS", 60.0, 1.0)?,
            chaos_every: seconds("SOAK_CHAOS_SECS", 10.0, 1.0)?,
            global_every: seconds("SOAK_GLOBAL_SECS", 240.0, 1.0)?,
            op_every: seconds("SOAK_OP_SECS", 5.0, 1.0)?,
            out_dir: lookup("SOAK_OUT").map_or_else(|| PathBuf::from("target/soak"), PathBuf::from),
        })
    }
}

/// `variable` as a finite positive number, `None` when unset.
fn number(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<f64>, ConfigError> {
    let Some(value) = lookup(variable) else {
        return Ok(None);
    };
    match value.trim().parse::<f64>() {
        Ok(parsed) if parsed.is_finite() && parsed > 0.0 => Ok(Some(parsed)),
        _ => Err(ConfigError {
            variable,
            value,
            expected: "a positive number",
        }),
    }
}

/// `variable` as a positive integer, `None` when unset.
fn count(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<usize>, ConfigError> {
    let Some(value) = lookup(variable) else {
        return Ok(None);
    };
    match value.trim().parse::<usize>() {
        Ok(parsed) if parsed > 0 => Ok(Some(parsed)),
        _ => Err(ConfigError {
            variable,
            value,
            expected: "a positive integer",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn defaults_are_the_full_soak() {
        let config = config(&[]).expect("defaults");
        assert_eq!(config.duration, Duration::from_secs(1800));
        assert_eq!(config.clients, 1000);
        assert_eq!(config.sample_every, Duration::from_secs(60));
    }

    #[test]
    fn minutes_may_be_fractional() {
        let config = config(&[("SOAK_MINUTES", "0.5"), ("SOAK_CLIENTS", "20")]).expect("valid");
        assert_eq!(config.duration, Duration::from_secs(30));
        assert_eq!(config.clients, 20);
    }

    #[test]
    fn zero_negative_and_garbage_are_refused() {
        for (variable, value) in [
            ("SOAK_CLIENTS", "0"),
            ("SOAK_CLIENTS", "1.5"),
            ("SOAK_MINUTES", "-1"),
            ("SOAK_MINUTES", "NaN"),
            ("SOAK_MINUTES", "inf"),
            ("SOAK_SAMPLE_SECS", "soon"),
        ] {
            let error = config(&[(variable, value)]).expect_err(value);
            assert_eq!(error.variable, variable);
        }
    }
}
