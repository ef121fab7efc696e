//! Reassembly of fragmented datagrams (RFC 791 §3.2, RFC 815; Linux `ip_fragment.c`
//! `ip_defrag`/`ip_frag_queue`/`ip_expire` and `inet_fragment.c`).
//!
//! Queues are keyed by (src, dst, id, protocol). Linux rules kept here: an overlapping
//! fragment kills the whole datagram (`IPFRAG_OVERLAP`, RFC 5722 applied to v4); a
//! fragment wholly inside data already held is a duplicate and is ignored
//! (`IPFRAG_DUP`); contradictory ends or an empty fragment kill the queue; memory is
//! bounded by `ipfrag_high_thresh` (no fragment is accepted above it); a queue lives
//! `ipfrag_time` seconds and its expiry sends ICMP time exceeded (fragment reassembly)
//! when the first fragment had arrived.

use super::icmp;
use crate::Nanos;
use crate::net::Net;
use crate::wire::icmpv4::{exceeded, ty};
use crate::wire::ipv4::{Ipv4Packet, MAX_PACKET_LEN};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

type FragKey = (Ipv4Addr, Ipv4Addr, u16, u8);

/// Bytes charged per fragment on top of its payload (stand-in for skb truesize).
const FRAG_OVERHEAD: usize = 256;

struct FragQueue {
    /// offset -> payload bytes; never overlapping.
    frags: BTreeMap<usize, Vec<u8>>,
    /// Header (with options) of the fragment at offset 0.
    first_header: Option<Vec<u8>>,
    /// Known or provisional total payload length (`q.len`).
    len: usize,
    last_in: bool,
    /// Payload bytes held (`q.meat`).
    meat: usize,
    mem: usize,
    deadline: Nanos,
}

#[derive(Default)]
pub(super) struct FragQueues {
    queues: BTreeMap<FragKey, FragQueue>,
    timers: BTreeSet<(Nanos, FragKey)>,
    /// Memory held by all queues (`frag_mem_limit`).
    mem: usize,
}

enum Insert {
    Ok,
    Dup,
    Overlap,
}

impl FragQueue {
    /// `inet_frag_queue_insert`.
    fn insert(&mut self, offset: usize, data: &[u8]) -> Insert {
        let end = offset + data.len();
        // Fragments that intersect [offset, end), in order.
        let hits: Vec<(usize, usize)> = self
            .frags
            .range(..end)
            .rev()
            .take_while(|(o, d)| *o + d.len() > offset)
            .map(|(o, d)| (*o, *o + d.len()))
            .collect();
        if !hits.is_empty() {
            // Covered without a gap by what we hold: a duplicate.
            let mut h = hits;
            h.reverse();
            let mut covered = h[0].0 <= offset;
            let mut reach = h[0].1;
            for w in h.windows(2) {
                covered &= w[1].0 == w[0].1;
                reach = w[1].1;
            }
            return if covered && reach >= end { Insert::Dup } else { Insert::Overlap };
        }
        self.frags.insert(offset, data.to_vec());
        Insert::Ok
    }
}

impl FragQueues {
    pub(super) fn next_deadline(&self) -> Option<Nanos> {
        self.timers.first().map(|t| t.0)
    }

    fn kill(&mut self, key: FragKey) -> Option<FragQueue> {
        let q = self.queues.remove(&key)?;
        self.timers.remove(&(q.deadline, key));
        self.mem -= q.mem;
        Some(q)
    }
}

/// `ip_defrag`: adds one fragment (a validated IP packet) and returns the whole
/// datagram once complete.
pub(super) fn defrag(now: Nanos, net: &mut Net, packet: &[u8]) -> Option<Vec<u8>> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    let mib = &mut net.ipv4.mib;
    mib.reasm_reqds += 1;
    let fq = &mut net.ipv4.frags;
    if fq.mem > net.sysctl.ipv4.ipfrag_high_thresh as usize {
        mib.reasm_fails += 1;
        return None;
    }
    let key = (ip.src_addr(), ip.dst_addr(), ip.ident(), ip.protocol());
    let ipfrag_time = Nanos::from(net.sysctl.ipv4.ipfrag_time) * 1_000_000_000;
    let q = fq.queues.entry(key).or_insert_with(|| {
        let deadline = now + ipfrag_time;
        fq.timers.insert((deadline, key));
        FragQueue {
            frags: BTreeMap::new(),
            first_header: None,
            len: 0,
            last_in: false,
            meat: 0,
            mem: 0,
            deadline,
        }
    });
    let offset = ip.frag_offset();
    let mut data = ip.payload();
    let mut end = offset + data.len();
    let corrupt = if !ip.more_frags() {
        // The last fragment: nothing may lie beyond it, and ends must agree.
        let bad = end < q.len || (q.last_in && end != q.len);
        q.last_in = true;
        q.len = end;
        bad
    } else {
        // Non-final fragments carry multiples of 8 bytes; trim the rest.
        end &= !7;
        data = &data[..end - offset.min(end)];
        let bad = end > q.len && q.last_in;
        q.len = q.len.max(end);
        bad
    };
    if corrupt || end <= offset || ip.header_len() + q.len > MAX_PACKET_LEN {
        fq.kill(key);
        mib.reasm_fails += 1;
        return None;
    }
    match q.insert(offset, data) {
        Insert::Ok => {}
        Insert::Dup => return None,
        Insert::Overlap => {
            fq.kill(key);
            mib.reasm_overlaps += 1;
            mib.reasm_fails += 1;
            return None;
        }
    }
    if offset == 0 {
        q.first_header = Some(ip.header().to_vec());
    }
    q.meat += data.len();
    let charge = data.len() + FRAG_OVERHEAD;
    q.mem += charge;
    fq.mem += charge;
    if !(q.last_in && q.first_header.is_some() && q.meat == q.len) {
        return None;
    }
    let mut q = fq.kill(key)?;
    let hdr = q.first_header.take()?;
    // `ip_frag_reasm` "out_oversize": the head's options may push it past 64 KiB.
    if hdr.len() + q.len > MAX_PACKET_LEN {
        mib.reasm_fails += 1;
        return None;
    }
    mib.reasm_oks += 1;
    Some(reassemble(hdr, q))
}

/// `ip_frag_reasm`: the first fragment's header with the total length restored and the
/// fragment fields cleared.
fn reassemble(hdr: Vec<u8>, q: FragQueue) -> Vec<u8> {
    let mut out = Vec::with_capacity(hdr.len() + q.len);
    out.extend_from_slice(&hdr);
    for d in q.frags.values() {
        out.extend_from_slice(d);
    }
    let mut p = Ipv4Packet::new_unchecked(&mut out[..]);
    p.set_total_len((hdr.len() + q.len) as u16);
    let df = p.dont_frag();
    p.set_frag(df, false, 0);
    p.fill_checksum();
    out
}

/// `ip_expire` for every queue whose time is up.
pub(super) fn expire(now: Nanos, net: &mut Net) {
    while let Some(&(at, key)) = net.ipv4.frags.timers.first() {
        if at > now {
            break;
        }
        let Some(q) = net.ipv4.frags.kill(key) else {
            net.ipv4.frags.timers.remove(&(at, key));
            continue;
        };
        net.ipv4.mib.reasm_fails += 1;
        net.ipv4.mib.reasm_timeout += 1;
        tracing::debug!(target: "libos::ipv4", src = %key.0, dst = %key.1, id = key.2, "reassembly timeout");
        // Only when the first fragment arrived can the error quote it (RFC 792).
        if let (Some(mut head), Some(first)) = (q.first_header, q.frags.get(&0)) {
            head.extend_from_slice(first);
            let mut p = Ipv4Packet::new_unchecked(&mut head[..]);
            let len = p.header_len() + first.len();
            p.set_total_len(len as u16);
            p.fill_checksum();
            icmp::send(now, net, &head, ty::TIME_EXCEEDED, exceeded::FRAGTIME, 0, false);
        }
    }
}

#[cfg(test)]
mod tests;
