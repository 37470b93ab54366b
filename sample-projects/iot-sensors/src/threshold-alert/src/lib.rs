//! `threshold-alert`: passes on the sensor readings above a threshold.
//!
//! Input (`application/x-ndjson`): one reading per line, as `sensor-csv`
//! writes them: `{"sensor":"t1","ts":1700000000,"value":21.5}`. Blank lines
//! are skipped; extra fields are allowed. A line that is not such a reading is
//! an `invalid-input` error naming its line number, and nothing is output.
//!
//! Config `threshold` (required, a finite number): a reading alerts when its
//! `value` is strictly greater. A missing or non-numeric threshold is an
//! `invalid-config` error at `init`.
//!
//! Output (`application/x-ndjson`): the alerting lines, unchanged, each ending
//! in a newline. Output metadata `port` is `alert` when at least one reading
//! alerts and `ok` otherwise, so a pipeline can route on it; `readings` and
//! `alerts` give the counts.

use airssys_sdk::prelude::*;
use serde::Deserialize;

/// Media type of newline-delimited JSON.
pub const NDJSON: &str = "application/x-ndjson";

/// One sensor reading.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Reading {
    /// Sensor id.
    pub sensor: String,
    /// Unix timestamp, seconds.
    pub ts: i64,
    /// Measured value.
    pub value: f64,
}

/// Parses the non-blank lines of `text` as readings, keeping each line's
/// trimmed text next to its reading.
pub fn parse_readings(text: &str) -> Result<Vec<(&str, Reading)>, Error> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
        .map(|(line_no, line)| {
            serde_json::from_str::<Reading>(line)
                .map(|reading| (line, reading))
                .map_err(|e| Error::invalid_input(format!("line {line_no}: invalid reading: {e}")))
        })
        .collect()
}

/// The component: the threshold chosen at `init`.
#[derive(Debug)]
pub struct ThresholdAlert {
    threshold: f64,
}

impl Component for ThresholdAlert {
    fn metadata() -> Metadata {
        Metadata::new("threshold-alert", "1.0.0", "Passes on sensor readings above a threshold; port `alert` or `ok`")
            .accepts(NDJSON)
            .produces(NDJSON)
    }

    fn init(config: &Config) -> Result<Self, Error> {
        let threshold: f64 = config.require_parse("threshold")?;
        if !threshold.is_finite() {
            return Err(Error::invalid_config(format!(
                "config key `threshold` must be a finite number, got {threshold}"
            )));
        }
        Ok(ThresholdAlert { threshold })
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        let readings = parse_readings(input.text()?)?;
        let mut body = String::new();
        let mut alerts: i64 = 0;
        for (line, reading) in &readings {
            if reading.value > self.threshold {
                body.push_str(line);
                body.push('\n');
                alerts += 1;
            }
        }
        if alerts > 0 {
            log::info(
                "readings above threshold",
                &[("alerts", &alerts.to_string()), ("threshold", &self.threshold.to_string())],
            );
        }
        metric("threshold_alert_alerts_total", alerts as f64, &[]);
        Ok(Output::new(body)
            .with_content_type(NDJSON)
            .to_port(if alerts > 0 { "alert" } else { "ok" })
            .with_metadata("readings", readings.len() as i64)
            .with_metadata("alerts", alerts))
    }
}

airssys_sdk::export_component!(ThresholdAlert);

#[cfg(test)]
mod tests {
    use super::*;

    fn component(threshold: &str) -> Result<ThresholdAlert, Error> {
        ThresholdAlert::init(&Config::from_pairs([("threshold", threshold)]))
    }

    #[test]
    fn threshold_is_required_and_numeric() {
        let kind = |r: Result<ThresholdAlert, Error>| r.unwrap_err().kind;
        assert_eq!(kind(ThresholdAlert::init(&Config::default())), ErrorKind::InvalidConfig);
        assert_eq!(kind(component("hot")), ErrorKind::InvalidConfig);
        assert_eq!(kind(component("inf")), ErrorKind::InvalidConfig);
        assert_eq!(kind(component("NaN")), ErrorKind::InvalidConfig);
        assert_eq!(component(" 30 ").unwrap().threshold, 30.0);
    }

    #[test]
    fn routes_on_alerts() {
        let mut c = component("25").unwrap();
        let input = "{\"sensor\":\"t1\",\"ts\":1,\"value\":21.5}\n\n {\"sensor\":\"t2\",\"ts\":2,\"value\":30,\"unit\":\"C\"} \n{\"sensor\":\"t1\",\"ts\":3,\"value\":25}\n";
        let out = c.execute(Input::new(input)).unwrap();
        assert_eq!(out.port(), "alert");
        assert_eq!(
            String::from_utf8(out.data.clone()).unwrap(),
            "{\"sensor\":\"t2\",\"ts\":2,\"value\":30,\"unit\":\"C\"}\n"
        );
        assert_eq!(out.metadata_value("alerts"), Some(&Value::S64(1)));
        assert_eq!(out.metadata_value("readings"), Some(&Value::S64(3)));
        assert_eq!(out.content_type(), Some(NDJSON));

        let quiet = c.execute(Input::new("{\"sensor\":\"t1\",\"ts\":1,\"value\":1}")).unwrap();
        assert_eq!(quiet.port(), "ok");
        assert!(quiet.data.is_empty());
        assert_eq!(c.execute(Input::new("")).unwrap().port(), "ok");
    }

    #[test]
    fn bad_lines_name_their_number() {
        let mut c = component("0").unwrap();
        let err = c
            .execute(Input::new("{\"sensor\":\"t1\",\"ts\":1,\"value\":1}\n{\"sensor\":\"t1\",\"ts\":1}"))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(err.message.starts_with("line 2: "), "{}", err.message);
        assert!(err.message.contains("value"), "{}", err.message);
    }
}
