//! Reassembly of fragmented datagrams (RFC 791 §3.2, RFC 815; Linux `ip_fragment.c`
//! `ip_defrag`/`ip_frag_queue`/`ip_frag_reasm`/`ip_expire`).
//!
//! Queues are keyed by (src, dst, id, protocol) and kept by the queue shared with IPv6
//! (`inet_fragment.rs`: duplicates ignored, overlaps kill the datagram as Linux's
//! `IPFRAG_OVERLAP`, no fragment accepted above `ipfrag_high_thresh`). IPv4's own rules:
//! a non-final fragment is trimmed to a multiple of 8 bytes; a datagram past 64 KiB is
//! dropped; after `ipfrag_time` seconds the queue expires, sending ICMP time exceeded
//! (fragment reassembly) when the first fragment had arrived.

use super::icmp;
use super::inet_fragment::Frag;
use crate::Nanos;
use crate::net::Net;
use crate::wire::icmpv4::{exceeded, ty};
use crate::wire::ipv4::{Ipv4Packet, MAX_PACKET_LEN};
use std::net::Ipv4Addr;

type FragKey = (Ipv4Addr, Ipv4Addr, u16, u8);

/// The IPv4 queues, keyed by (src, dst, id, protocol).
pub(super) type FragQueues = super::inet_fragment::FragQueues<FragKey>;

/// `ip_defrag`: adds one fragment (a validated IP packet) and returns the whole
/// datagram once complete.
pub(super) fn defrag(now: Nanos, net: &mut Net, packet: &[u8]) -> Option<Vec<u8>> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    let mib = &mut net.ipv4.mib;
    mib.reasm_reqds += 1;
    let fq = &mut net.ipv4.frags;
    let key = (ip.src_addr(), ip.dst_addr(), ip.ident(), ip.protocol());
    let ipfrag_time = Nanos::from(net.sysctl.ipv4.ipfrag_time) * 1_000_000_000;
    if !fq.find(now, key, net.sysctl.ipv4.ipfrag_high_thresh as usize, ipfrag_time) {
        mib.reasm_fails += 1;
        return None;
    }
    let offset = ip.frag_offset();
    let mut data = ip.payload();
    if ip.more_frags() {
        // Non-final fragments carry multiples of 8 bytes; trim the rest.
        data = &data[..data.len() & !7];
    }
    let max_len = MAX_PACKET_LEN - ip.header_len();
    let frag = Frag { offset, data, more: ip.more_frags(), max_len };
    let mut out = match fq.queue(key, frag, || ip.header().to_vec()) {
        Ok(Some(out)) => out,
        Ok(None) => return None,
        Err(e) => {
            e.count(&mut mib.reasm_fails, &mut mib.reasm_overlaps);
            return None;
        }
    };
    // `ip_frag_reasm` "out_oversize": the head's options may push it past 64 KiB.
    if out.len() > MAX_PACKET_LEN {
        mib.reasm_fails += 1;
        return None;
    }
    mib.reasm_oks += 1;
    reassemble(&mut out);
    Some(out)
}

/// `ip_frag_reasm`: the first fragment's header with the total length restored and the
/// fragment fields cleared.
fn reassemble(out: &mut [u8]) {
    let len = out.len();
    let mut p = Ipv4Packet::new_unchecked(out);
    p.set_total_len(len as u16);
    let df = p.dont_frag();
    p.set_frag(df, false, 0);
    p.fill_checksum();
}

/// `ip_expire` for every queue whose time is up.
pub(super) fn expire(now: Nanos, net: &mut Net) {
    while let Some(q) = net.ipv4.frags.pop_expired(now, None) {
        net.ipv4.mib.reasm_fails += 1;
        net.ipv4.mib.reasm_timeout += 1;
        let (src, dst, id, _) = q.key;
        tracing::debug!(target: "libos::ipv4", %src, %dst, id, "reassembly timeout");
        // Only when the first fragment arrived can the error quote it (RFC 792).
        if let Some(mut head) = q.first {
            let len = head.len();
            let mut p = Ipv4Packet::new_unchecked(&mut head[..]);
            p.set_total_len(len as u16);
            p.fill_checksum();
            icmp::send(now, net, &head, ty::TIME_EXCEEDED, exceeded::FRAGTIME, 0, false);
        }
    }
}

#[cfg(test)]
mod tests;
