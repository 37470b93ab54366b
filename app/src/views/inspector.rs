//! The inspector on the right: the selected node (its error policy), its
//! service's component, configuration, limits, capabilities, versions and
//! deploy history, with Roll back. Reads the document, the live services
//! and the session; every edit is an action (`SetErrorPolicy`,
//! `SetConfig`, `RemoveConfig`, `SetLimits`, `Rollback`, `DeleteNodes`).

use egui::RichText;
use egui_snarl::NodeId;
use host_core::{pipeline::ErrorPolicy, project::ServiceEntry, security};

use crate::{
    action::Action,
    graph::GraphNode,
    state::{document::Document, live::Live, session::Session},
    views::{
        format::clock,
        theme::{BAD, GOOD, WARN},
    },
    worker::ServiceInfo,
};

/// Draws the inspector of `selected` (canvas node ids).
pub fn show(
    ui: &mut egui::Ui,
    doc: &Document,
    live: &Live,
    session: &Session,
    selected: &[NodeId],
    out: &mut Vec<Action>,
) {
    egui::Panel::right("inspector").resizable(true).default_size(300.0).show(ui, |ui| {
        ui.heading("Inspector");
        egui::ScrollArea::vertical().id_salt("inspector").show(ui, |ui| {
            if selected.len() > 1 {
                ui.label(format!("{} nodes selected", selected.len()));
                if ui.button("Delete selected").clicked() {
                    out.push(Action::DeleteNodes(selected.to_vec()));
                }
                return;
            }
            match selected.first().and_then(|id| doc.graph.get_node(*id)) {
                Some(node) => body(ui, doc, live, session, node, out),
                None => {
                    ui.label(RichText::new("Select a node on the canvas to inspect it.").weak());
                }
            }
        });
    });
}

fn body(ui: &mut egui::Ui, doc: &Document, live: &Live, session: &Session, node: &GraphNode, out: &mut Vec<Action>) {
    ui.label(RichText::new(format!("node {}", node.id)).strong());
    ui.label(format!("service {}", node.service));
    let mut policy = node.on_error;
    ui.horizontal(|ui| {
        let label = ui.label("On error");
        egui::ComboBox::from_id_salt("on-error")
            .selected_text(policy_name(policy))
            .show_ui(ui, |ui| {
                for (value, tip) in [
                    (ErrorPolicy::Fail, "the run fails"),
                    (ErrorPolicy::Drop, "drop the message"),
                    (ErrorPolicy::Route, "send the error text out of the `error` port"),
                ] {
                    ui.selectable_value(&mut policy, value, policy_name(value)).on_hover_text(tip);
                }
            })
            .response
            .labelled_by(label.id);
    });
    if policy != node.on_error {
        out.push(Action::SetErrorPolicy { node: node.id.clone(), policy });
    }
    ui.separator();
    let info = live.services.get(&node.service);
    match info {
        None => {
            match doc.service(&node.service) {
                Some(entry) => ui.label(
                    RichText::new(format!("{} is not deployed yet: press Deploy.", entry.component)).color(WARN),
                ),
                None => ui.colored_label(BAD, format!("no service named `{}` in this project", node.service)),
            };
        }
        Some(info) => component(ui, info),
    }
    // Edits wait while a deploy runs: its answer replaces the services.
    if session.deploying {
        ui.separator();
        ui.label(RichText::new("Configuration can be edited when the deploy ends.").weak());
    } else if let Some(entry) = doc.service(&node.service) {
        config_editor(ui, &node.service, entry, out);
        let command = info.is_some_and(|i| matches!(i.description.info.kind, host_core::ComponentKind::WasiCommand));
        if command || !entry.args.is_empty() {
            args_editor(ui, &node.service, entry, out);
        }
        limits_editor(ui, &node.service, entry, info, out);
    }
    if let Some(info) = info {
        capabilities(ui, info);
        versions(ui, live, info);
        let previous = info.status.spec.history.len() >= 2;
        if ui.add_enabled(previous && !session.deploying, egui::Button::new("Roll back")).clicked() {
            out.push(Action::Rollback(node.service.clone()));
        }
    }
}

/// The policy's name, as the combo lists it.
fn policy_name(policy: ErrorPolicy) -> &'static str {
    match policy {
        ErrorPolicy::Fail => "Fail",
        ErrorPolicy::Drop => "Drop",
        ErrorPolicy::Route => "Route",
    }
}

/// The deployed component: version, digest, description, media types.
fn component(ui: &mut egui::Ui, info: &ServiceInfo) {
    let m = &info.description.metadata;
    ui.label(RichText::new("Component").strong());
    ui.label(RichText::new(&info.version).monospace());
    ui.label(RichText::new(format!("digest {}", info.status.spec.digest.short())).monospace().small());
    ui.label(&m.description);
    ui.label(format!("accepts {}", m.accepts.join(", ")));
    ui.label(format!("produces {}", m.produces.join(", ")));
    if m.stateful {
        ui.label("keeps state between calls");
    }
}

/// A WASI command's arguments, one per line (`argv[0]` is the service
/// name); deployed with the next Deploy.
fn args_editor(ui: &mut egui::Ui, service: &str, entry: &ServiceEntry, out: &mut Vec<Action>) {
    ui.separator();
    let label = ui.label(RichText::new("Arguments").strong());
    ui.label(RichText::new(format!("one per line; argv[0] is `{service}`")).weak().small());
    // Split on every newline, so a line just begun stays (as an empty argument).
    let mut text = entry.args.join("\n");
    let edit = ui.add(egui::TextEdit::multiline(&mut text).desired_rows(2).code_editor()).labelled_by(label.id);
    if edit.changed() {
        let args = if text.is_empty() { Vec::new() } else { text.split('\n').map(str::to_string).collect() };
        out.push(Action::SetArgs { service: service.to_string(), args });
    }
}

/// The service's configuration, edited in the project (deployed with the
/// next Deploy).
fn config_editor(ui: &mut egui::Ui, service: &str, entry: &ServiceEntry, out: &mut Vec<Action>) {
    ui.separator();
    ui.label(RichText::new("Configuration").strong());
    egui::Grid::new("config").num_columns(3).show(ui, |ui| {
        for (key, value) in &entry.config {
            let label = ui.label(RichText::new(key).monospace());
            let mut text = value.clone();
            if ui.add(egui::TextEdit::singleline(&mut text).desired_width(140.0)).labelled_by(label.id).changed() {
                out.push(Action::SetConfig { service: service.to_string(), key: key.clone(), value: text });
            }
            if ui.small_button("✕").on_hover_text(format!("remove {key}")).clicked() {
                out.push(Action::RemoveConfig { service: service.to_string(), key: key.clone() });
            }
            ui.end_row();
        }
    });
    let key_id = ui.id().with("new-config-key");
    let mut new_key: String = ui.data_mut(|d| d.get_temp(key_id).unwrap_or_default());
    ui.horizontal(|ui| {
        let label = ui.label("New key");
        ui.add(egui::TextEdit::singleline(&mut new_key).desired_width(120.0)).labelled_by(label.id);
        let key = new_key.trim().to_string();
        if ui.add_enabled(!key.is_empty() && !entry.config.contains_key(&key), egui::Button::new("Add key")).clicked() {
            out.push(Action::SetConfig { service: service.to_string(), key, value: String::new() });
            new_key.clear();
        }
    });
    ui.data_mut(|d| d.insert_temp(key_id, new_key));
    ui.label(RichText::new("Changes go live with the next Deploy.").small().weak());
}

/// The service's limits on every call (host-core's `ServiceLimits`),
/// edited in the project (`limits` of its entry; deployed with the next
/// Deploy). Shown are the project's, else the live service's.
fn limits_editor(
    ui: &mut egui::Ui,
    service: &str,
    entry: &ServiceEntry,
    info: Option<&ServiceInfo>,
    out: &mut Vec<Action>,
) {
    let mut limits = entry.limits.or(info.map(|i| i.status.spec.limits)).unwrap_or_default();
    ui.label(RichText::new("Limits").strong());
    let mut changed = false;
    egui::Grid::new("limits").num_columns(2).show(ui, |ui| {
        let rows: [(&str, &mut u64, std::ops::RangeInclusive<u64>); 3] = [
            ("Timeout (ms)", &mut limits.timeout_ms, 1..=3_600_000),
            ("Memory (MiB)", &mut limits.max_memory_mib, 1..=4096),
            ("Table elements", &mut limits.max_table_elements, 1..=1 << 20),
        ];
        for (name, value, range) in rows {
            let label = ui.label(name);
            changed |= ui.add(egui::DragValue::new(value).range(range)).labelled_by(label.id).changed();
            ui.end_row();
        }
    });
    if changed {
        out.push(Action::SetLimits { service: service.to_string(), limits });
    }
}

/// What the component requests, whether it is granted, and the grants.
fn capabilities(ui: &mut egui::Ui, info: &ServiceInfo) {
    ui.separator();
    ui.label(RichText::new("Capabilities").strong());
    let granted = &info.status.spec.grants;
    if info.description.required_capabilities.is_empty() {
        ui.label(RichText::new("requests none").weak());
    }
    for requested in &info.description.required_capabilities {
        let ok = granted.iter().any(|g| security::covers(g, requested));
        let (mark, color) = if ok { ("granted", GOOD) } else { ("not granted", BAD) };
        ui.horizontal(|ui| {
            ui.label(RichText::new(requested.to_string()).monospace());
            ui.label(RichText::new(mark).color(color));
        });
    }
    for grant in granted {
        ui.label(RichText::new(format!("grant {grant}")).monospace().small().weak());
    }
}

/// The component's versions in the registry and the service's deploys.
fn versions(ui: &mut egui::Ui, live: &Live, info: &ServiceInfo) {
    ui.separator();
    ui.label(RichText::new("Versions").strong());
    let name = &info.status.spec.component.name;
    if let Some(entry) = live.registry.iter().find(|r| r.name == *name) {
        for v in entry.versions.iter().rev() {
            let current = v.version == info.status.spec.component.version;
            let text = format!("{} {}{}", v.version, v.digest.short(), if current { "  (live)" } else { "" });
            ui.label(RichText::new(text).monospace().small());
        }
    }
    ui.label(RichText::new("Deploy history").small().strong());
    for d in info.status.spec.history.iter().rev().take(10) {
        ui.label(RichText::new(format!("{} {}", clock(d.at_ms), d.component)).monospace().small());
    }
}
