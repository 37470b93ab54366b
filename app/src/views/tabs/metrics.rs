//! The metrics tab: a table of calls, errors and p99 per service, and live
//! plots of each service's series (calls/s, latency p50/p99, errors/s,
//! memory). Reads the live state only; asks for nothing.

use egui::RichText;
use egui_plot::{Legend, Line, Plot, PlotPoints};

use crate::{
    state::live::{Live, Sample, Series},
    views::theme::{self, BAD},
};

/// Reads one figure of a sample.
type Measure = fn(&Sample) -> f64;

/// Draws the tab.
pub fn show(ui: &mut egui::Ui, live: &Live) {
    ui.columns(5, |columns| {
        table(&mut columns[0], live);
        let plots: [(&str, &str, Measure, Option<Measure>); 4] = [
            ("calls/s", "calls-plot", |s| s.calls_per_s, None),
            ("latency p50 / p99 dashed (ms)", "latency-plot", |s| s.p50_ms, Some(|s| s.p99_ms)),
            ("errors/s", "errors-plot", |s| s.errors_per_s, None),
            ("memory high-water (MiB)", "memory-plot", |s| s.memory_mib, None),
        ];
        for (index, (column, (title, id, value, second))) in columns[1..].iter_mut().zip(plots).enumerate() {
            column.label(RichText::new(title).strong());
            let height = column.available_height().max(80.0);
            let mut plot = Plot::new(id).height(height).include_y(0.0).allow_scroll(false);
            if index == 0 {
                // One legend: a service has the same color in every plot.
                plot = plot.legend(Legend::default().position(egui_plot::Corner::LeftTop));
            }
            plot.show(column, |plot| {
                for (n, (service, series)) in live.series.iter().enumerate() {
                    let color = theme::series(n);
                    let name = if second.is_some() { format!("{service} p50") } else { service.clone() };
                    plot.line(Line::new(name, points(series, value)).color(color));
                    if let Some(second) = second {
                        plot.line(
                            Line::new(format!("{service} p99"), points(series, second))
                                .color(color)
                                .style(egui_plot::LineStyle::dashed_loose()),
                        );
                    }
                }
            });
        }
    });
}

/// Calls, errors and p99 per service, summed over its versions.
fn table(ui: &mut egui::Ui, live: &Live) {
    egui::Grid::new("metrics-table").striped(true).show(ui, |ui| {
        for h in ["service", "calls", "errors", "p99"] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        for s in &live.metrics.services {
            let calls: u64 = s.versions.iter().map(|v| v.calls).sum();
            let errors: u64 = s.versions.iter().map(|v| v.errors).sum();
            let p99 = s.versions.iter().map(|v| v.latency.p99_us).max().unwrap_or(0);
            ui.label(&s.service);
            ui.label(calls.to_string());
            ui.label(if errors > 0 { RichText::new(errors.to_string()).color(BAD) } else { "0".into() });
            ui.label(format!("{:.2} ms", p99 as f64 / 1000.0));
            ui.end_row();
        }
    });
}

/// One figure of each sample, over time.
fn points(series: &Series, value: Measure) -> PlotPoints<'static> {
    PlotPoints::new(series.iter().map(|s| [s.t, value(s)]).collect())
}
