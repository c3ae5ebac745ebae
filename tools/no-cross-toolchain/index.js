'use strict'
// `napi build` requires @napi-rs/cross-toolchain only for --use-napi-cross.
throw new Error('ferrocache builds for the host only: cross toolchains are not installed (see tools/no-cross-toolchain/package.json)')
