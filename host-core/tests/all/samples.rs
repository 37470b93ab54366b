//! The committed sample components through the public API: their outputs,
//! guest errors, stateful migration and health.

use host_core::{ComponentKind, Error, GuestErrorKind, Health, Input};

use crate::common::*;

const SAMPLES: &[(&str, &str)] = &[
    ("text-tools", "upper"),
    ("text-tools", "word-count"),
    ("text-tools", "json-pretty"),
    ("iot-sensors", "sensor-csv"),
    ("iot-sensors", "threshold-alert"),
    ("iot-sensors", "sensor-stats"),
];

fn run(project: &str, name: &str, config: &[(&str, &str)], input: &[u8]) -> Result<host_core::Output, Error> {
    let host = shared_host();
    let component = sample(project, name);
    host.call_once(
        &component,
        &crate::common::config(config),
        &Input::new(input.to_vec()),
        host.config().default_limits.clone(),
    )
}

#[test]
fn every_sample_loads_and_describes_itself() {
    for (project, name) in SAMPLES {
        let component = sample(project, name);
        let description = shared_host().describe(&component).unwrap();
        assert_eq!(&description.metadata.name, name, "{project}/{name}");
        assert!(description.info.size_bytes < 2 << 20, "{name} is {} bytes", description.info.size_bytes);
        match &description.info.kind {
            ComponentKind::Contract { version, .. } => assert_eq!(version, host_core::CONTRACT_VERSION),
            ComponentKind::WasiCommand => assert_eq!(*name, "sensor-csv"),
        }
    }
}

#[test]
fn upper_turns_text_to_upper_case() {
    assert_eq!(run("text-tools", "upper", &[], b"hello, world").unwrap().data, b"HELLO, WORLD");
    assert_eq!(run("text-tools", "upper", &[], "straße".as_bytes()).unwrap().data, "STRASSE".as_bytes());
}

#[test]
fn upper_refuses_invalid_utf8_with_a_guest_error() {
    let err = run("text-tools", "upper", &[], &[0xff, 0xfe]).unwrap_err();
    let Error::Guest { function: "execute", error } = &err else { panic!("{err:?}") };
    assert_eq!(error.kind, GuestErrorKind::InvalidInput);
}

#[test]
fn one_instance_serves_many_calls() {
    let host = shared_host();
    let mut instance = host.instantiate(&sample("text-tools", "upper")).unwrap();
    instance.init(&[]).unwrap();
    for i in 0..5_000u32 {
        let out = instance.execute(&Input::new(format!("call {i}").into_bytes())).unwrap();
        assert_eq!(out.data, format!("CALL {i}").into_bytes());
    }
    assert_eq!(instance.health().unwrap(), Health::Healthy);
    instance.shutdown().unwrap();
}

#[test]
fn word_count_counts() {
    let out = run("text-tools", "word-count", &[], b"one two\nthree\n").unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.data).unwrap();
    assert_eq!(json["words"], 3);
    assert_eq!(json["lines"], 2);
    assert_eq!(json["bytes"], 14);
}

#[test]
fn json_pretty_reformats_and_reports_bad_json() {
    let out = run("text-tools", "json-pretty", &[("indent", "4")], br#"{"a":[1,2]}"#).unwrap();
    let text = String::from_utf8(out.data).unwrap();
    assert!(text.contains("\n    \"a\""), "{text}");
    let err = run("text-tools", "json-pretty", &[], b"{not json").unwrap_err();
    let Error::Guest { error, .. } = &err else { panic!("{err:?}") };
    assert_eq!(error.kind, GuestErrorKind::InvalidInput);
    assert!(error.message.contains("line 1"), "{}", error.message);
}

#[test]
fn json_pretty_refuses_bad_config_at_init() {
    let err = run("text-tools", "json-pretty", &[("indent", "99")], b"{}").unwrap_err();
    let Error::Guest { function: "init", error } = &err else { panic!("{err:?}") };
    assert_eq!(error.kind, GuestErrorKind::InvalidConfig);
}

#[test]
fn sensor_csv_command_turns_csv_into_json_lines() {
    let out =
        run("iot-sensors", "sensor-csv", &[], b"sensor,ts,value\nt1,1700000000,21.5\nt2,1700000001,30\n").unwrap();
    let text = String::from_utf8(out.data).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["sensor"], "t1");
    assert_eq!(lines[1]["value"], 30.0);
}

#[test]
fn sensor_csv_reports_the_bad_line_and_exit_status() {
    let err = run("iot-sensors", "sensor-csv", &[], b"t1,1700000000,21.5\nbroken line\n").unwrap_err();
    let Error::CommandFailed { code, stderr } = &err else { panic!("{err:?}") };
    assert_ne!(*code, 0);
    assert!(stderr.contains('2'), "stderr names line 2: {stderr}");
}

#[test]
fn threshold_alert_routes_by_port_and_needs_its_config() {
    let readings = b"{\"sensor\":\"t1\",\"ts\":1,\"value\":10.0}\n{\"sensor\":\"t2\",\"ts\":2,\"value\":50.0}\n";
    let out = run("iot-sensors", "threshold-alert", &[("threshold", "40")], readings).unwrap();
    let port = out.metadata.iter().find(|(k, _)| k == "port").map(|(_, v)| v.clone());
    assert_eq!(port, Some(host_core::Value::Text("alert".into())));
    assert!(String::from_utf8_lossy(&out.data).contains("t2"));
    assert!(!String::from_utf8_lossy(&out.data).contains("t1"));

    let err = run("iot-sensors", "threshold-alert", &[], readings).unwrap_err();
    let Error::Guest { function: "init", error } = &err else { panic!("{err:?}") };
    assert_eq!(error.kind, GuestErrorKind::InvalidConfig);
    assert!(error.message.contains("threshold"), "{}", error.message);
}

#[test]
fn sensor_stats_state_survives_snapshot_and_restore() {
    let host = shared_host();
    let component = sample("iot-sensors", "sensor-stats");
    assert!(matches!(component.kind(), ComponentKind::Contract { state: true, .. }));
    let mut old = host.instantiate(&component).unwrap();
    old.init(&[]).unwrap();
    old.execute(&Input::new(b"{\"sensor\":\"t1\",\"ts\":1,\"value\":10.0}\n".to_vec())).unwrap();
    old.execute(&Input::new(b"{\"sensor\":\"t1\",\"ts\":2,\"value\":20.0}\n".to_vec())).unwrap();
    let snapshot = old.snapshot().unwrap().expect("stateful component snapshots");

    let mut new = host.instantiate(&component).unwrap();
    new.init(&[]).unwrap();
    new.restore(&snapshot, "1.0.0").unwrap();
    let out = new.execute(&Input::new(b"{\"sensor\":\"t1\",\"ts\":3,\"value\":30.0}\n".to_vec())).unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.data).unwrap();
    assert_eq!(summary["sensors"]["t1"]["count"], 3, "{summary}");

    let err = new.restore(b"garbage", "1.0.0").unwrap_err();
    assert!(matches!(err, Error::Guest { function: "restore", .. }), "{err:?}");
}
