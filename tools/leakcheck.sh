#!/usr/bin/env bash
# npm run leakcheck: leak checks of the Rust side (not part of CI; see docs/leak-check.md).
#   1. the cargo test suite under LeakSanitizer (nightly, -Zsanitizer=leak)
#   2. the cargo test binary under Valgrind memcheck
#   3. Node running tools/leakcheck-exercise.cjs (every face of the debug addon) under
#      Valgrind memcheck; loss records are attributed by the objects in their stacks
#      (tools/valgrind-leaks.mjs: a record counts as ours when a frame is in our addon),
#      so Node's and V8's own allocations need no blanket suppressions; the one Node
#      block whose stack passes through our frames is in tools/valgrind-node.supp.
# Steps: LEAKCHECK_STEPS="lsan cargo node" (default: all). Reports in target/leakcheck/.
# Exit code 1 when a step finds definitely or indirectly lost bytes of ours.
set -uo pipefail
cd "$(dirname "$0")/.."
out=target/leakcheck
mkdir -p "$out"
steps=${LEAKCHECK_STEPS:-lsan cargo node}
status=0

if [[ " $steps " == *" lsan "* ]]; then
  echo "== 1. cargo test under LeakSanitizer (nightly)"
  # A separate target dir: sanitizer flags must not mix with the normal debug build.
  if RUSTFLAGS="-Zsanitizer=leak" CARGO_TARGET_DIR=target/lsan \
    cargo +nightly test --quiet --target x86_64-unknown-linux-gnu 2>&1 | tee "$out/lsan.txt" | tail -n 5; then
    echo "   LeakSanitizer: no leaks (the run fails on any)"
  else
    echo "   LeakSanitizer: FAILED (see $out/lsan.txt)"
    status=1
  fi
fi

vg=(valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible --num-callers=40 --xml=yes)
# Node's own blocks (see the file for why each is Node's, not ours).
supp=(--suppressions=tools/valgrind-node.supp)

if [[ " $steps " == *" cargo "* ]]; then
  echo "== 2. cargo test binary under Valgrind memcheck"
  bins=$(cargo test --no-run --message-format=json 2>/dev/null |
    node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{for(const l of s.split('\n')){if(!l)continue;const m=JSON.parse(l);if(m.reason==='compiler-artifact'&&m.executable&&m.profile.test)console.log(m.executable)}})")
  for bin in $bins; do
    name=$(basename "$bin")
    "${vg[@]}" --xml-file="$out/$name.xml" "$bin" --test-threads=2 >"$out/$name.txt" 2>&1 || { echo "   $name: tests failed under valgrind"; status=1; }
    # Every frame of a test binary is in it: any lost block counts.
    node tools/valgrind-leaks.mjs "$out/$name.xml" "$name" || status=1
  done
fi

if [[ " $steps " == *" node "* ]]; then
  echo "== 3. Node + debug addon under Valgrind memcheck"
  # The debug cdylib, loaded through binding.js's override (the package's .node stays as built).
  cargo build --quiet --lib || exit 1
  cp target/debug/libferrocache.so "$out/ferrocache.node"
  NAPI_RS_NATIVE_LIBRARY_PATH="$PWD/$out/ferrocache.node" LEAKCHECK_ROUNDS=${LEAKCHECK_ROUNDS:-100} \
    "${vg[@]}" "${supp[@]}" --xml-file="$out/node.xml" node --expose-gc tools/leakcheck-exercise.cjs >"$out/node.txt" 2>&1 ||
    { echo "   the exercise failed under valgrind (see $out/node.txt)"; status=1; }
  node tools/valgrind-leaks.mjs "$out/node.xml" 'ferrocache\.node$' || status=1
fi
exit $status
