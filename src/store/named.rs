//! Process-wide stores by name: every thread that opens a name gets the same
//! store. The registry holds weak references, so a store is freed when its
//! last handle goes.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Weak};

use parking_lot::Mutex;

pub struct Registry<T>(LazyLock<Mutex<HashMap<String, Weak<T>>>>);

impl<T> Registry<T> {
    pub const fn new() -> Self {
        Registry(LazyLock::new(Default::default))
    }

    /// The live store called `name` if `accept` agrees to share it (e.g. its
    /// limits match), else `Err` from `accept`; a new one from `create` when
    /// there is none.
    pub fn open<E>(
        &self,
        name: &str,
        create: impl FnOnce() -> T,
        accept: impl FnOnce(&T) -> Result<(), E>,
    ) -> Result<Arc<T>, E> {
        let mut named = self.0.lock();
        if let Some(store) = named.get(name).and_then(Weak::upgrade) {
            accept(&store)?;
            return Ok(store);
        }
        named.retain(|_, weak| weak.strong_count() > 0);
        let store = Arc::new(create());
        named.insert(name.to_owned(), Arc::downgrade(&store));
        Ok(store)
    }
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Self::new()
    }
}
