//! Response bodies being written from JS, shared by both store bindings: a
//! stream's chunks are copied into a Rust buffer as they arrive (the JS
//! Buffers are then free to go), and the finished buffer becomes the entry's
//! `Bytes` on commit without another copy.

/// Open writers of one store handle, addressed by integer ids that the JS
/// shell keeps on its Writable. An id carries its slot's generation, so the id
/// of a writer that was dropped (over `max`, aborted, or cleared by `close()`)
/// never names a later writer that reuses the slot.
#[derive(Default)]
pub struct BodyWriters(Vec<Writer>);

#[derive(Default)]
struct Writer {
    generation: u32,
    body: Option<Vec<u8>>,
}

/// Bits of an id that hold the slot index; the rest hold the generation.
const INDEX_BITS: u32 = 20;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
/// Generations wrap within the 11 bits left in a positive `i32`.
const GENERATION_MASK: u32 = (1 << (31 - INDEX_BITS)) - 1;

/// `append` was given the id of a writer that is not open (or more than
/// 2^20 writers are open at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownWriter;

/// What every store binding throws for it: the same `InvalidArg` error.
impl From<UnknownWriter> for napi::Error {
    fn from(_: UnknownWriter) -> Self {
        napi::Error::new(napi::Status::InvalidArg, "unknown writer".to_owned())
    }
}

impl BodyWriters {
    /// Appends `chunk` to writer `writer` (negative: opens a new writer) and
    /// returns its id, `Ok(-1)` when the body would pass `max` bytes (the
    /// writer is then dropped: a body of exactly `max` bytes is kept), or
    /// `Err` when `writer` is not open: a body is never continued in a writer
    /// other than the one that holds its first chunks.
    pub fn append(&mut self, writer: i32, chunk: &[u8], max: u64) -> Result<i32, UnknownWriter> {
        let index = if writer < 0 {
            self.open()?
        } else {
            self.index_of(writer).ok_or(UnknownWriter)?
        };
        let slot = &mut self.0[index];
        let Some(body) = slot.body.as_mut() else {
            return Err(UnknownWriter);
        };
        if (body.len() + chunk.len()) as u64 > max {
            slot.body = None;
            return Ok(-1);
        }
        if body.is_empty() {
            body.reserve_exact(chunk.len());
        }
        body.extend_from_slice(chunk);
        Ok(((slot.generation << INDEX_BITS) | index as u32) as i32)
    }

    /// A free slot (its generation bumped) holding a new empty body.
    fn open(&mut self) -> Result<usize, UnknownWriter> {
        let index = match self.0.iter().position(|w| w.body.is_none()) {
            Some(i) => i,
            None if self.0.len() <= INDEX_MASK as usize => {
                self.0.push(Writer::default());
                self.0.len() - 1
            }
            None => return Err(UnknownWriter),
        };
        let slot = &mut self.0[index];
        slot.generation = (slot.generation + 1) & GENERATION_MASK;
        slot.body = Some(Vec::new());
        Ok(index)
    }

    /// The slot of an open writer id.
    fn index_of(&self, writer: i32) -> Option<usize> {
        let id = u32::try_from(writer).ok()?;
        let index = (id & INDEX_MASK) as usize;
        let slot = self.0.get(index)?;
        (slot.body.is_some() && slot.generation == id >> INDEX_BITS).then_some(index)
    }

    /// Drops an unfinished body (a negative or unknown id is a no-op).
    pub fn abort(&mut self, writer: i32) {
        if let Some(index) = self.index_of(writer) {
            self.0[index].body = None;
        }
    }

    /// Takes the finished body of `writer`; a negative id is an empty body,
    /// `None` an id that is not open.
    pub fn take(&mut self, writer: i32) -> Option<Vec<u8>> {
        if writer < 0 {
            return Some(Vec::new());
        }
        let index = self.index_of(writer)?;
        self.0[index].body.take()
    }

    /// Drops every unfinished body (ids already handed out stay unknown).
    pub fn clear(&mut self) {
        for w in &mut self.0 {
            w.body = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_of_exactly_max_is_kept_one_byte_more_drops_the_writer() {
        // undici's stores pin this: maxEntrySize bytes are cached, one more is not.
        let mut w = BodyWriters::default();
        let id = w.append(-1, b"abc", 5).unwrap();
        assert!(id >= 0);
        assert_eq!(w.append(id, b"de", 5), Ok(id));
        assert_eq!(w.take(id).unwrap(), b"abcde");

        let id = w.append(-1, b"abc", 5).unwrap();
        assert_eq!(w.append(id, b"def", 5), Ok(-1));
        assert!(w.take(id).is_none(), "a dropped writer has no body");
        assert_eq!(
            w.append(id, b"x", 5),
            Err(UnknownWriter),
            "a dropped writer stays closed"
        );
    }

    #[test]
    fn ids_are_reused_and_bodies_stay_apart() {
        let mut w = BodyWriters::default();
        let a = w.append(-1, b"a", 100).unwrap();
        let b = w.append(-1, b"b", 100).unwrap();
        assert_ne!(a, b);
        w.abort(a);
        let c = w.append(-1, b"c", 100).unwrap();
        assert_ne!(c, a, "a freed slot is reused under a new id");
        assert_eq!(w.append(a, b"stale", 100), Err(UnknownWriter));
        assert!(w.take(a).is_none());
        assert_eq!(w.take(b).unwrap(), b"b");
        assert_eq!(w.take(c).unwrap(), b"c");
        assert_eq!(w.take(-1).unwrap(), b"", "a negative id is an empty body");
        assert!(w.take(7).is_none());
        w.abort(-3);
        w.abort(99);
    }

    // Defect 1 (issue 15): a writer id that is not open (its store's writers
    // were cleared, or it belongs to another store) used to return -1, and the
    // next chunk opened a new writer: the commit then stored only the later
    // chunks. It now fails.
    #[test]
    fn a_chunk_for_a_writer_that_is_not_open_fails_and_opens_nothing() {
        let mut w = BodyWriters::default();
        let id = w.append(-1, b"first", 100).unwrap();
        w.clear();
        assert_eq!(w.append(id, b"second", 100), Err(UnknownWriter));
        assert!(w.take(id).is_none());
        let other = w.append(-1, b"other", 100).unwrap();
        assert_eq!(w.append(id, b"late", 100), Err(UnknownWriter));
        assert_eq!(w.take(other).unwrap(), b"other");
    }
}
