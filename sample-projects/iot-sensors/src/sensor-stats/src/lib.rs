//! `sensor-stats`: per-sensor count, min, max and mean, kept across calls and
//! across hot upgrades (a stateful component: it exports `state`).
//!
//! `execute` takes `application/x-ndjson` readings as `sensor-csv` writes
//! them (`{"sensor":"t1","ts":1700000000,"value":21.5}`, blank lines
//! skipped), adds them to the statistics and returns the current summary:
//!
//! ```json
//! {"readings":3,"sensors":{"t1":{"count":2,"min":21.5,"max":22.5,"mean":22.0,"latest_ts":1700000060}}}
//! ```
//!
//! A batch is applied whole or not at all: one bad line (an `invalid-input`
//! error naming the line) leaves the statistics unchanged.
//!
//! `snapshot` returns the statistics as JSON
//! (`{"format":1,"readings":N,"sensors":{...}}`); `restore` loads such a
//! snapshot and rejects anything else with `invalid-input`.

use std::collections::BTreeMap;

use airssys_sdk::prelude::*;
use serde::{Deserialize, Serialize};

/// Media type of newline-delimited JSON.
pub const NDJSON: &str = "application/x-ndjson";

/// Version of the snapshot layout this build writes and reads.
pub const SNAPSHOT_FORMAT: u32 = 1;

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

/// Statistics of one sensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorStats {
    /// Readings seen.
    pub count: u64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean value (kept as a running mean, so it cannot overflow).
    pub mean: f64,
    /// Largest timestamp seen.
    pub latest_ts: i64,
}

impl SensorStats {
    fn first(reading: &Reading) -> Self {
        SensorStats { count: 1, min: reading.value, max: reading.value, mean: reading.value, latest_ts: reading.ts }
    }

    fn add(&mut self, reading: &Reading) {
        self.count += 1;
        self.min = self.min.min(reading.value);
        self.max = self.max.max(reading.value);
        self.mean += (reading.value - self.mean) / self.count as f64;
        self.latest_ts = self.latest_ts.max(reading.ts);
    }

    fn check(&self, sensor: &str) -> Result<(), String> {
        if self.count == 0 {
            return Err(format!("sensor {sensor:?}: count is 0"));
        }
        if !(self.min.is_finite() && self.max.is_finite() && self.mean.is_finite()) {
            return Err(format!("sensor {sensor:?}: min, max and mean must be finite"));
        }
        if self.min > self.max {
            return Err(format!("sensor {sensor:?}: min is above max"));
        }
        Ok(())
    }
}

/// Everything the component knows; also the snapshot layout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Snapshot layout version ([`SNAPSHOT_FORMAT`]).
    pub format: u32,
    /// Readings seen, all sensors together.
    pub readings: u64,
    /// Per-sensor statistics, by sensor id.
    pub sensors: BTreeMap<String, SensorStats>,
}

impl Stats {
    fn new() -> Self {
        Stats { format: SNAPSHOT_FORMAT, ..Stats::default() }
    }

    fn add(&mut self, reading: &Reading) {
        self.readings += 1;
        match self.sensors.get_mut(&reading.sensor) {
            Some(stats) => stats.add(reading),
            None => {
                self.sensors.insert(reading.sensor.clone(), SensorStats::first(reading));
            }
        }
    }

    /// Parses and checks a snapshot.
    fn from_snapshot(data: &[u8]) -> Result<Self, String> {
        let stats: Stats = serde_json::from_slice(data).map_err(|e| format!("not a sensor-stats snapshot: {e}"))?;
        if stats.format != SNAPSHOT_FORMAT {
            return Err(format!("unsupported snapshot format {} (this version reads {SNAPSHOT_FORMAT})", stats.format));
        }
        for (sensor, s) in &stats.sensors {
            s.check(sensor)?;
        }
        let counted: u64 = stats.sensors.values().map(|s| s.count).sum();
        if counted != stats.readings {
            return Err(format!("readings is {} but the sensors count {counted}", stats.readings));
        }
        Ok(stats)
    }
}

/// The summary `execute` returns.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    readings: u64,
    sensors: &'a BTreeMap<String, SensorStats>,
}

/// Parses the non-blank lines of `text` as readings.
pub fn parse_readings(text: &str) -> Result<Vec<Reading>, Error> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
        .map(|(line_no, line)| {
            serde_json::from_str::<Reading>(line)
                .map_err(|e| Error::invalid_input(format!("line {line_no}: invalid reading: {e}")))
        })
        .collect()
}

/// The component: statistics so far.
#[derive(Debug)]
pub struct SensorStatsComponent {
    stats: Stats,
}

impl Component for SensorStatsComponent {
    fn metadata() -> Metadata {
        Metadata::new("sensor-stats", "1.0.0", "Per-sensor count/min/max/mean, kept across calls and upgrades")
            .accepts(NDJSON)
            .produces("application/json")
    }

    fn init(_config: &Config) -> Result<Self, Error> {
        Ok(SensorStatsComponent { stats: Stats::new() })
    }

    fn execute(&mut self, input: Input) -> Result<Output, Error> {
        let readings = parse_readings(input.text()?)?;
        for reading in &readings {
            self.stats.add(reading);
        }
        let summary = Summary { readings: self.stats.readings, sensors: &self.stats.sensors };
        let json =
            serde_json::to_string(&summary).map_err(|e| Error::internal(format!("cannot write summary: {e}")))?;
        metric("sensor_stats_readings_total", readings.len() as f64, &[]);
        Ok(Output::json(json))
    }
}

impl Stateful for SensorStatsComponent {
    fn snapshot(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(&self.stats).map_err(|e| Error::internal(format!("cannot write snapshot: {e}")))
    }

    fn restore(&mut self, data: Vec<u8>, from_version: &str) -> Result<(), Error> {
        let stats = Stats::from_snapshot(&data)
            .map_err(|e| Error::invalid_input(format!("cannot restore state from version {from_version}: {e}")))?;
        log::info(
            "restored statistics",
            &[
                ("from_version", from_version),
                ("sensors", &stats.sensors.len().to_string()),
                ("readings", &stats.readings.to_string()),
            ],
        );
        self.stats = stats;
        Ok(())
    }
}

airssys_sdk::export_component!(SensorStatsComponent, stateful);

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> SensorStatsComponent {
        SensorStatsComponent::init(&Config::default()).unwrap()
    }

    fn summary(out: Output) -> serde_json::Value {
        serde_json::from_slice(&out.data).unwrap()
    }

    const BATCH: &str = "{\"sensor\":\"t1\",\"ts\":10,\"value\":21.5}\n{\"sensor\":\"t2\",\"ts\":11,\"value\":-3}\n\n{\"sensor\":\"t1\",\"ts\":5,\"value\":22.5}\n";

    #[test]
    fn accumulates_across_calls() {
        let mut c = fresh();
        let s = summary(c.execute(Input::new(BATCH)).unwrap());
        assert_eq!(s["readings"], 3);
        assert_eq!(s["sensors"]["t1"]["count"], 2);
        assert_eq!(s["sensors"]["t1"]["min"], 21.5);
        assert_eq!(s["sensors"]["t1"]["max"], 22.5);
        assert_eq!(s["sensors"]["t1"]["mean"], 22.0);
        assert_eq!(s["sensors"]["t1"]["latest_ts"], 10);
        let s = summary(c.execute(Input::new("{\"sensor\":\"t2\",\"ts\":12,\"value\":5}")).unwrap());
        assert_eq!(s["readings"], 4);
        assert_eq!(s["sensors"]["t2"]["mean"], 1.0);
    }

    #[test]
    fn bad_batch_changes_nothing() {
        let mut c = fresh();
        c.execute(Input::new(BATCH)).unwrap();
        let before = c.stats.clone();
        let err = c.execute(Input::new("{\"sensor\":\"t1\",\"ts\":1,\"value\":1}\nnot json")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(err.message.starts_with("line 2:"), "{}", err.message);
        assert_eq!(c.stats, before);
    }

    #[test]
    fn snapshot_round_trip_and_garbage() {
        let mut old = fresh();
        old.execute(Input::new(BATCH)).unwrap();
        let snap = old.snapshot().unwrap();

        let mut new = fresh();
        new.restore(snap, "1.0.0").unwrap();
        assert_eq!(new.stats, old.stats);

        for garbage in [
            &b"garbage"[..],
            br#"{"format":2,"readings":0,"sensors":{}}"#,
            br#"{"format":1,"readings":1,"sensors":{"t":{"count":0,"min":1,"max":1,"mean":1,"latest_ts":0}}}"#,
            br#"{"format":1,"readings":5,"sensors":{"t":{"count":1,"min":1,"max":1,"mean":1,"latest_ts":0}}}"#,
            br#"{"format":1,"readings":1,"sensors":{"t":{"count":1,"min":2,"max":1,"mean":1,"latest_ts":0}}}"#,
        ] {
            let err = new.restore(garbage.to_vec(), "0.9.0").unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidInput);
            assert!(err.message.contains("0.9.0"), "{}", err.message);
        }
        assert_eq!(new.stats, old.stats, "a failed restore keeps the state");
    }
}
