// The malformed inputs every public entry is fed (__test__/hostile-input.test.mjs).
// Each is made fresh per use (`make()`), so a case cannot leak state into the next.

/** The error every hostile getter, Proxy trap, toString and valueOf throws. */
export const HOSTILE_MESSAGE = 'hostile getter'
const throwing = () => { throw new Error(HOSTILE_MESSAGE) }

export const HOSTILE = [
  ['undefined', () => undefined],
  ['null', () => null],
  ['true', () => true],
  ['0', () => 0],
  ['-0', () => -0],
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['-Infinity', () => -Infinity],
  ['-1', () => -1],
  ['1.5', () => 1.5],
  ['2**53 + 2', () => 2 ** 53 + 2],
  ['1e308', () => 1e308],
  ['BigInt', () => 10n],
  ['Symbol', () => Symbol('hostile')],
  ['function', () => function hostile () {}],
  ['empty array', () => []],
  ['array of strings', () => ['a', 'b']],
  ['empty object', () => ({})],
  ['null-prototype object', () => Object.create(null)],
  ['frozen object', () => Object.freeze({ a: 'b' })],
  ['transparent Proxy', () => new Proxy({}, {})],
  ['Proxy whose every trap throws', () => new Proxy({}, {
    get: throwing, has: throwing, ownKeys: throwing, getOwnPropertyDescriptor: throwing, getPrototypeOf: throwing
  })],
  ['toString that throws', () => ({ toString: throwing })],
  ['valueOf / toPrimitive that throw', () => ({ valueOf: throwing, [Symbol.toPrimitive]: throwing })],
  ['__proto__ own key (JSON.parse)', () => JSON.parse('{"__proto__":{"polluted":"yes"}}')],
  ['constructor.prototype key', () => ({ constructor: { prototype: { polluted: 'yes' } } })],
  ['Date', () => new Date(0)],
  ['RegExp', () => /hostile/],
  ['boxed String', () => new String('x')], // eslint-disable-line no-new-wrappers
  ['Buffer', () => Buffer.from('x')],
  ['Map', () => new Map([['a', 'b']])],
  ['Promise', () => Promise.resolve('x')],
  ['object with a throwing getter', () => Object.defineProperty({}, 'x', { enumerable: true, get: throwing })],
  ['empty string', () => ''],
  ['1 MB string', () => 'x'.repeat(1 << 20)],
  ['lone high surrogate', () => 'a\uD800b'],
  ['lone low surrogate', () => '\uDC00'],
  ['NUL byte', () => 'a\u0000b'],
  ['CRLF injection', () => 'a\r\nSet-Cookie: evil=1'],
  ["'__proto__'", () => '__proto__'],
  ["'constructor'", () => 'constructor'],
  ['astral character', () => '\u{1F600}']
]

/** Whether a hostile value is one that runs throwing code when inspected. */
export const isTrap = (label) => label === 'Proxy whose every trap throws'

/** Checks no hostile input polluted Object.prototype. */
export function assertNoPollution (assert) {
  assert.equal(({}).polluted, undefined, 'Object.prototype polluted')
  assert.equal(Object.prototype.polluted, undefined)
}
