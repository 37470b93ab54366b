//! A live instance: a `Store<HostState>` with per-call limits, and typed
//! calls of every lifecycle function. Owns the call path (arm, drive,
//! classify); the store's data is `state`'s, the loaded component
//! `component`'s; it knows nothing of services or the data folder.
//!
//! Every call gets a fresh wall-clock deadline that covers both guest code
//! (epoch interruption) and time spent waiting inside the host (the call is
//! driven by [`crate::deadline`] and cut when the deadline passes), refills
//! the fuel budget when fuel is on, and maps a trap, timeout or limit to a
//! typed [`Error`]. A limit the guest hit during the call (memory, table,
//! output) is the reported cause even when the guest recovered from the
//! refused growth and failed otherwise. A trapped or timed-out instance is
//! poisoned: later calls fail with [`Error::Poisoned`] and the owner makes a
//! new one (microseconds).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use wasmtime::{Store, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use crate::{
    Error, Result,
    bindings::{Guest, StateGuest, sync, wit},
    component::{ContractExports, Entry, LoadedComponent},
    deadline,
    guest_output::{CappedOutput, StderrTail},
    limits::CallLimits,
    security::SandboxPolicy,
    state::{HostState, LimitHit, Sandbox, Shared, new_store},
    types::{Capability, Health, Metadata},
};

/// Sets the epoch deadline and refills fuel before a call into the guest.
/// (A call driven by [`deadline::run_until`] also needs its wall-clock
/// deadline, [`deadline_after`]; a synchronous one does not read the clock.)
#[inline]
fn arm(store: &mut Store<HostState>, shared: &Shared, limits: &CallLimits) {
    store.set_epoch_deadline(shared.deadline_ticks(limits.timeout));
    let state = store.data_mut();
    state.limiter.hit = None;
    if let Some(tail) = &state.stderr {
        tail.clear();
    }
    if shared.fuel_enabled {
        // Refilled on every call: a budget set once would run dry.
        let _ = store.set_fuel(limits.fuel.unwrap_or(u64::MAX));
    }
}

/// `now + timeout`, saturating far in the future for huge timeouts.
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// Runs a guest call future under `deadline`: `Err(None)` when the deadline
/// passed (the future was dropped, which cancels the call).
fn drive<R>(
    deadline: Instant,
    call: impl std::future::Future<Output = wasmtime::Result<R>>,
) -> std::result::Result<R, Option<wasmtime::Error>> {
    match deadline::run_until(deadline, call) {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(Some(e)),
        None => Err(None),
    }
}

/// Runs a future made of synchronous guest calls only: it completes on its
/// first poll (epoch interruption bounds it), with no executor around it.
fn drive_now<R>(
    call: impl std::future::Future<Output = wasmtime::Result<R>>,
) -> std::result::Result<R, Option<wasmtime::Error>> {
    match wasmtime_wasi::runtime::poll_noop(std::pin::pin!(call)) {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(Some(e)),
        None => Err(Some(wasmtime::format_err!("a synchronous guest call did not complete"))),
    }
}

/// A contract instance's exports: synchronous for a component that cannot
/// wait in the host, async (under the deadline executor) for one that can.
enum Exports {
    Sync { guest: sync::Guest, state: Option<sync::StateGuest> },
    Async { guest: Guest, state: Option<StateGuest> },
}

/// `guest.METHOD(store, args..)`, awaited when the exports are async.
macro_rules! guest_call {
    ($exports:expr, $store:expr, $method:ident ( $($arg:expr),* )) => {
        match $exports {
            Exports::Sync { guest, .. } => guest.$method($store $(, $arg)*),
            Exports::Async { guest, .. } => guest.$method($store $(, $arg)*).await,
        }
    };
}

/// `state.METHOD(store, args..)` on the optional `state` interface.
macro_rules! state_call {
    ($exports:expr, $store:expr, $method:ident ( $($arg:expr),* )) => {
        match $exports {
            Exports::Sync { state: Some(state), .. } => state.$method($store $(, $arg)*),
            Exports::Async { state: Some(state), .. } => state.$method($store $(, $arg)*).await,
            _ => Err(wasmtime::format_err!("the component does not export the state interface")),
        }
    };
}

/// Fuel a call consumed out of the budget `arm` gave it.
fn fuel_used(store: &Store<HostState>, limits: &CallLimits) -> u64 {
    let budget = limits.fuel.unwrap_or(u64::MAX);
    store.get_fuel().map_or(0, |left| budget.saturating_sub(left))
}

/// The error for a limit the guest hit during this call, if it hit one.
fn limit_error(store: &Store<HostState>, function: &'static str, limits: &CallLimits) -> Option<Error> {
    Some(match store.data().limiter.hit? {
        LimitHit::Memory { requested } => Error::OutOfMemory {
            function,
            limit_bytes: limits.max_memory_bytes as u64,
            requested_bytes: requested as u64,
        },
        LimitHit::Table { requested } => {
            Error::TableLimit { function, limit: limits.max_table_elements as u64, requested: requested as u64 }
        }
    })
}

/// Turns a failed guest call into a typed error: a limit hit during the call
/// first (it is the cause, whatever the guest did next), then the deadline,
/// fuel, or the trap itself. `None` means the deadline passed while the
/// guest waited in the host.
fn classify(
    store: &mut Store<HostState>,
    function: &'static str,
    limits: &CallLimits,
    err: Option<wasmtime::Error>,
) -> Error {
    if let Some(limit) = limit_error(store, function, limits) {
        return limit;
    }
    let Some(err) = err else { return Error::Timeout { function, limit: limits.timeout } };
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Error::Timeout { function, limit: limits.timeout },
        Some(Trap::OutOfFuel) => Error::OutOfFuel { function, fuel: limits.fuel.unwrap_or(u64::MAX) },
        _ => Error::Trap {
            function,
            source: err.into(),
            guest_stderr: store.data().stderr.as_ref().map(StderrTail::text).unwrap_or_default(),
        },
    }
}

/// A live instance of a loaded component.
pub struct Instance {
    shared: Arc<Shared>,
    component: Arc<LoadedComponent>,
    limits: CallLimits,
    policy: Arc<SandboxPolicy>,
    kind: InstanceKind,
    /// Fuel the last call consumed (0 when fuel is off).
    last_fuel: u64,
    /// Memory high-water mark of the stores of WASI command runs.
    command_memory: usize,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("component", &self.component.digest())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

enum InstanceKind {
    Contract {
        store: Store<HostState>,
        exports: Exports,
        poisoned: bool,
    },
    /// A WASI command runs in a fresh store per call (stdin is consumed).
    Command {
        config: Vec<(String, String)>,
        /// `argv[0]` and the arguments; `None`: the component name, then
        /// `--KEY=VALUE` per config entry.
        argv: Option<Vec<String>>,
    },
}

impl Instance {
    pub(crate) fn new(
        shared: Arc<Shared>,
        component: Arc<LoadedComponent>,
        limits: CallLimits,
        policy: Arc<SandboxPolicy>,
    ) -> Result<Self> {
        let kind = match component.entry() {
            Entry::Contract { pre, exports } => {
                let mut store = new_store(&shared, component.name(), &limits, &policy, Sandbox::default())?;
                // Instantiation may run start functions: bounded like a call.
                arm(&mut store, &shared, &limits);
                let instance = match exports {
                    ContractExports::Sync { .. } => pre.instantiate(&mut store).map_err(Some),
                    ContractExports::Async { .. } => {
                        drive(deadline_after(limits.timeout), pre.instantiate_async(&mut store))
                    }
                }
                .map_err(|e| instantiate_error(&mut store, &limits, e))?;
                let load = |e: wasmtime::Error| Error::Instantiate(e.into());
                let exports = match exports {
                    ContractExports::Sync { guest, state } => Exports::Sync {
                        guest: guest.load(&mut store, &instance).map_err(load)?,
                        state: state.as_ref().map(|s| s.load(&mut store, &instance)).transpose().map_err(load)?,
                    },
                    ContractExports::Async { guest, state } => Exports::Async {
                        guest: guest.load(&mut store, &instance).map_err(load)?,
                        state: state.as_ref().map(|s| s.load(&mut store, &instance)).transpose().map_err(load)?,
                    },
                };
                InstanceKind::Contract { store, exports, poisoned: false }
            }
            Entry::Command { .. } => InstanceKind::Command { config: Vec::new(), argv: None },
        };
        Ok(Instance { shared, component, limits, policy, kind, last_fuel: 0, command_memory: 0 })
    }

    /// The component this is an instance of.
    pub fn component(&self) -> &Arc<LoadedComponent> {
        &self.component
    }

    /// The limits applied to each call.
    pub fn limits(&self) -> &CallLimits {
        &self.limits
    }

    /// Whether the component exports the `state` interface.
    pub fn has_state(&self) -> bool {
        matches!(
            &self.kind,
            InstanceKind::Contract {
                exports: Exports::Sync { state: Some(_), .. } | Exports::Async { state: Some(_), .. },
                ..
            }
        )
    }

    /// A WASI command's `argv`: `argv[0]` (the service name, or the
    /// program's name for `airssys call`), then its arguments. Without one,
    /// a command gets its component name and `--KEY=VALUE` per config
    /// entry. Ignored for contract components (the deploy refuses
    /// arguments for them: [`Error::ArgsNeedCommand`]).
    pub fn set_command_line(&mut self, argv: &[String]) {
        if let InstanceKind::Command { argv: stored, .. } = &mut self.kind
            && !argv.is_empty()
        {
            *stored = Some(argv.to_vec());
        }
    }

    /// Calls `init(config)`. For a WASI command the config becomes its
    /// environment (`KEY=VALUE`, the deployer's own values; host variables
    /// only through `env:` grants) and, unless it has a command line of its
    /// own with arguments, its arguments (`--KEY=VALUE`).
    pub fn init(&mut self, config: &[(String, String)]) -> Result<()> {
        if let InstanceKind::Command { config: stored, .. } = &mut self.kind {
            *stored = config.to_vec();
            return Ok(());
        }
        let config = config.to_vec();
        self.contract_call("init", async |e, s| guest_call!(e, s, call_init(&config)))?
            .map_err(self.guest_error("init"))
    }

    /// Calls `execute(input)`.
    pub fn execute(&mut self, input: &wit::Input) -> Result<wit::Output> {
        if let InstanceKind::Command { config, argv } = &self.kind {
            let config = config.clone();
            let argv = self.command_argv(argv.as_deref(), &config);
            return self.run_command(&input.data, &config, argv);
        }
        self.contract_call("execute", async |e, s| guest_call!(e, s, call_execute(input)))?
            .map_err(self.guest_error("execute"))
    }

    /// Calls `execute(input)` with the timeout lowered to `timeout` if that
    /// is shorter than this instance's own (a pipeline message's deadline).
    pub fn execute_within(&mut self, input: &wit::Input, timeout: Duration) -> Result<wit::Output> {
        let own = self.limits.timeout;
        self.limits.timeout = own.min(timeout);
        let result = self.execute(input);
        self.limits.timeout = own;
        result
    }

    /// The largest linear memory this instance has had, in bytes.
    pub fn memory_high_water(&self) -> usize {
        match &self.kind {
            InstanceKind::Contract { store, .. } => store.data().limiter.memory_high_water,
            InstanceKind::Command { .. } => self.command_memory,
        }
    }

    /// Fuel the last call consumed; 0 when the host does not meter fuel.
    pub fn last_fuel_used(&self) -> u64 {
        self.last_fuel
    }

    /// Calls `shutdown()`.
    pub fn shutdown(&mut self) -> Result<()> {
        if self.is_command() {
            return Ok(());
        }
        self.contract_call("shutdown", async |e, s| guest_call!(e, s, call_shutdown()))?
            .map_err(self.guest_error("shutdown"))
    }

    /// Calls `metadata()`.
    pub fn metadata(&mut self) -> Result<Metadata> {
        if self.is_command() {
            return Ok(Metadata::for_command(self.component.name()));
        }
        Ok(self.contract_call("metadata", async |e, s| guest_call!(e, s, call_metadata()))?.into())
    }

    /// Calls `required-capabilities()`.
    pub fn required_capabilities(&mut self) -> Result<Vec<Capability>> {
        if self.is_command() {
            return Ok(Vec::new());
        }
        let caps =
            self.contract_call("required-capabilities", async |e, s| guest_call!(e, s, call_required_capabilities()))?;
        Ok(caps.into_iter().map(Capability::from).collect())
    }

    /// Calls `health()`.
    pub fn health(&mut self) -> Result<Health> {
        if self.is_command() {
            return Ok(Health::Healthy);
        }
        Ok(self.contract_call("health", async |e, s| guest_call!(e, s, call_health()))?.into())
    }

    /// Calls `state.snapshot()`; `None` when the component has no state interface.
    pub fn snapshot(&mut self) -> Result<Option<Vec<u8>>> {
        if !self.has_state() {
            return Ok(None);
        }
        self.contract_call("snapshot", async |e, s| state_call!(e, s, call_snapshot()))?
            .map(Some)
            .map_err(self.guest_error("snapshot"))
    }

    /// Calls `state.restore(data, from_version)`.
    pub fn restore(&mut self, data: &[u8], from_version: &str) -> Result<()> {
        if !self.has_state() {
            return Err(Error::Unsupported {
                function: "restore",
                needs: "a component that exports the state interface",
            });
        }
        self.contract_call("restore", async |e, s| state_call!(e, s, call_restore(data, from_version)))?
            .map_err(self.guest_error("restore"))
    }

    fn is_command(&self) -> bool {
        matches!(self.kind, InstanceKind::Command { .. })
    }

    /// Whether an earlier trap left this instance unusable.
    pub fn is_poisoned(&self) -> bool {
        matches!(&self.kind, InstanceKind::Contract { poisoned: true, .. })
    }

    #[inline]
    fn contract_call<R>(
        &mut self,
        function: &'static str,
        call: impl AsyncFnOnce(&Exports, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R> {
        let InstanceKind::Contract { store, exports, poisoned } = &mut self.kind else {
            return Err(Error::Unsupported { function, needs: "a contract component" });
        };
        if *poisoned {
            return Err(Error::Poisoned);
        }
        arm(store, &self.shared, &self.limits);
        let outcome = match exports {
            Exports::Sync { .. } => drive_now(call(exports, store)),
            Exports::Async { .. } => drive(deadline_after(self.limits.timeout), call(exports, store)),
        };
        let result = outcome.map_err(|e| {
            *poisoned = true;
            classify(store, function, &self.limits, e)
        });
        if self.shared.fuel_enabled {
            self.last_fuel = fuel_used(store, &self.limits);
        }
        result
    }

    /// The error a guest's own error value becomes: the limit it hit during
    /// the call if it hit one (the guest's error is then a consequence).
    fn guest_error(&self, function: &'static str) -> impl Fn(wit::Error) -> Error + '_ {
        move |e| match &self.kind {
            InstanceKind::Contract { store, .. } => {
                limit_error(store, function, &self.limits).unwrap_or(Error::Guest { function, error: e.into() })
            }
            InstanceKind::Command { .. } => Error::Guest { function, error: e.into() },
        }
    }

    /// `argv` as given when it has arguments; else `argv[0]` (or the
    /// component name) and `--KEY=VALUE` per config entry.
    fn command_argv(&self, argv: Option<&[String]>, config: &[(String, String)]) -> Vec<String> {
        match argv {
            Some(argv) if argv.len() > 1 => argv.to_vec(),
            _ => {
                let program = argv.and_then(|a| a.first()).map_or(self.component.name(), String::as_str);
                std::iter::once(program.to_string()).chain(config.iter().map(|(k, v)| format!("--{k}={v}"))).collect()
            }
        }
    }

    fn run_command(&mut self, input: &[u8], config: &[(String, String)], args: Vec<String>) -> Result<wit::Output> {
        let Entry::Command { pre } = self.component.entry() else {
            return Err(Error::Unsupported { function: "wasi:cli/run", needs: "a WASI command" });
        };
        let max_output = self.shared.max_output_bytes;
        let stdout = CappedOutput::new(max_output);
        let stderr = MemoryOutputPipe::new(64 * 1024);
        let sandbox = Sandbox {
            env: config.to_vec(),
            args,
            stdin: Some(input.to_vec()),
            stdout: Some(stdout.clone()),
            stderr: Some(stderr.clone()),
        };
        let mut store = new_store(&self.shared, self.component.name(), &self.limits, &self.policy, sandbox)?;
        arm(&mut store, &self.shared, &self.limits);
        let outcome = drive(deadline_after(self.limits.timeout), async {
            let command = pre.instantiate_async(&mut store).await?;
            command.wasi_cli_run().call_run(&mut store).await
        });
        self.command_memory = self.command_memory.max(store.data().limiter.memory_high_water);
        // Every stderr line goes to the guest log (bounded like `host.log`).
        let stderr = stderr.contents();
        let stderr = String::from_utf8_lossy(&stderr);
        for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
            store.data_mut().log_stderr(line);
        }
        if self.shared.fuel_enabled {
            self.last_fuel = fuel_used(&store, &self.limits);
        }
        // The output cap is the cause whatever the command did next
        // (trapped, exited non-zero, or even exited 0 with cut output).
        if stdout.overflowed() {
            return Err(Error::OutputTooLarge { limit_bytes: max_output });
        }
        let exit_code = match outcome {
            Ok(Ok(())) => 0,
            Ok(Err(())) => 1,
            Err(Some(e)) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(exit) => exit.0,
                None => return Err(classify(&mut store, "wasi:cli/run", &self.limits, Some(e))),
            },
            Err(None) => return Err(classify(&mut store, "wasi:cli/run", &self.limits, None)),
        };
        if exit_code != 0 {
            if let Some(limit) = limit_error(&store, "wasi:cli/run", &self.limits) {
                return Err(limit);
            }
            return Err(Error::CommandFailed { code: exit_code, stderr: stderr_tail(&stderr) });
        }
        Ok(wit::Output { data: stdout.take(), metadata: Vec::new() })
    }
}

/// The last [`crate::STDERR_TAIL_LINES`] non-empty lines of
/// `stderr`, at most 4 KiB (cut at a character boundary, from the front).
fn stderr_tail(stderr: &str) -> String {
    const MAX_BYTES: usize = 4096;
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(crate::STDERR_TAIL_LINES)..].join("\n");
    if tail.len() <= MAX_BYTES {
        return tail;
    }
    let mut cut = tail.len() - MAX_BYTES;
    while !tail.is_char_boundary(cut) {
        cut += 1;
    }
    format!("…{}", &tail[cut..])
}

fn instantiate_error(store: &mut Store<HostState>, limits: &CallLimits, e: Option<wasmtime::Error>) -> Error {
    if e.as_ref().is_some_and(|e| e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some()) {
        let engine = store.engine();
        let in_use = engine.pooling_allocator_metrics().map_or(0, |m| m.component_instances());
        return Error::HostCapacity { needed: 1, capacity: store.data().log.shared.max_instances, in_use };
    }
    let is_trap = e.as_ref().is_none_or(|e| e.downcast_ref::<Trap>().is_some());
    match e {
        Some(e) if !is_trap && store.data().limiter.hit.is_none() => Error::Instantiate(e.into()),
        e => classify(store, "instantiate", limits, e),
    }
}

impl wit::Input {
    /// An input with `data`, no metadata and a default context.
    pub fn new(data: Vec<u8>) -> Self {
        wit::Input {
            data,
            metadata: Vec::new(),
            context: wit::ExecutionContext {
                request_id: String::new(),
                pipeline: None,
                node: None,
                deadline_ms: None,
                attempt: 1,
            },
        }
    }
}
