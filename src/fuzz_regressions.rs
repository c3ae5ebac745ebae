//! Replays every input kept under `fuzz/regressions/<target>/` through the
//! fuzz target's own checks (`fuzz/src/checks.rs`, included here), so inputs
//! the fuzzer found stay fixed without running the fuzzer. A unit test, not
//! an integration test: those link the rlib's N-API registrations, which
//! need Node's symbols.

#[path = "../fuzz/src/checks.rs"]
mod checks;

use std::path::Path;

#[test]
fn replays_fuzz_regressions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    for (target, check) in checks::TARGETS {
        let dir = root.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no inputs in {}", dir.display());
        for file in files {
            let data = std::fs::read(&file).unwrap();
            eprintln!("replaying {}", file.display());
            check(&data);
        }
    }
}

/// A bounded stand-in for the fuzzer on the interceptor's header path
/// (`stored_response`), run by every `cargo test`: 20 000 pseudo-random
/// inputs (seeded, so a failure reproduces) biased towards header syntax.
#[test]
fn stored_response_random_inputs() {
    const ALPHABET: &[u8] =
        b"max-age=s-maxage,no-cache\"private=, 0123456789*;\t W/must-revalidate\xff\x00";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut data = Vec::with_capacity(512);
    for _ in 0..20_000 {
        data.clear();
        let len = (next() % 400) as usize;
        for _ in 0..len {
            let r = next();
            data.push(if r % 4 == 0 {
                (r >> 8) as u8
            } else {
                ALPHABET[(r >> 8) as usize % ALPHABET.len()]
            });
        }
        checks::stored_response(&data);
    }
}
