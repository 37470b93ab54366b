//! A deployment: one version of a component, live, with its instances.
//!
//! A pooled deployment keeps `size` warm instances (each `init`ed once) and
//! lends one per call; a per-call deployment makes a fresh instance for each
//! call. A trapped instance is replaced, never reused. Knows the engine
//! (to make instances) and the version's counters, not the service.

use std::{
    sync::{
        Arc, Condvar, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{
    Digest, Error, Health, Input, Instance, LoadedComponent, Output, Result,
    deploy::{PoolMode, ServiceSpec},
    engine::Engine,
    limits::CallLimits,
    metrics::CallStats,
    registry::ComponentRef,
    security::SandboxPolicy,
};

/// One live version.
pub struct Deployment {
    pub(crate) reference: ComponentRef,
    pub(crate) component: Arc<LoadedComponent>,
    pub(crate) config: Vec<(String, String)>,
    /// A WASI command's `argv`: the service name, then its arguments.
    argv: Vec<String>,
    pub(crate) limits: CallLimits,
    pub(crate) stats: Arc<CallStats>,
    engine: Engine,
    policy: Arc<SandboxPolicy>,
    mode: PoolMode,
    idle: Mutex<Vec<Instance>>,
    returned: Condvar,
    /// Callers blocked in `checkout`; changed only under the `idle` lock,
    /// so a returned instance wakes someone only when someone waits (a
    /// wake-up is a system call).
    waiting: AtomicUsize,
    /// Instances that exist (idle or lent out).
    live: AtomicUsize,
    /// Calls between "picked this deployment" and "done".
    inflight: AtomicUsize,
    /// Set when the routing table no longer points here: callers that
    /// picked it earlier go back to the table.
    retired: AtomicBool,
}

impl std::fmt::Debug for Deployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployment")
            .field("reference", &self.reference)
            .field("digest", &self.component.digest())
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Why a call could not run on a deployment.
pub(crate) enum CallError {
    /// The deployment was retired after the caller picked it: pick again.
    Retired,
    /// The call ran and failed, or no instance could be had.
    Failed(Error),
}

impl Deployment {
    /// Instantiates and initialises the pool (pooled mode) of `spec`'s
    /// service with its config and limits; `mode` may differ from the
    /// spec's pool while a rollout grows the new version. Calls count in
    /// `stats`.
    pub(crate) fn start(
        engine: &Engine,
        spec: &ServiceSpec,
        reference: ComponentRef,
        component: Arc<LoadedComponent>,
        mode: PoolMode,
        policy: Arc<SandboxPolicy>,
        stats: Arc<CallStats>,
    ) -> Result<Arc<Self>> {
        let deployment = Arc::new(Deployment {
            reference,
            component,
            config: spec.config.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            argv: std::iter::once(spec.name.clone()).chain(spec.args.iter().cloned()).collect(),
            limits: spec.call_limits(),
            stats,
            engine: engine.clone(),
            policy,
            mode,
            idle: Mutex::new(Vec::new()),
            returned: Condvar::new(),
            waiting: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            inflight: AtomicUsize::new(0),
            retired: AtomicBool::new(false),
        });
        if let PoolMode::Pooled { size } = mode {
            deployment.grow(size)?;
        }
        Ok(deployment)
    }

    /// Adds `n` initialised instances to the pool.
    pub(crate) fn grow(&self, n: usize) -> Result<()> {
        for _ in 0..n {
            let instance = self.fresh_instance()?;
            self.live.fetch_add(1, Ordering::SeqCst);
            self.lock_idle().push(instance);
            self.returned.notify_one();
        }
        Ok(())
    }

    fn fresh_instance(&self) -> Result<Instance> {
        let mut instance = self.new_instance()?;
        self.initialise(&mut instance)?;
        Ok(instance)
    }

    /// Gives a new instance this service's command line (a WASI command)
    /// and calls `init(config)`.
    pub(crate) fn initialise(&self, instance: &mut Instance) -> Result<()> {
        instance.set_command_line(&self.argv);
        instance.init(&self.config)
    }

    /// An instance of this deployment's component under its service's
    /// grants, not yet initialised.
    pub(crate) fn new_instance(&self) -> Result<Instance> {
        self.engine.instantiate_sandboxed(&self.component, self.limits.clone(), self.policy.clone())
    }

    /// The grants its instances run under.
    pub(crate) fn policy(&self) -> &Arc<SandboxPolicy> {
        &self.policy
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Instance>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The version this deployment runs.
    pub fn reference(&self) -> &ComponentRef {
        &self.reference
    }

    /// Its digest.
    pub fn digest(&self) -> Digest {
        self.component.digest()
    }

    /// What this version has done in this process (shared by every
    /// deployment of the version).
    pub fn stats(&self) -> &CallStats {
        &self.stats
    }

    /// Instances alive (pooled mode).
    pub fn live_instances(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    pub(crate) fn is_retired(&self) -> bool {
        self.retired.load(Ordering::SeqCst)
    }

    /// Runs one call that `started` (the caller read the clock). Returns
    /// `Retired` without running when the routing table moved on after the
    /// caller picked this deployment. `deadline` (a pipeline message's)
    /// shortens the call's own timeout.
    pub(crate) fn call(
        &self,
        input: &Input,
        deadline: Option<Instant>,
        started: Instant,
    ) -> std::result::Result<Output, CallError> {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        let _inflight = InflightGuard(&self.inflight);
        if self.is_retired() {
            return Err(CallError::Retired);
        }
        let timeout = match deadline {
            Some(deadline) => self.limits.timeout.min(deadline.saturating_duration_since(started)),
            None => self.limits.timeout,
        };
        let mut memory = 0;
        let mut fuel = 0;
        let mut run = |instance: &mut Instance| {
            let out = instance.execute_within(input, timeout);
            memory = instance.memory_high_water() as u64;
            fuel = instance.last_fuel_used();
            out
        };
        let result = match self.mode {
            PoolMode::PerCall => self.fresh_instance().and_then(|mut instance| {
                let out = run(&mut instance);
                let _ = instance.shutdown();
                out
            }),
            PoolMode::Pooled { .. } => match self.checkout(started + timeout) {
                Ok(mut instance) => {
                    let out = run(&mut instance);
                    self.give_back(instance);
                    out
                }
                Err(CallError::Retired) => return Err(CallError::Retired),
                Err(CallError::Failed(e)) => Err(e),
            },
        };
        self.stats.record(started.elapsed(), result.is_ok(), memory, fuel);
        result.map_err(CallError::Failed)
    }

    /// Takes an idle instance, waiting for one until `deadline`.
    fn checkout(&self, deadline: Instant) -> std::result::Result<Instance, CallError> {
        let mut began = None;
        let mut idle = self.lock_idle();
        loop {
            if self.is_retired() {
                return Err(CallError::Retired);
            }
            if let Some(instance) = idle.pop() {
                return Ok(instance);
            }
            if self.live.load(Ordering::SeqCst) == 0 {
                drop(idle);
                // Every instance was lost to traps and could not be
                // replaced; try to make one now.
                return match self.fresh_instance() {
                    Ok(instance) => {
                        self.live.fetch_add(1, Ordering::SeqCst);
                        Ok(instance)
                    }
                    Err(e) => Err(CallError::Failed(e)),
                };
            }
            let now = Instant::now();
            let began = *began.get_or_insert(now);
            if now >= deadline {
                return Err(CallError::Failed(Error::PoolBusy {
                    waited: now - began,
                    size: self.live.load(Ordering::SeqCst),
                }));
            }
            self.waiting.fetch_add(1, Ordering::Relaxed);
            idle = self.returned.wait_timeout(idle, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Returns an instance to the pool, replacing it if it trapped.
    fn give_back(&self, instance: Instance) {
        let instance = if instance.is_poisoned() {
            drop(instance);
            match self.fresh_instance() {
                Ok(fresh) => fresh,
                Err(e) => {
                    tracing::warn!(error = %e, version = %self.reference, "cannot replace a trapped instance");
                    self.live.fetch_sub(1, Ordering::SeqCst);
                    self.returned.notify_all();
                    return;
                }
            }
        } else {
            instance
        };
        let waiting = {
            let mut idle = self.lock_idle();
            idle.push(instance);
            self.waiting.load(Ordering::Relaxed)
        };
        if waiting > 0 {
            self.returned.notify_one();
        }
    }

    /// Exclusive use of one instance (for a state snapshot); `None` in
    /// per-call mode.
    pub(crate) fn take_one(&self) -> Result<Option<Instance>> {
        match self.mode {
            PoolMode::PerCall => Ok(None),
            PoolMode::Pooled { .. } => match self.checkout(Instant::now() + self.limits.timeout) {
                Ok(instance) => Ok(Some(instance)),
                Err(CallError::Failed(e)) => Err(e),
                Err(CallError::Retired) => Err(Error::Retired { version: self.reference.to_string() }),
            },
        }
    }

    pub(crate) fn put_back(&self, instance: Instance) {
        self.give_back(instance);
    }

    /// Adds an already initialised instance (restored state) to the pool.
    pub(crate) fn adopt(&self, instance: Instance) {
        self.live.fetch_add(1, Ordering::SeqCst);
        self.lock_idle().push(instance);
        self.returned.notify_all();
    }

    /// Removes up to `n` idle instances (waiting for lent ones to come
    /// back) and shuts them down.
    pub(crate) fn shrink(&self, n: usize) {
        for _ in 0..n {
            let Ok(mut instance) = self.checkout(Instant::now() + self.limits.timeout) else { return };
            self.live.fetch_sub(1, Ordering::SeqCst);
            if let Err(e) = instance.shutdown() {
                tracing::warn!(error = %e, version = %self.reference, "shutdown failed");
            }
        }
    }

    /// Asks every idle instance for its health (per-call mode: a fresh one).
    pub(crate) fn health(&self) -> Result<Health> {
        let mut worst = Health::Healthy;
        let mut check = |instance: &mut Instance| -> Result<()> {
            match instance.health()? {
                Health::Healthy => {}
                Health::Degraded(r) if worst == Health::Healthy => worst = Health::Degraded(r),
                Health::Degraded(_) => {}
                unhealthy @ Health::Unhealthy(_) => worst = unhealthy,
            }
            Ok(())
        };
        match self.mode {
            PoolMode::PerCall => check(&mut self.fresh_instance()?)?,
            PoolMode::Pooled { .. } => {
                let mut idle = self.lock_idle();
                for instance in idle.iter_mut() {
                    check(instance)?;
                }
            }
        }
        Ok(worst)
    }

    /// Stops routing here and waits for in-flight calls to finish (up to
    /// `grace`). The instances stay warm until [`Deployment::shutdown`].
    pub(crate) fn drain(&self, grace: Duration) {
        {
            // Under the pool lock, so a caller about to wait for an
            // instance cannot miss the wake-up.
            let _idle = self.lock_idle();
            self.retired.store(true, Ordering::SeqCst);
        }
        self.returned.notify_all();
        let deadline = Instant::now() + grace;
        while self.inflight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Calls `shutdown` on every idle instance and drops them.
    pub(crate) fn shutdown(&self) {
        let instances: Vec<Instance> = std::mem::take(&mut *self.lock_idle());
        for mut instance in instances {
            self.live.fetch_sub(1, Ordering::SeqCst);
            if let Err(e) = instance.shutdown() {
                tracing::warn!(error = %e, version = %self.reference, "shutdown failed");
            }
        }
    }

    /// Undoes `drain` for a deployment kept warm (blue-green standby).
    pub(crate) fn reactivate(&self) {
        self.retired.store(false, Ordering::SeqCst);
    }
}

struct InflightGuard<'a>(&'a AtomicUsize);

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
