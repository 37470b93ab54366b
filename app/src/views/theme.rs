//! The studio's one colour set: states (good, warning, bad, idle) and the
//! plots' series colours. Every `Color32` the views use comes from here;
//! nothing here reads state.

use egui::Color32;

/// Healthy, succeeded, granted.
pub const GOOD: Color32 = Color32::from_rgb(70, 180, 90);
/// Degraded, in progress, unsaved, changed.
pub const WARN: Color32 = Color32::from_rgb(230, 170, 40);
/// Failed, refused, unhealthy, errors.
pub const BAD: Color32 = Color32::from_rgb(220, 80, 60);
/// Not deployed yet, no reading yet, input pins.
pub const IDLE: Color32 = Color32::from_rgb(140, 140, 140);

/// A service's colour in the plots, by its place in the list.
pub const SERIES: [Color32; 6] = [
    Color32::from_rgb(90, 170, 250),
    Color32::from_rgb(240, 150, 60),
    Color32::from_rgb(110, 200, 120),
    Color32::from_rgb(230, 100, 160),
    Color32::from_rgb(190, 160, 250),
    Color32::from_rgb(230, 210, 90),
];

/// The colour of the `n`th series.
pub fn series(n: usize) -> Color32 {
    SERIES[n % SERIES.len()]
}
