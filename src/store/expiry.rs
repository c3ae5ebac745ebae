//! `ExpiryQueue`: ids by the time they stop being served, soonest first.
//! Shared by the stores; entries removed by other paths leave their items
//! behind, so callers compact it against their live entries.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Debug, Clone, Copy)]
struct Item {
    at: f64,
    id: u64,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item {
    // Reversed: `BinaryHeap` is a max-heap, the soonest expiry must be on top.
    fn cmp(&self, other: &Self) -> Ordering {
        other.at.total_cmp(&self.at).then(other.id.cmp(&self.id))
    }
}

#[derive(Debug, Default)]
pub struct ExpiryQueue {
    heap: BinaryHeap<Item>,
}

impl ExpiryQueue {
    pub fn push(&mut self, at: f64, id: u64) {
        self.heap.push(Item { at, id });
    }

    /// The next id whose time is at or before `now`, taken off the queue.
    pub fn pop_due(&mut self, now: f64) -> Option<u64> {
        if self.heap.peek()?.at > now {
            return None;
        }
        self.heap.pop().map(|item| item.id)
    }

    /// Rebuilds the queue from the live `(at, id)` pairs once stale items
    /// outnumber them, keeping it proportional to what is stored.
    pub fn compact<I: Iterator<Item = (f64, u64)>>(
        &mut self,
        live: usize,
        items: impl FnOnce() -> I,
    ) {
        if self.heap.len() > 2 * live + 1024 {
            self.heap = items().map(|(at, id)| Item { at, id }).collect();
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn clear(&mut self) {
        self.heap.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soonest_first_and_only_when_due() {
        let mut q = ExpiryQueue::default();
        q.push(30.0, 3);
        q.push(10.0, 1);
        q.push(f64::INFINITY, 9);
        q.push(20.0, 2);
        assert_eq!(q.pop_due(5.0), None);
        assert_eq!(q.pop_due(25.0), Some(1));
        assert_eq!(q.pop_due(25.0), Some(2));
        assert_eq!(q.pop_due(25.0), None);
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn compacts_to_the_live_items() {
        let mut q = ExpiryQueue::default();
        for id in 0..3000 {
            q.push(id as f64, id);
        }
        q.compact(10, || (0..10).map(|id| (id as f64, id)));
        assert_eq!(q.len(), 10);
    }
}
