//! `PacketBuf`: an outgoing packet built back to front. A transport writes its header
//! and payload once; each lower layer prepends its header into reserved headroom
//! (gVisor's `MaxHeaderLength` idea), so nothing is copied on the way down.

use bytes::{Buf, Bytes};

/// Headroom every locally built packet reserves: Ethernet (14) plus the largest IP
/// header we emit (IPv4 with options: 60; IPv6 with extension headers fits too).
pub const MAX_HEADER_LEN: usize = 14 + 66;

#[derive(Clone, Debug)]
pub struct PacketBuf {
    buf: Vec<u8>,
    head: usize,
}

impl PacketBuf {
    /// A zeroed packet of `len` bytes with `MAX_HEADER_LEN` of headroom.
    pub fn new(len: usize) -> PacketBuf {
        PacketBuf::with_headroom(MAX_HEADER_LEN, len)
    }

    pub fn with_headroom(headroom: usize, len: usize) -> PacketBuf {
        PacketBuf { buf: vec![0; headroom + len], head: headroom }
    }

    /// A packet of `head` zeroed bytes followed by a copy of `tail`, with full headroom;
    /// the tail is not zeroed first (a segment's payload is most of its bytes).
    pub fn with_tail(head: usize, tail: &[u8]) -> PacketBuf {
        let mut buf = Vec::with_capacity(MAX_HEADER_LEN + head + tail.len());
        buf.resize(MAX_HEADER_LEN + head, 0);
        buf.extend_from_slice(tail);
        PacketBuf { buf, head: MAX_HEADER_LEN }
    }

    /// A packet holding a copy of `data`, with full headroom.
    pub fn from_slice(data: &[u8]) -> PacketBuf {
        let mut p = PacketBuf::new(data.len());
        p.data_mut().copy_from_slice(data);
        p
    }

    pub fn len(&self) -> usize {
        self.buf.len() - self.head
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn headroom(&self) -> usize {
        self.head
    }

    pub fn data(&self) -> &[u8] {
        &self.buf[self.head..]
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.head..]
    }

    /// Grows the packet at the front by `n` bytes and returns them (zeroed if the
    /// headroom was fresh). Reallocates only if the headroom is short.
    pub fn prepend(&mut self, n: usize) -> &mut [u8] {
        if n > self.head {
            let grow = n - self.head + MAX_HEADER_LEN;
            let mut v = vec![0; grow + self.buf.len()];
            v[grow..].copy_from_slice(&self.buf);
            self.buf = v;
            self.head += grow;
        }
        self.head -= n;
        let h = self.head;
        &mut self.buf[h..h + n]
    }

    /// Drops `n` bytes from the front (e.g. to strip a header before re-queueing).
    pub fn pull(&mut self, n: usize) {
        assert!(n <= self.len(), "pull past end of packet");
        self.head += n;
    }

    /// Keeps only the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(self.head + len);
    }

    pub fn into_bytes(self) -> Bytes {
        // `advance`, not `slice`: slicing would promote the buffer to a shared,
        // separately allocated one.
        let mut b = Bytes::from(self.buf);
        b.advance(self.head);
        b
    }
}
