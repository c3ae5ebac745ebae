'use strict'
// `napi build` imports @napi-rs/wasm-tools only for wasm32 targets.
throw new Error('ferrocache does not build WASI targets: wasm tools are not installed (see tools/no-wasm-tools/package.json)')
