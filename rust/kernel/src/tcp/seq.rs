//! Sequence numbers: 32-bit modular arithmetic (RFC 9293 §3.4, RFC 1982 comparison,
//! Linux `before()`/`after()`).

use core::{cmp, fmt, ops};

/// A TCP sequence number. Ordering is modular: `a < b` iff `(b - a) as i32 > 0`, which
/// is only meaningful for numbers less than 2^31 apart (always true inside a window).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// Signed distance `self - other`.
    pub fn diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// `self - other` as a length; 0 if `self` is before `other`.
    pub fn dist(self, other: SeqNumber) -> usize {
        self.diff(other).max(0) as usize
    }

    pub fn max(self, other: SeqNumber) -> SeqNumber {
        if self > other { self } else { other }
    }

    pub fn min(self, other: SeqNumber) -> SeqNumber {
        if self < other { self } else { other }
    }

    /// `lo <= self < hi` in sequence space.
    pub fn in_range(self, lo: SeqNumber, hi: SeqNumber) -> bool {
        self >= lo && self < hi
    }
}

impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &Self) -> Option<cmp::Ordering> {
        Some(self.diff(*other).cmp(&0))
    }
}

impl ops::Add<usize> for SeqNumber {
    type Output = SeqNumber;
    fn add(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs as u32))
    }
}

impl ops::Sub<usize> for SeqNumber {
    type Output = SeqNumber;
    fn sub(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs as u32))
    }
}

impl ops::AddAssign<usize> for SeqNumber {
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl fmt::Debug for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps() {
        let a = SeqNumber(u32::MAX - 1);
        let b = a + 4;
        assert_eq!(b.0, 2);
        assert!(a < b);
        assert_eq!(b.diff(a), 4);
        assert_eq!(b.dist(a), 4);
        assert_eq!(a.dist(b), 0);
        assert!(SeqNumber(1).in_range(a, b));
        assert_eq!(a.max(b), b);
    }
}
