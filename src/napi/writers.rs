//! Response bodies being written from JS, shared by both store bindings: a
//! stream's chunks are copied into a Rust buffer as they arrive (the JS
//! Buffers are then free to go), and the finished buffer becomes the entry's
//! `Bytes` on commit without another copy.

/// Open writers of one store handle, addressed by small integer ids that the
/// JS shell keeps on its Writable (a freed id is reused by the next writer).
#[derive(Default)]
pub struct BodyWriters(Vec<Option<Vec<u8>>>);

impl BodyWriters {
    /// Appends `chunk` to writer `writer` (negative: opens a new writer) and
    /// returns its id, or -1 when the body would pass `max` bytes (the writer is
    /// then dropped: a body of exactly `max` bytes is kept) or `writer` is not
    /// open.
    pub fn append(&mut self, writer: i32, chunk: &[u8], max: u64) -> i32 {
        let index = if writer < 0 {
            match self.0.iter().position(Option::is_none) {
                Some(i) => {
                    self.0[i] = Some(Vec::new());
                    i
                }
                None => {
                    self.0.push(Some(Vec::new()));
                    self.0.len() - 1
                }
            }
        } else {
            writer as usize
        };
        let Some(Some(body)) = self.0.get_mut(index) else {
            return -1;
        };
        if (body.len() + chunk.len()) as u64 > max {
            self.0[index] = None;
            return -1;
        }
        if body.is_empty() {
            body.reserve_exact(chunk.len());
        }
        body.extend_from_slice(chunk);
        index as i32
    }

    /// Drops an unfinished body (a negative or unknown id is a no-op).
    pub fn abort(&mut self, writer: i32) {
        if writer >= 0 {
            if let Some(body) = self.0.get_mut(writer as usize) {
                *body = None;
            }
        }
    }

    /// Takes the finished body of `writer`; a negative id is an empty body,
    /// `None` an id that is not open.
    pub fn take(&mut self, writer: i32) -> Option<Vec<u8>> {
        if writer < 0 {
            return Some(Vec::new());
        }
        self.0.get_mut(writer as usize).and_then(Option::take)
    }

    /// Drops every unfinished body.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_of_exactly_max_is_kept_one_byte_more_drops_the_writer() {
        // undici's stores pin this: maxEntrySize bytes are cached, one more is not.
        let mut w = BodyWriters::default();
        let id = w.append(-1, b"abc", 5);
        assert_eq!(id, 0);
        assert_eq!(w.append(id, b"de", 5), 0);
        assert_eq!(w.take(id).unwrap(), b"abcde");

        let id = w.append(-1, b"abc", 5);
        assert_eq!(w.append(id, b"def", 5), -1);
        assert!(w.take(id).is_none(), "a dropped writer has no body");
        assert_eq!(w.append(id, b"x", 5), -1, "a dropped writer stays closed");
    }

    #[test]
    fn ids_are_reused_and_bodies_stay_apart() {
        let mut w = BodyWriters::default();
        let a = w.append(-1, b"a", 100);
        let b = w.append(-1, b"b", 100);
        assert_ne!(a, b);
        w.abort(a);
        let c = w.append(-1, b"c", 100);
        assert_eq!(c, a, "a freed id is reused");
        assert_eq!(w.take(b).unwrap(), b"b");
        assert_eq!(w.take(c).unwrap(), b"c");
        assert_eq!(w.take(-1).unwrap(), b"", "a negative id is an empty body");
        assert!(w.take(7).is_none());
        w.abort(-3);
        w.abort(99);
    }
}
