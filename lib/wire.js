'use strict'

// Every slot, flag, op code and result offset the JS shells share with the
// native bindings, as Rust defines them (src/napi/wire.rs, `wireLayout()`):
// read once per module load, so the two sides cannot drift apart. The shells
// copy what they use into module-level constants (no property lookups on hot
// paths).

const binding = require('../binding.js')

module.exports = binding.wireLayout()
