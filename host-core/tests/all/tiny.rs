//! Tiny contract components in the component text format, for the cases
//! no well-behaved component would produce. They need no wasm toolchain.
//!
//! The template implements `airssys:component/guest` by hand with the
//! canonical ABI: `execute` gets the flattened `input` record (15 core
//! values) and returns a pointer to `result<output, error>`.

/// `execute` that echoes its input back (data pointer and length).
pub const ECHO: &str = "(i32.store8 (i32.const 32) (i32.const 0))
      (i32.store (i32.const 36) (local.get 0))
      (i32.store (i32.const 40) (local.get 1))
      (i32.store (i32.const 44) (i32.const 0))
      (i32.store (i32.const 48) (i32.const 0))
      (i32.const 32)";

/// `init` that succeeds.
pub const INIT_OK: &str = "(i32.store8 (i32.const 16) (i32.const 0)) (i32.const 16)";

/// A contract component with the given `execute` body, `init` body, guest
/// interface version and extra core-module fields.
pub fn contract(execute: &str, init: &str, version: &str, extra: &str) -> String {
    Tiny { execute, init, version, extra, ..Tiny::default() }.text()
}

/// `health` that reports healthy.
pub const HEALTHY: &str = "(i32.store8 (i32.const 80) (i32.const 0)) (i32.const 80)";

/// `health` that reports unhealthy("broken!") (the text is at 1100).
pub const UNHEALTHY: &str = "(i32.store8 (i32.const 80) (i32.const 2))
      (i32.store (i32.const 84) (i32.const 1100))
      (i32.store (i32.const 88) (i32.const 7))
      (i32.const 80)";

/// `execute` that fails odd-numbered calls and echoes the others.
pub const FLAKY: &str = "(global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (if (i32.and (global.get $calls) (i32.const 1))
        (then
          (i32.store8 (i32.const 32) (i32.const 1))
          (i32.store8 (i32.const 36) (i32.const 6))
          (i32.store (i32.const 40) (i32.const 1100))
          (i32.store (i32.const 44) (i32.const 7))
          (i32.store8 (i32.const 48) (i32.const 0))
          (return (i32.const 32))))
      (i32.store8 (i32.const 32) (i32.const 0))
      (i32.store (i32.const 36) (local.get 0))
      (i32.store (i32.const 40) (local.get 1))
      (i32.store (i32.const 44) (i32.const 0))
      (i32.store (i32.const 48) (i32.const 0))
      (i32.const 32)";

/// `state.snapshot` returning an empty list.
pub const SNAPSHOT_EMPTY: &str = "(i32.store8 (i32.const 96) (i32.const 0))
      (i32.store (i32.const 100) (i32.const 0))
      (i32.store (i32.const 104) (i32.const 0))
      (i32.const 96)";

/// `state.restore` that always refuses with internal("broken!").
pub const RESTORE_REFUSES: &str = "(i32.store8 (i32.const 96) (i32.const 1))
      (i32.store8 (i32.const 100) (i32.const 6))
      (i32.store (i32.const 104) (i32.const 1100))
      (i32.store (i32.const 108) (i32.const 7))
      (i32.store8 (i32.const 112) (i32.const 0))
      (i32.const 96)";

/// The parts of a tiny contract component.
pub struct Tiny<'a> {
    pub execute: &'a str,
    pub init: &'a str,
    pub version: &'a str,
    pub extra: &'a str,
    pub health: &'a str,
    /// `(snapshot body, restore body)`: also export `airssys:component/state`.
    pub state: Option<(&'a str, &'a str)>,
    /// Component-level imports and lowerings, placed before the core module.
    pub prelude: &'a str,
    /// Core module imports (first in the module).
    pub module_imports: &'a str,
    /// Instantiation arguments of the core module.
    pub with: &'a str,
}

impl Default for Tiny<'_> {
    fn default() -> Self {
        Tiny {
            execute: ECHO,
            init: INIT_OK,
            version: "0.1.0",
            extra: "",
            health: HEALTHY,
            state: None,
            prelude: "",
            module_imports: "",
            with: "",
        }
    }
}

impl Tiny<'_> {
    /// The component text.
    pub fn text(&self) -> String {
        let (execute, init, version, health) = (self.execute, self.init, self.version, self.health);
        let mut extra = format!(
            "(global $calls (mut i32) (i32.const 0))\n    (data (i32.const 1100) \"broken!\")\n    {}",
            self.extra
        );
        let mut state_export = String::new();
        if let Some((snapshot, restore)) = self.state {
            extra.push_str(&format!(
                "\n    (func (export \"snapshot\") (result i32) {snapshot})\n    \
                 (func (export \"restore\") (param i32 i32 i32 i32) (result i32) {restore})"
            ));
            state_export = format!(
                r#"(func $snapshot (result (result (list u8) (error $error)))
    (canon lift (core func $i "snapshot") (memory (core memory $i "memory"))))
  (func $restore (param "data" (list u8)) (param "from-version" string) (result (result (error $error)))
    (canon lift (core func $i "restore") (memory (core memory $i "memory")) (realloc (core func $i "cabi_realloc"))))
  (instance $state (export "snapshot" (func $snapshot)) (export "restore" (func $restore)))
  (export "airssys:component/state@{version}" (instance $state))"#
            );
        }
        format!(
            r#"(component
  (core module $m
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 4096))
    (func $realloc (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
      (local $ptr i32)
      (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get 2))))
      (global.set $heap (i32.add (local.get $ptr) (local.get 3)))
      (block $ok
        (br_if $ok (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
        (drop (memory.grow (i32.add (i32.div_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 65536)) (i32.const 1)))))
      (local.get $ptr))
    (func (export "init") (param i32 i32) (result i32)
      {init})
    (func (export "execute") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i64 i32) (result i32)
      {execute})
    (func (export "shutdown") (result i32)
      (i32.store8 (i32.const 16) (i32.const 0)) (i32.const 16))
    (func (export "metadata") (result i32)
      (i32.store (i32.const 128) (i32.const 1024)) (i32.store (i32.const 132) (i32.const 4))
      (i32.store (i32.const 136) (i32.const 1032)) (i32.store (i32.const 140) (i32.const 5))
      (i32.store (i32.const 144) (i32.const 1040)) (i32.store (i32.const 148) (i32.const 4))
      (i32.store (i32.const 152) (i32.const 0)) (i32.store (i32.const 156) (i32.const 0))
      (i32.store (i32.const 160) (i32.const 0)) (i32.store (i32.const 164) (i32.const 0))
      (i32.store8 (i32.const 168) (i32.const 0))
      (i32.const 128))
    (func (export "required-capabilities") (result i32)
      (i32.store (i32.const 64) (i32.const 0)) (i32.store (i32.const 68) (i32.const 0)) (i32.const 64))
    (func (export "health") (result i32)
      {health})
    (data (i32.const 1024) "echo" "\00\00\00\00" "0.1.0" "\00\00\00" "echo")
    {extra}
  )
  (core instance $i (instantiate $m))
  (type $error-kind-t (enum "invalid-input" "invalid-config" "denied" "unavailable" "timeout" "not-initialized" "internal"))
  (export $error-kind "error-kind" (type $error-kind-t))
  (type $error-t (record (field "kind" $error-kind) (field "message" string) (field "retryable" bool)))
  (export $error "error" (type $error-t))
  (type $value-t (variant (case "null") (case "boolean" bool) (case "s64" s64) (case "f64" f64) (case "text" string) (case "bytes" (list u8)) (case "json" string)))
  (export $value "value" (type $value-t))
  (type $ctx-t (record (field "request-id" string) (field "pipeline" (option string)) (field "node" (option string)) (field "deadline-ms" (option u64)) (field "attempt" u32)))
  (export $ctx "execution-context" (type $ctx-t))
  (type $input-t (record (field "data" (list u8)) (field "metadata" (list (tuple string $value))) (field "context" $ctx)))
  (export $input "input" (type $input-t))
  (type $output-t (record (field "data" (list u8)) (field "metadata" (list (tuple string $value)))))
  (export $output "output" (type $output-t))
  (type $meta-t (record (field "name" string) (field "version" string) (field "description" string) (field "accepts" (list string)) (field "produces" (list string)) (field "stateful" bool)))
  (export $meta "component-metadata" (type $meta-t))
  (type $custom-t (record (field "name" string) (field "params-json" string)))
  (export $custom "custom-capability" (type $custom-t))
  (type $cap-t (variant (case "file-read" string) (case "file-write" string) (case "network-outbound" string) (case "network-inbound" u16) (case "environment-read" string) (case "system-call" string) (case "custom" $custom)))
  (export $cap "capability" (type $cap-t))
  (type $health-t (variant (case "healthy") (case "degraded" string) (case "unhealthy" string)))
  (export $health "health-status" (type $health-t))
  (func $init (param "config" (list (tuple string string))) (result (result (error $error)))
    (canon lift (core func $i "init") (memory (core memory $i "memory")) (realloc (core func $i "cabi_realloc"))))
  (func $execute (param "input" $input) (result (result $output (error $error)))
    (canon lift (core func $i "execute") (memory (core memory $i "memory")) (realloc (core func $i "cabi_realloc"))))
  (func $shutdown (result (result (error $error)))
    (canon lift (core func $i "shutdown") (memory (core memory $i "memory"))))
  (func $metadata (result $meta)
    (canon lift (core func $i "metadata") (memory (core memory $i "memory"))))
  (func $caps (result (list $cap))
    (canon lift (core func $i "required-capabilities") (memory (core memory $i "memory"))))
  (func $health-f (result $health)
    (canon lift (core func $i "health") (memory (core memory $i "memory"))))
  (instance $guest
    (export "init" (func $init))
    (export "execute" (func $execute))
    (export "shutdown" (func $shutdown))
    (export "metadata" (func $metadata))
    (export "required-capabilities" (func $caps))
    (export "health" (func $health-f)))
  (export "airssys:component/guest@{version}" (instance $guest))
  {state_export}
)
"#
        )
    }

    /// The component text with imports spliced in.
    fn full_text(&self) -> String {
        self.text()
            .replacen(
                "(core module $m",
                &format!("{}\n  (core module $m\n    {}", self.prelude, self.module_imports),
                1,
            )
            .replacen("(instantiate $m)", &format!("(instantiate $m {})", self.with), 1)
    }

    /// The component bytes.
    pub fn bytes(&self) -> Vec<u8> {
        wat::parse_str(self.full_text()).expect("test component text parses")
    }

    /// The component bytes after replacing the first occurrence of each
    /// `(from, to)` in the text: a component of another contract shape.
    pub fn bytes_replacing(&self, replacements: &[(&str, &str)]) -> Vec<u8> {
        let mut text = self.full_text();
        for (from, to) in replacements {
            assert!(text.contains(from), "`{from}` is not in the template");
            text = text.replacen(from, to, 1);
        }
        wat::parse_str(text).expect("test component text parses")
    }
}

/// A contract component that imports one embedder function, `interface`
/// `#function` with component type `func_type` (e.g. `(func (result u32))`)
/// and core type `core_type` (e.g. `(func (result i32))`); `execute` calls
/// it as `$function`.
pub fn importing(interface: &str, function: &str, func_type: &str, core_type: &str, execute: &str) -> Vec<u8> {
    let prelude = format!(
        r#"(import "{interface}" (instance $embedder (export "{function}" {func_type})))
  (core func $lowered (canon lower (func $embedder "{function}")))"#
    );
    let core_type = core_type.strip_prefix("(func").and_then(|t| t.strip_suffix(')')).expect("a (func ...) type");
    let module_imports = format!(r#"(import "embedder" "{function}" (func ${function} {core_type}))"#);
    let with = format!(r#"(with "embedder" (instance (export "{function}" (func $lowered))))"#);
    Tiny { execute, prelude: &prelude, module_imports: &module_imports, with: &with, ..Tiny::default() }.bytes()
}

/// A contract component whose `execute` is `body`.
pub fn with_execute(body: &str) -> Vec<u8> {
    Tiny { execute: body, ..Tiny::default() }.bytes()
}
