//! What the widgets keep between frames: the run console's input, the
//! deploy form, the log filter, the help window, and the canvas's camera,
//! selection and last refused wire. Views write it freely (it is neither
//! the project nor the session); `studio` resets the canvas part when the
//! graph is replaced. Nothing here reaches the project or the runtime.

use std::time::Instant;

use egui::emath::TSTransform;
use egui_snarl::NodeId;
use host_core::deploy::{Strategy, StrategyKind};

/// The widgets' memory.
#[derive(Debug, Default)]
pub struct ViewState {
    /// The run console's input.
    pub input: String,
    /// The deploy tab's form.
    pub deploy_form: DeployForm,
    /// The logs tab shows this service's lines only.
    pub log_filter: Option<String>,
    /// The shortcuts window is open.
    pub help: bool,
    /// Set the theme from the settings on the next frame (they were restored).
    pub apply_theme: bool,
    /// The canvas.
    pub canvas: CanvasMemory,
    /// The palette's "Pull oci://…" field.
    pub oci_pull: String,
}

/// The canvas's memory.
#[derive(Debug, Default)]
pub struct CanvasMemory {
    /// Nodes selected on the canvas.
    pub selected: Vec<NodeId>,
    /// The node last clicked.
    pub inspected: Option<NodeId>,
    /// Where each node was drawn last frame (graph coordinates).
    pub node_rects: Vec<(NodeId, egui::Rect)>,
    /// The graph-to-screen transform (for drops and clicks).
    pub to_screen: Option<TSTransform>,
    /// Fit the view to the nodes once they are drawn.
    pub fit: bool,
    /// The last refused wire, shown where it was dropped for a while.
    pub refused: Option<Refusal>,
}

impl CanvasMemory {
    /// Forgets the selection (the graph was rebuilt: its node ids are new).
    pub fn forget_selection(&mut self) {
        self.selected.clear();
        self.inspected = None;
    }

    /// A new pipeline is shown: forget everything and fit it once drawn.
    pub fn reset(&mut self) {
        self.forget_selection();
        self.node_rects.clear();
        self.fit = true;
    }

    /// Where `node` is on the screen, as last drawn.
    pub fn screen_rect(&self, node: NodeId) -> Option<egui::Rect> {
        let to_screen = self.to_screen?;
        self.node_rects.iter().find(|(id, _)| *id == node).map(|(_, rect)| to_screen * *rect)
    }
}

/// A wire the canvas refused: when, where the pointer was, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub at: Instant,
    pub pointer: egui::Pos2,
    pub reason: String,
}

/// The deploy tab's form: the kind and each kind's parameters, starting at
/// host-core's defaults (`Strategy::defaults`).
#[derive(Debug, Clone, PartialEq)]
pub struct DeployForm {
    pub kind: StrategyKind,
    pub keep_old_s: u64,
    /// Canary weights, `10,25,50,100`.
    pub steps: String,
    pub interval_ms: u64,
    pub min_calls: u64,
    /// Largest allowed error-rate increase, percent.
    pub max_error_increase_pct: f64,
    pub batch: usize,
}

impl Default for DeployForm {
    fn default() -> Self {
        let mut form = DeployForm {
            kind: StrategyKind::Immediate,
            keep_old_s: 0,
            steps: String::new(),
            interval_ms: 0,
            min_calls: 0,
            max_error_increase_pct: 0.0,
            batch: 0,
        };
        for kind in StrategyKind::ALL {
            form.fill(&Strategy::defaults(kind));
        }
        form
    }
}

impl DeployForm {
    /// Takes the parameters of `strategy` into the form (its kind's fields).
    fn fill(&mut self, strategy: &Strategy) {
        match strategy {
            Strategy::Immediate => {}
            Strategy::BlueGreen { keep_old_ms } => self.keep_old_s = keep_old_ms / 1000,
            Strategy::Canary { steps, interval_ms, min_calls, max_error_increase } => {
                self.steps = steps.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
                self.interval_ms = *interval_ms;
                self.min_calls = *min_calls;
                self.max_error_increase_pct = max_error_increase * 100.0;
            }
            Strategy::Rolling { batch } => self.batch = *batch,
        }
    }

    /// The strategy the form describes, checked by host-core.
    pub fn strategy(&self) -> Result<Strategy, String> {
        let strategy = match self.kind {
            StrategyKind::Immediate => Strategy::Immediate,
            StrategyKind::BlueGreen => Strategy::BlueGreen { keep_old_ms: self.keep_old_s * 1000 },
            StrategyKind::Canary => {
                let steps = self
                    .steps
                    .split(',')
                    .map(|s| s.trim().parse::<u32>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| format!("canary steps `{}` are not numbers like 10,25,50,100", self.steps))?;
                Strategy::Canary {
                    steps,
                    interval_ms: self.interval_ms,
                    min_calls: self.min_calls,
                    max_error_increase: self.max_error_increase_pct / 100.0,
                }
            }
            StrategyKind::Rolling => Strategy::Rolling { batch: self.batch },
        };
        strategy.validate().map_err(|e| e.to_string())?;
        Ok(strategy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deploy_form_starts_at_host_cores_defaults_for_every_kind() {
        let mut form = DeployForm::default();
        for kind in StrategyKind::ALL {
            form.kind = kind;
            assert_eq!(form.strategy(), Ok(Strategy::defaults(kind)), "{kind}");
        }
    }
}
