//! Which components of this process are running, for `/readyz`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Shared, cheap to clone; each component reports itself.
#[derive(Clone, Default, Debug)]
pub struct Health(Arc<Mutex<BTreeMap<&'static str, bool>>>);

impl Health {
    /// Marks `component` as running or stopped.
    pub fn set(&self, component: &'static str, running: bool) {
        self.lock().insert(component, running);
    }

    /// Every registered component and whether it runs.
    pub fn snapshot(&self) -> BTreeMap<&'static str, bool> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, bool>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
