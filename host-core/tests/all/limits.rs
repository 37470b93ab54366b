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
    let err = run(GROW_FOREVER, "", limits(5_000, 8)).unwrap_err();
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
        pool: PoolConfig { max_instances: 8, max_memory_bytes: 64 << 20 },
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
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}
