//! A timer owner's earliest deadline, remembered until the owner changes.
//!
//! The host asks `Kernel::next_deadline` after every entry point. Owners whose timers
//! change rarely (IPv6 address and router lifetimes, IGMP reports) would otherwise be
//! walked for every frame. Every mutable access goes through `DerefMut`, which forgets
//! the remembered deadline, so no call site can move a timer without the cache noticing.
//! Deadlines are absolute times: the passing of time alone never changes them.

use crate::Nanos;
use std::cell::Cell;
use std::ops::{Deref, DerefMut};

/// Something that owns timers.
pub trait Timers {
    /// The earliest time one of them fires, if any is armed.
    fn next_deadline(&self) -> Option<Nanos>;
}

#[derive(Default)]
pub struct DeadlineCached<T> {
    inner: T,
    /// `Some(d)`: `inner.next_deadline()` was `d` and `inner` has not changed since.
    memo: Cell<Option<Option<Nanos>>>,
}

impl<T: Timers> DeadlineCached<T> {
    pub fn next_deadline(&self) -> Option<Nanos> {
        if let Some(d) = self.memo.get() {
            return d;
        }
        let d = self.inner.next_deadline();
        self.memo.set(Some(d));
        d
    }
}

impl<T> Deref for DeadlineCached<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T> DerefMut for DeadlineCached<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.memo.set(None);
        &mut self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Alarm(Option<Nanos>, Cell<u32>);

    impl Timers for Alarm {
        fn next_deadline(&self) -> Option<Nanos> {
            self.1.set(self.1.get() + 1);
            self.0
        }
    }

    #[test]
    fn walks_once_until_changed() {
        let mut a = DeadlineCached::<Alarm>::default();
        assert_eq!(a.next_deadline(), None);
        assert_eq!(a.next_deadline(), None);
        assert_eq!(a.1.get(), 1, "second ask served from the memo");
        a.0 = Some(5);
        assert_eq!(a.next_deadline(), Some(5), "a write through DerefMut forgets the memo");
        assert_eq!(a.1.get(), 2);
        let _ = &mut *a;
        assert_eq!(a.next_deadline(), Some(5));
        assert_eq!(a.1.get(), 3, "any mutable borrow counts as a change");
    }
}
