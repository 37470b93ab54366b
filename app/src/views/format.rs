//! How the views write times, versions and message bodies. Pure text
//! functions; nothing here reads state or draws.

use crate::state::settings::BodyView;

/// `HH:MM:SS` (UTC) of milliseconds since the Unix epoch.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60, s % 60)
}

/// `name@version`, with the long local pre-release of project files
/// (`0.0.0-local.d<digest>`) cut to `local.<6 hex>`.
pub fn short_version(reference: &str) -> String {
    match reference.split_once(&format!("@0.0.0-{}", host_core::project::LOCAL_PRE)) {
        Some((name, digest)) => format!("{name}@local.{}", &digest[..digest.len().min(6)]),
        None => reference.to_string(),
    }
}

/// A body as text, hex or pretty JSON.
pub fn render(data: &[u8], view: BodyView) -> String {
    match view {
        BodyView::Text => String::from_utf8_lossy(data).into_owned(),
        BodyView::Hex => data.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" "),
        BodyView::Json => match serde_json::from_slice::<serde_json::Value>(data) {
            Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_default(),
            Err(_) => String::from_utf8_lossy(data).into_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_versions_are_cut_and_bodies_rendered() {
        let local = format!("upper@0.0.0-{}1234567890ab", host_core::project::LOCAL_PRE);
        assert_eq!(short_version(&local), "upper@local.123456");
        assert_eq!(short_version("upper@1.2.3"), "upper@1.2.3");
        assert_eq!(clock(3_723_000), "01:02:03");
        assert_eq!(render(b"hi", BodyView::Hex), "68 69");
        assert_eq!(render(br#"{"a":1}"#, BodyView::Json), "{\n  \"a\": 1\n}");
    }
}
