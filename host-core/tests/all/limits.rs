//! Per-call limits with tiny components: traps, deadlines, memory, tables,
//! fuel and the host's instance capacity, each reported as its typed error.

use std::time::{Duration, Instant};

use host_core::{CallLimits, Error, Host, HostConfig, Input, PoolConfig};

use crate::{common::*, tiny};

const TRAP: &str = "unreachable";
const LOOP_FOREVER: &str = "(loop $l (br $l)) (i32.const 0)";
const GROW_FOREVER: &str = "(loop $l (drop (memory.grow (i32.const 16))) (br $l)) (i32.const 0)";
const RECURSE: &str = "(call $recurse (i32.const 0))";
const RECURSE_FN: &str =
    "(func $recurse (param i32) (result i32) (call $recurse (i32.add (local.get 0) (i32.const 1))))";

fn limits(timeout_ms: u64, memory_mib: usize) -> CallLimits {
    CallLimits {
        timeout: Duration::from_millis(timeout_ms),
        max_memory_bytes: memory_mib << 20,
        ..CallLimits::default()
    }
}

fn run(execute_body: &str, extra: &str, limits: CallLimits) -> Result<host_core::Output, Error> {
    let host = shared_host();
    let bytes = ::wat::parse_str(tiny::contract(execute_body, tiny::INIT_OK, "0.1.0", extra)).unwrap();
    let component = host.load_bytes(&bytes).unwrap();
    let mut instance = host.instantiate_with(&component, limits).unwrap();
    instance.init(&[]).unwrap();
    instance.execute(&Input::new(b"x".to_vec()))
}

/// Echo calls keep working: a failure in one instance harms no other.
fn neighbour_still_serves() {
    let host = shared_host();
    let echo = host.load_bytes(&tiny::with_execute(tiny::ECHO)).unwrap();
    let mut instance = host.instantiate(&echo).unwrap();
    instance.init(&[]).unwrap();
    for _ in 0..10 {
        assert_eq!(instance.execute(&Input::new(b"still here".to_vec())).unwrap().data, b"still here");
    }
}

#[test]
fn trap_fails_the_call_with_a_typed_error() {
    let err = run(TRAP, "", CallLimits::default()).unwrap_err();
    let Error::Trap { function, source, .. } = &err else { panic!("expected a trap, got {err:?}") };
    assert_eq!(*function, "execute");
    assert_eq!(source.trap(), Some(wasmtime::Trap::UnreachableCodeReached));
    assert!(err.is_guest_fault());
    neighbour_still_serves();
}

#[test]
fn trapped_instance_is_poisoned_and_says_so() {
    let host = shared_host();
    let component = host.load_bytes(&tiny::with_execute(TRAP)).unwrap();
    let mut instance = host.instantiate(&component).unwrap();
    instance.init(&[]).unwrap();
    assert!(instance.execute(&Input::new(vec![])).is_err());
    assert!(instance.is_poisoned());
    assert!(matches!(instance.execute(&Input::new(vec![])), Err(Error::Poisoned)));
    // A fresh instance of the same component works up to its own trap.
    let mut fresh = host.instantiate(&component).unwrap();
    assert!(fresh.init(&[]).is_ok());
}

#[test]
fn infinite_loop_ends_at_the_deadline() {
    let started = Instant::now();
    let err = run(LOOP_FOREVER, "", limits(200, 64)).unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, Error::Timeout { function: "execute", .. }), "{err:?}");
    assert!(err.to_string().contains("200 ms"), "{err}");
    assert!(elapsed >= Duration::from_millis(200), "interrupted early: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "deadline not enforced: {elapsed:?}");
    neighbour_still_serves();
}

#[test]
fn memory_grow_bomb_hits_the_cap() {
    // Every refused growth gives the guest -1; this one keeps asking until
    // its deadline, and the limit it hit is the reported cause.
    let err = run(GROW_FOREVER, "", limits(300, 8)).unwrap_err();
    match &err {
        Error::OutOfMemory { function, limit_bytes, requested_bytes } => {
            assert_eq!(*function, "execute");
            assert_eq!(*limit_bytes, 8 << 20);
            assert!(*requested_bytes > 8 << 20);
        }
        other => panic!("expected OutOfMemory, got {other:?}"),
    }
    assert!(err.to_string().contains("8 MiB"), "{err}");
    neighbour_still_serves();
}

#[test]
fn unbounded_recursion_is_a_stack_overflow_trap() {
    let err = run(RECURSE, RECURSE_FN, CallLimits::default()).unwrap_err();
    let Error::Trap { source, .. } = &err else { panic!("expected a trap, got {err:?}") };
    assert_eq!(source.trap(), Some(wasmtime::Trap::StackOverflow));
    neighbour_still_serves();
}

fn fuel_host() -> Host {
    Host::new(HostConfig {
        cache_dir: None,
        fuel_per_call: Some(1_000_000),
        pool: PoolConfig { max_instances: 8, max_memory_bytes: 64 << 20, ..PoolConfig::default() },
        default_limits: CallLimits { max_memory_bytes: 64 << 20, ..CallLimits::default() },
        ..HostConfig::default()
    })
    .unwrap()
}

#[test]
fn fuel_is_refilled_before_every_call() {
    let host = fuel_host();
    let echo = host.load_bytes(&tiny::with_execute(tiny::ECHO)).unwrap();
    // A budget that covers one call many times over but not thousands of
    // calls: if fuel were set once, this would run dry.
    let budget = CallLimits { fuel: Some(2_000), max_memory_bytes: 64 << 20, ..CallLimits::default() };
    let mut instance = host.instantiate_with(&echo, budget).unwrap();
    instance.init(&[]).unwrap();
    for i in 0..5_000 {
        let out = instance.execute(&Input::new(b"fuel".to_vec()));
        assert!(out.is_ok(), "call {i} failed: {out:?}");
    }
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let host = fuel_host();
    let bytes = ::wat::parse_str(tiny::contract(LOOP_FOREVER, tiny::INIT_OK, "0.1.0", "")).unwrap();
    let component = host.load_bytes(&bytes).unwrap();
    let limits = CallLimits {
        fuel: Some(50_000),
        timeout: Duration::from_secs(30),
        max_memory_bytes: 64 << 20,
        ..CallLimits::default()
    };
    let mut instance = host.instantiate_with(&component, limits).unwrap();
    instance.init(&[]).unwrap();
    let err = instance.execute(&Input::new(vec![])).unwrap_err();
    assert!(matches!(err, Error::OutOfFuel { fuel: 50_000, .. }), "{err:?}");
}

#[test]
fn memory_cap_above_the_pool_is_refused() {
    let host = shared_host();
    let echo = host.load_bytes(&tiny::with_execute(tiny::ECHO)).unwrap();
    let err = host.instantiate_with(&echo, limits(1000, 4096)).unwrap_err();
    assert!(matches!(err, Error::HostMaximum { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("needs 4096 MiB") && text.contains("limit is 256 MiB"), "{text}");
    assert!(text.contains("max_memory_bytes"), "names the setting: {text}");
}

/// `execute` that asks for 1000 more pages and, when refused (-1), answers
/// with an echo; when granted, traps.
const GROW_OR_ECHO: &str = "(if (i32.ne (memory.grow (i32.const 1000)) (i32.const -1)) (then unreachable))";

#[test]
fn a_refused_memory_growth_returns_minus_one_and_a_guest_that_recovers_succeeds() {
    let body = format!("{GROW_OR_ECHO} {}", tiny::ECHO);
    let out = run(&body, "", limits(1_000, 8)).unwrap();
    assert_eq!(out.data, b"x");
}

#[test]
fn a_guest_error_after_a_refused_growth_reports_the_limit() {
    // Refused, the guest returns its own error value ("broken!").
    let body = format!(
        "{GROW_OR_ECHO}
        (i32.store8 (i32.const 32) (i32.const 1))
        (i32.store8 (i32.const 36) (i32.const 6))
        (i32.store (i32.const 40) (i32.const 1100))
        (i32.store (i32.const 44) (i32.const 7))
        (i32.store8 (i32.const 48) (i32.const 0))
        (i32.const 32)"
    );
    let err = run(&body, "", limits(1_000, 8)).unwrap_err();
    assert!(
        matches!(err, Error::OutOfMemory { function: "execute", limit_bytes, .. } if limit_bytes == 8 << 20),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("needs") && text.contains("limit is 8 MiB") && text.contains("the max_memory_mib limit"),
        "{text}"
    );
}

#[test]
fn a_refused_table_growth_returns_minus_one_and_a_guest_that_recovers_succeeds() {
    let body = format!(
        "(if (i32.ne (table.grow $t (ref.null func) (i32.const 500)) (i32.const -1)) (then unreachable)) {}",
        tiny::ECHO
    );
    let bounded = CallLimits { max_table_elements: 100, ..limits(1_000, 8) };
    assert_eq!(run(&body, "(table $t 1 funcref)", bounded).unwrap().data, b"x");
}

#[test]
fn a_large_initial_table_loads_by_default_and_a_lower_limit_names_what_it_needs() {
    // Large runtimes compiled to wasm have tables like this one.
    let table = "(table 15000 funcref)";
    assert_eq!(run(tiny::ECHO, table, CallLimits::default()).unwrap().data, b"x");
    let host = shared_host();
    let component = host.load_bytes(&tiny::Tiny { extra: table, ..Default::default() }.bytes()).unwrap();
    let err = host
        .instantiate_with(&component, CallLimits { max_table_elements: 10_000, ..CallLimits::default() })
        .unwrap_err();
    assert!(matches!(err, Error::TableLimit { function: "instantiate", requested: 15_000, limit: 10_000 }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("needs a table of 15000 elements, limit is 10000"), "{text}");
    assert!(text.contains("the max_table_elements limit") && !text.contains("--"), "{text}");
}

#[test]
fn an_initial_memory_above_the_host_maximum_is_refused_at_load_in_mib() {
    let host = Host::new(HostConfig {
        cache_dir: None,
        pool: PoolConfig { max_instances: 4, max_memory_bytes: 64 << 20, ..PoolConfig::default() },
        default_limits: CallLimits { max_memory_bytes: 64 << 20, ..CallLimits::default() },
        ..HostConfig::default()
    })
    .unwrap();
    // 2000 pages: 125 MiB before the first instruction.
    let bytes = tiny::Tiny { ..Default::default() }.text().replacen(
        "(memory (export \"memory\") 1)",
        "(memory (export \"memory\") 2000)",
        1,
    );
    let err = host.load_bytes(&wat::parse_str(bytes).unwrap()).unwrap_err();
    assert!(matches!(err, Error::OutOfMemory { requested_bytes, .. } if requested_bytes == 125 << 20), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("needs 125 MiB") && text.contains("limit is 64 MiB"), "{text}");
    assert!(!text.contains("0x"), "not in engine terms: {text}");
}

#[test]
fn a_full_host_names_its_instance_capacity() {
    let host = Host::new(HostConfig {
        cache_dir: None,
        pool: PoolConfig { max_instances: 3, ..PoolConfig::default() },
        ..HostConfig::default()
    })
    .unwrap();
    let echo = host.load_bytes(&tiny::with_execute(tiny::ECHO)).unwrap();
    let live: Vec<_> = (0..3).map(|_| host.instantiate(&echo).unwrap()).collect();
    let err = host.instantiate(&echo).unwrap_err();
    assert!(matches!(err, Error::HostCapacity { capacity: 3, in_use: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("HostConfig::pool.max_instances"), "{err}");
    drop(live);
    assert!(host.instantiate(&echo).is_ok(), "room again once instances are gone");
}

/// A host whose WASI commands may write at most 64 KiB.
fn small_output_host() -> Host {
    Host::new(HostConfig {
        cache_dir: None,
        max_output_bytes: 64 * 1024,
        pool: PoolConfig { max_instances: 8, ..PoolConfig::default() },
        ..HostConfig::default()
    })
    .unwrap()
}

#[test]
fn the_output_cap_is_the_reported_cause_whatever_the_command_does_next() {
    let host = small_output_host();
    let flood = host.load_file(sample_path("security-probes", "flood")).unwrap();
    // Stops and exits 1 (as C checking fwrite does), carries on and exits 0
    // with cut output, or panics: all three hit the cap first.
    for mode in ["stop", "ignore", "panic"] {
        let err = host
            .call_once(&flood, &config(&[("on-refusal", mode)]), &Input::new(vec![]), CallLimits::default())
            .unwrap_err();
        assert!(matches!(err, Error::OutputTooLarge { limit_bytes: 65_536 }), "{mode}: {err:?}");
        assert!(err.to_string().contains("more than 65536 bytes of output"), "{err}");
    }
    // Exactly the cap is not over it.
    let out =
        host.call_once(&flood, &config(&[("bytes", "65536")]), &Input::new(vec![]), CallLimits::default()).unwrap();
    assert_eq!(out.data.len(), 65_536);
}
