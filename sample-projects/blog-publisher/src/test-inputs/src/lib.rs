//! Deterministic pseudo-random strings over the characters that matter to
//! markup parsers (and multi-byte ones next to them), for "never panics"
//! tests: a panic in a component traps the guest.

const PIECES: [&str; 24] = [
    "<", ">", "/", "!", "-", "=", "\"", "'", "&", "#", ";", "x", "a", " ", "\n", "`", "*", "[", "]", "(", ")", "\\", "é",
    "€",
];

/// `count` strings of up to 39 pieces each; the same sequence every run.
pub fn random_markup(count: usize) -> impl Iterator<Item = String> {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..count).map(move |_| {
        let mut next = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize
        };
        let len = next() % 40;
        (0..len).map(|_| PIECES[next() % PIECES.len()]).collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sequence_is_deterministic_and_varied() {
        let a: Vec<String> = super::random_markup(100).collect();
        assert_eq!(a, super::random_markup(100).collect::<Vec<_>>());
        assert!(a.iter().collect::<std::collections::BTreeSet<_>>().len() > 90);
    }
}
