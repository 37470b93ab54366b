//! Typed errors: every variant survives its wire form (the JSON a server
//! answers with) with its code, kind and message; every kind has one HTTP
//! status, and the server answers each error with its kind's status.

use std::{path::PathBuf, time::Duration};

use host_core::{
    Capability, Digest, Error, ErrorKind, GuestError, GuestErrorKind,
    deploy::{RolloutOutcome, RolloutRecord, StrategyKind, Trigger},
    pipeline::PipelineError,
    remote::server::status_of,
};

use crate::common::r;

fn io(kind: std::io::ErrorKind, text: &str) -> std::io::Error {
    std::io::Error::new(kind, text)
}

fn wasm(text: &str) -> host_core::WasmtimeError {
    wasmtime::Error::msg(text.to_string()).context("while calling").into()
}

fn json_error() -> serde_json::Error {
    serde_json::from_str::<serde_json::Value>("{oops").unwrap_err()
}

fn record() -> RolloutRecord {
    RolloutRecord {
        id: "1-2-3".into(),
        service: "svc".into(),
        trigger: Trigger::Deploy,
        from: Some(r("text@1.0.0")),
        to: r("text@2.0.0"),
        strategy: StrategyKind::Canary,
        steps: Vec::new(),
        outcome: RolloutOutcome::RolledBack("errors rose".into()),
        started_at_ms: 1,
        finished_at_ms: 2,
    }
}

/// One error of every variant, with every field set.
fn one_of_each() -> Vec<Error> {
    let path = PathBuf::from("/data/audit.jsonl");
    let digest = Digest::of(b"x");
    let guest = GuestError { kind: GuestErrorKind::InvalidInput, message: "bad input".into(), retryable: true };
    vec![
        Error::Io {
            action: "read the component",
            path: path.clone(),
            source: io(std::io::ErrorKind::NotFound, "gone"),
        },
        Error::NotWasm { reason: "too short".into() },
        Error::CoreModule,
        Error::InvalidComponent(wasm("bad section")),
        Error::MissingExport { found: "nothing".into() },
        Error::ContractVersion { found: "0.2.0".into(), expected: "0.1.0" },
        Error::Link(wasm("import `x` not found")),
        Error::Instantiate(wasm("pool full")),
        Error::Trap { function: "execute", source: wasm("wasm trap: unreachable"), guest_stderr: "panicked".into() },
        Error::Timeout { function: "execute", limit: Duration::from_millis(1500) },
        Error::OutOfMemory { function: "init", limit_bytes: 8 << 20, requested_bytes: 9 << 20 },
        Error::OutOfFuel { function: "execute", fuel: 1000 },
        Error::OutputTooLarge { limit_bytes: 16 },
        Error::Guest { function: "execute", error: guest },
        Error::CommandFailed { code: 3, stderr: "no".into() },
        Error::Poisoned,
        Error::InvalidReference { reference: "x@y".into(), reason: "not semver".into() },
        Error::VersionExists { reference: "text@1.0.0".into(), existing: digest, new: Digest::of(b"y") },
        Error::UnknownComponent { name: "text".into() },
        Error::UnknownVersion { reference: "text@9.0.0".into(), known: "1.0.0".into() },
        Error::BlobCorrupt { digest, path: path.clone() },
        Error::InUse { reference: "text@1.0.0".into(), services: "svc".into() },
        Error::DataCorrupt { path: path.clone(), source: json_error() },
        Error::MissingCapabilities {
            service: "svc".into(),
            component: "text@1.0.0".into(),
            missing: vec!["file-read:/data".parse::<Capability>().unwrap()],
        },
        Error::GrantInvalid { capability: "syscall:x".into(), reason: "no such".into() },
        Error::Signature("untrusted key".into()),
        Error::ProjectFile { path: path.clone(), line: 3, column: 7, message: "duplicate key".into() },
        Error::UnknownPipeline { name: "p".into(), known: "q".into() },
        Error::InvalidPipeline {
            pipeline: "p".into(),
            errors: vec![
                PipelineError::Empty,
                PipelineError::UnknownService { node: "n".into(), service: "ghost".into() },
            ],
        },
        Error::PipelineNode {
            pipeline: "p".into(),
            node: "n".into(),
            source: Box::new(Error::Timeout { function: "execute", limit: Duration::from_secs(1) }),
        },
        Error::PipelineTimeout { pipeline: "p".into(), limit: Duration::from_millis(250) },
        Error::Remote { status: 418, code: "teapot".into(), message: "short and stout".into() },
        Error::RemoteUnreachable { url: "http://127.0.0.1:1".into(), reason: "refused".into() },
        Error::NoDataDir,
        Error::UnknownService { name: "nope".into() },
        Error::NothingToRollBack { service: "svc".into() },
        Error::StatefulStrategy { service: "svc".into(), strategy: StrategyKind::Canary },
        Error::InvalidStrategy("steps must increase".into()),
        Error::RolloutFailed(Box::new(record())),
        Error::PoolBusy { waited: Duration::from_millis(20), size: 2 },
        Error::Cache("not yours".into()),
        Error::Config("stack too small".into()),
        Error::TableLimit { function: "instantiate", limit: 10, requested: 20 },
        Error::HostCapacity { needed: 5, capacity: 4, in_use: 1 },
        Error::InvalidLimits("timeout_ms must be above 0".into()),
        Error::HostMaximum {
            what: "table elements",
            requested: "9".into(),
            maximum: "8".into(),
            setting: "the host's maximum table size",
        },
        Error::LogTorn { path: path.clone(), line: 4, reason: "cut short".into() },
        Error::LogUnwritable { path: path.clone(), source: io(std::io::ErrorKind::PermissionDenied, "read-only") },
        Error::LogCorrupt { path: path.clone(), line: 2, reason: "edited".into() },
        Error::Unrecorded {
            change: "deploy of text@1.0.0 to `svc`".into(),
            path: path.clone(),
            source: Box::new(Error::LogTorn { path: path.clone(), line: 4, reason: "cut short".into() }),
        },
        Error::ContractShape { mismatches: Vec::new() },
        Error::Thread { name: "epoch ticker", source: io(std::io::ErrorKind::OutOfMemory, "no threads") },
        Error::Encode { what: "the request", source: json_error() },
        Error::Unsupported { function: "restore", needs: "a component that exports the state interface" },
        Error::Retired { version: "text@1.0.0".into() },
        Error::NoRoute { service: "svc".into() },
        Error::Listen { address: "127.0.0.1:80".into(), source: io(std::io::ErrorKind::AddrInUse, "in use") },
        Error::Randomness { purpose: "a server token", reason: "no entropy".into() },
        Error::TokenFile { path: path.clone(), problem: "it is empty".into() },
        Error::ContractText("no world".into()),
        Error::Measurement("no calls".into()),
        Error::BadRequest { reason: "bad query string".into() },
        Error::Unauthorized { reason: "wrong token".into() },
        Error::BodyTooLarge { limit_bytes: 1024 },
        Error::NoEndpoint { method: "GET".into(), path: "/v1/nothing".into() },
    ]
}

#[test]
fn every_variant_survives_its_wire_form_with_its_code_kind_and_message() {
    let errors = one_of_each();
    let mut codes = std::collections::BTreeSet::new();
    for error in &errors {
        let wire = serde_json::to_value(error).unwrap();
        assert_eq!(wire["code"], error.code(), "the wire's code is the variant's code: {wire}");
        let back: Error = serde_json::from_value(wire.clone()).unwrap_or_else(|e| panic!("{wire}: {e}"));
        assert_eq!(back.code(), error.code(), "{wire}");
        assert_eq!(back.kind(), error.kind(), "{wire}");
        assert_eq!(back.to_string(), error.to_string(), "{wire}");
        assert!(codes.insert(error.code().to_string()), "two variants share the code {}", error.code());
    }
    // Every kind has at least one variant here, so every kind is covered.
    for kind in ErrorKind::ALL {
        assert!(errors.iter().any(|e| e.kind() == kind), "no variant of kind {kind}");
    }
    // Sources travel too: an io error keeps its kind, a nested error its variant.
    let Error::Io { source, .. } = serde_json::from_value(serde_json::to_value(&errors[0]).unwrap()).unwrap() else {
        panic!()
    };
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    let nested = errors.iter().find(|e| e.code() == "pipeline-node").unwrap();
    let Error::PipelineNode { source, .. } = serde_json::from_value(serde_json::to_value(nested).unwrap()).unwrap()
    else {
        panic!()
    };
    assert!(matches!(*source, Error::Timeout { function: "execute", .. }), "{source:?}");
}

#[test]
fn an_unknown_code_reads_as_no_variant() {
    let wire = serde_json::json!({ "code": "from-a-newer-server", "detail": { "x": 1 } });
    assert!(serde_json::from_value::<Error>(wire).is_err(), "the client falls back to Error::Remote");
}

#[test]
fn every_kind_has_one_http_status() {
    let expected = [
        (ErrorKind::BadRequest, 400),
        (ErrorKind::Unauthorized, 401),
        (ErrorKind::Denied, 403),
        (ErrorKind::NotFound, 404),
        (ErrorKind::Conflict, 409),
        (ErrorKind::TooLarge, 413),
        (ErrorKind::Invalid, 422),
        (ErrorKind::GuestFault, 422),
        (ErrorKind::Unavailable, 503),
        (ErrorKind::Internal, 500),
    ];
    assert_eq!(expected.len(), ErrorKind::ALL.len());
    for (kind, status) in expected {
        assert_eq!(status_of(kind).as_u16(), status, "{kind}");
    }
    // A server's status reads back as the same kind on a client that does
    // not know the error's code.
    for kind in ErrorKind::ALL {
        let status = status_of(kind).as_u16();
        let unknown = Error::Remote { status, code: "new".into(), message: String::new() };
        if kind != ErrorKind::GuestFault {
            assert_eq!(unknown.kind(), kind, "{status}");
        }
    }
}
