//! What the command line adds to a host-core error: the flag or command
//! that acts on it. Library messages name settings (`the max_memory_mib
//! limit`), which is right in the studio and for embedders; here, and only
//! here, they become `--max-memory-mib N`.

use host_core::Error;

/// A hint for `error`, if the CLI has a flag or command for it.
pub fn for_error(error: &Error) -> Option<String> {
    let hint = match error {
        Error::Timeout { .. } => {
            "raise it with --timeout-ms N (`airssys call`, `airssys deploy`; `limits: (timeout_ms: N)` in project.ron)"
        }
        Error::OutOfMemory { .. } => {
            "raise it with --max-memory-mib N (`airssys call`, `airssys deploy`; `max_memory_mib` in project.ron)"
        }
        Error::TableLimit { .. } => {
            "raise it with --max-table-elements N (`airssys call`, `airssys deploy`; `max_table_elements` in \
             project.ron)"
        }
        Error::OutOfFuel { .. } => "raise it with --fuel N",
        Error::HostCapacity { .. } => "raise it with --max-instances N",
        Error::NoDataDir => "pass --data-dir DIR or set AIRSSYS_DATA_DIR",
        Error::Cache(_) => "choose another folder with --cache-dir DIR, or run with --no-cache",
        Error::BodyTooLarge { .. } => "the server takes larger bodies with `airssys serve --max-body-mib N`",
        Error::TlsCertificate { .. } => {
            "pass --ca FILE (the PEM certificate of the CA that signed the server's certificate) with --remote https://..."
        }
        Error::Unauthorized { .. } => "pass the file `airssys serve` wrote its token to with --token-file FILE",
        Error::MissingCapabilities { service, missing, .. } => {
            let flags: Vec<String> = missing.iter().map(|c| format!("--grant '{c}'")).collect();
            return Some(format!("add {} to the deploy, or run `airssys grant {service} CAPABILITY`", flags.join(" ")));
        }
        Error::PipelineNode { source, .. } => return for_error(source),
        Error::NoNodeRuns { service, .. } => {
            return Some(format!(
                "deploy it with `airssys deploy {service} NAME@VERSION --fleet URL`; `airssys fleet status --fleet URL` \
                 shows what each node runs"
            ));
        }
        _ => return None,
    };
    Some(hint.to_string())
}
