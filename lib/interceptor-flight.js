'use strict'

// Request collapsing: one origin request per cache key in flight. Followers
// wait for the leader's response; if one stored response would serve them
// (storable, fresh, same Vary'd request fields), each gets its own copy of
// the body as a stream, otherwise each goes to the origin itself.

const { Readable } = require('node:stream')

class Flight {
  /** @type {Array<Follower>} */
  #followers = []
  /** @type {Buffer[]} body chunks so far (for followers that join late) */
  #chunks = []
  #head = null
  #ended = false
  #error = null
  #closed = false

  /**
   * @param {(follower: Follower, head: object) => boolean} reusableFor decides
   *   whether the leader's response serves a follower's request
   */
  constructor (reusableFor) {
    this.reusableFor = reusableFor
  }

  /** Whether new followers may still join. */
  get open () {
    return !this.#closed
  }

  /**
   * Adds a follower: `serve(head, body)` when the response serves it,
   * `alone()` when it must go to the origin itself, `fail(err)` on an origin error.
   */
  join (follower) {
    if (this.#closed && this.#head === null) {
      follower.alone()
    } else if (this.#error !== null) {
      follower.fail(this.#error)
    } else if (this.#head !== null) {
      this.#deliver(follower)
    } else {
      this.#followers.push(follower)
    }
  }

  /** The leader's response started: `head` = { statusCode, statusMessage, headers, reusable }. */
  start (head) {
    this.#head = head
    if (!head.reusable) this.#closed = true
    const followers = this.#followers
    this.#followers = []
    for (const f of followers) this.#deliver(f)
  }

  #deliver (follower) {
    const head = this.#head
    if (!head.reusable || !this.reusableFor(follower, head)) {
      follower.alone()
      return
    }
    const body = new Readable({ read () {} })
    for (const c of this.#chunks) body.push(c)
    if (this.#ended) body.push(null)
    else this.#followers.push({ body })
    follower.serve(head, body)
  }

  data (chunk) {
    if (this.#head === null || !this.#head.reusable) return
    // Copied: the leader's chunk may be a view over a reused buffer.
    const copy = Buffer.from(chunk)
    this.#chunks.push(copy)
    for (const f of this.#followers) f.body.push(copy)
  }

  end () {
    this.#ended = true
    this.#closed = true
    for (const f of this.#followers) f.body?.push(null)
    this.#followers = []
    this.#chunks = []
  }

  /**
   * The leader's request failed. An origin error reaches every follower; an
   * abort by the leader's own consumer is not theirs: followers still waiting
   * for the response go to the origin themselves (those already reading its
   * body cannot get the rest and see the error).
   */
  error (err) {
    const abortedByLeader = err?.name === 'AbortError' || err?.code === 'UND_ERR_ABORTED'
    if (!abortedByLeader) this.#error = err
    this.#closed = true
    for (const f of this.#followers) {
      if (f.body) f.body.destroy(err)
      else if (abortedByLeader) f.alone()
      else f.fail(err)
    }
    this.#followers = []
    this.#chunks = []
  }
}

/**
 * @typedef {object} Follower
 * @property {Record<string, string | string[]>} headers the follower's request headers
 * @property {(head: object, body: Readable) => void} serve
 * @property {() => void} alone
 * @property {(err: Error) => void} fail
 */

module.exports = { Flight }
