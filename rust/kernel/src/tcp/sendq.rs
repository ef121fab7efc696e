//! The unsent part of the send buffer: user bytes not yet handed to a segment.
//!
//! Bytes live in chunks of at least `CHUNK` bytes, so a `send` copies the user's data
//! once and a segment takes its payload by reference (`Bytes::split_to`) without copying
//! again. A chunk whose earlier bytes still sit in the retransmit queue is never grown
//! in place (that would copy everything unsent, `BytesMut::reserve` on a shared buffer);
//! a new chunk starts instead. Only a segment that straddles two chunks is copied.

use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;

/// Allocation unit: large enough to amortize allocation, small enough to stay off mmap.
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct SendQueue {
    chunks: VecDeque<BytesMut>,
    len: usize,
}

impl SendQueue {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }

    /// Appends a copy of `data`.
    pub fn append(&mut self, mut data: &[u8]) {
        self.len += data.len();
        while !data.is_empty() {
            let spare = self.chunks.back().map_or(0, |c| c.capacity() - c.len());
            if spare == 0 {
                self.chunks.push_back(BytesMut::with_capacity(CHUNK));
                continue;
            }
            let n = spare.min(data.len());
            if let Some(c) = self.chunks.back_mut() {
                c.extend_from_slice(&data[..n]);
            }
            data = &data[n..];
        }
    }

    /// Removes and returns the first `len` bytes (at most `self.len()`).
    pub fn take(&mut self, len: usize) -> Bytes {
        let len = len.min(self.len);
        self.len -= len;
        let Some(front) = self.chunks.front_mut() else { return Bytes::new() };
        if front.len() >= len {
            let out = front.split_to(len).freeze();
            if front.is_empty() && front.capacity() == 0 {
                self.chunks.pop_front();
            }
            return out;
        }
        // The segment straddles chunks: gather it (at most one MSS copied).
        let mut out = BytesMut::with_capacity(len);
        while out.len() < len {
            let Some(front) = self.chunks.front_mut() else { break };
            let n = front.len().min(len - out.len());
            out.extend_from_slice(&front.split_to(n));
            if front.is_empty() {
                self.chunks.pop_front();
            }
        }
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_come_out_in_order_across_chunks() {
        let mut q = SendQueue::default();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        for part in data.chunks(7_000) {
            q.append(part);
        }
        assert_eq!(q.len(), data.len());
        let mut out = Vec::new();
        while !q.is_empty() {
            out.extend_from_slice(&q.take(1448));
        }
        assert_eq!(out, data);
        assert!(q.take(10).is_empty());
    }

    #[test]
    fn taken_segments_stay_valid_while_appending() {
        let mut q = SendQueue::default();
        q.append(&[1; 100]);
        let a = q.take(60);
        q.append(&[2; CHUNK]);
        let b = q.take(100);
        assert_eq!(&a[..], &[1; 60][..]);
        assert_eq!(&b[..40], &[1; 40][..]);
        assert_eq!(&b[40..], &[2; 60][..]);
        assert_eq!(q.len(), CHUNK - 60);
    }
}
