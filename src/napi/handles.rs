//! The per-thread table of store handles both store bindings use. Hot calls
//! take a `u32` slot number (a plain number argument) instead of unwrapping an
//! `External` (about 100 ns cheaper per call in napi-rs 3.16); the `External`
//! the JS object also holds owns a [`Slot`], which frees the slot when the
//! object is collected.

use std::cell::RefCell;
use std::rc::Rc;
use std::thread::LocalKey;

use napi::bindgen_prelude::{Error, Result, Status};

/// Handles of one kind on one thread, by slot; a freed slot is reused.
pub struct HandleTable<H>(RefCell<Vec<Option<Rc<H>>>>);

impl<H> Default for HandleTable<H> {
    fn default() -> Self {
        HandleTable::new()
    }
}

impl<H> HandleTable<H> {
    pub const fn new() -> Self {
        HandleTable(RefCell::new(Vec::new()))
    }

    /// Stores `handle` in a free slot and returns its number.
    fn insert(&self, handle: H) -> usize {
        let mut slots = self.0.borrow_mut();
        let handle = Some(Rc::new(handle));
        match slots.iter().position(Option::is_none) {
            Some(i) => {
                slots[i] = handle;
                i
            }
            None => {
                slots.push(handle);
                slots.len() - 1
            }
        }
    }

    /// The handle in `slot`, or an error once its owner was collected.
    fn get(&self, slot: u32) -> Result<Rc<H>> {
        self.0
            .borrow()
            .get(slot as usize)
            .and_then(Clone::clone)
            .ok_or_else(|| Error::new(Status::InvalidArg, "store handle is closed".to_owned()))
    }

    fn free(&self, slot: usize) {
        if let Some(entry) = self.0.borrow_mut().get_mut(slot) {
            *entry = None;
        }
    }
}

/// Owned by the JS store object (inside an `External`): frees its slot when
/// collected.
pub struct Slot<H: 'static> {
    index: usize,
    table: &'static LocalKey<HandleTable<H>>,
}

impl<H: 'static> Drop for Slot<H> {
    fn drop(&mut self) {
        // `try_with`: during thread teardown the table may already be gone.
        let _ = self.table.try_with(|t| t.free(self.index));
    }
}

/// Puts `handle` in this thread's `table`; returns the slot number for calls
/// and the owner that frees it.
pub fn open<H: 'static>(table: &'static LocalKey<HandleTable<H>>, handle: H) -> (u32, Slot<H>) {
    let index = table.with(|t| t.insert(handle));
    (index as u32, Slot { index, table })
}

/// The handle in `slot` of this thread's `table`.
pub fn get<H: 'static>(table: &'static LocalKey<HandleTable<H>>, slot: u32) -> Result<Rc<H>> {
    table.with(|t| t.get(slot))
}
