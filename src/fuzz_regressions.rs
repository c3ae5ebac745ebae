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
