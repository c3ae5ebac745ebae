'use strict'
// The plain JS Map page cache driver the vsf suite compares with (set up by
// bench/suites/vsf.mjs before the module loads it).
module.exports = { default: (options) => globalThis.__vsfBenchMapDriver(options) }
