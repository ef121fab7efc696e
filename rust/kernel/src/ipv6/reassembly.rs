//! IPv6 reassembly (RFC 8200 §4.5; Linux `net/ipv6/reassembly.c` `ipv6_frag_rcv`,
//! `ip6_frag_queue`, `ip6_frag_reasm`, `ip6_frag_expire`).
//!
//! Queues are keyed by (src, dst, identification). Rules kept as Linux: an overlapping
//! fragment drops the whole datagram (RFC 5722); a fragment wholly inside held data is
//! a duplicate and ignored; an atomic fragment (offset 0, M = 0) is processed at once
//! outside any queue (RFC 6946); a non-final fragment not a multiple of 8 bytes, or a
//! datagram past 65535 bytes, is a Parameter Problem; memory is bounded by
//! `ip6frag_high_thresh` (above it every new fragment is dropped) and a queue lives
//! `ip6frag_time` seconds, its expiry sending Time Exceeded code 1 when the first
//! fragment had come.

use crate::Nanos;
use crate::ipv4::inet_fragment::{self, Frag};
use crate::net::Net;
use crate::wire::icmpv6::ty;
use crate::wire::ipv6::{HEADER_LEN, nexthdr};
use std::net::Ipv6Addr;

type FragKey = (Ipv6Addr, Ipv6Addr, u32);

/// Largest payload an IPv6 datagram without a jumbogram can carry.
const MAX_PAYLOAD: usize = 65535;

/// The IPv6 queues, keyed by (src, dst, identification).
pub type Frag6Queues = inet_fragment::FragQueues<FragKey>;

/// What `defrag` made of a fragment.
pub enum Defrag {
    /// Not complete yet, or dropped (counted).
    Held,
    /// The whole datagram, fragment header removed.
    Done(Vec<u8>),
    /// Parameter Problem with this code and pointer (`ipv6_frag_rcv`'s `prob_offset`).
    Problem(u8, u32),
}

/// Where the Fragment header starts in `packet` and where the next-header field that
/// names it is. None if the chain is cut short before it.
fn find_frag_header(packet: &[u8]) -> Option<(usize, usize)> {
    let mut nh = *packet.get(6)?;
    let mut nh_at = 6;
    let mut off = HEADER_LEN;
    for _ in 0..64 {
        match nh {
            nexthdr::FRAGMENT => return Some((off, nh_at)),
            nexthdr::HOP_BY_HOP | nexthdr::DEST_OPTS | nexthdr::ROUTING => {
                let len = (usize::from(*packet.get(off + 1)?) + 1) * 8;
                nh = *packet.get(off)?;
                nh_at = off;
                off += len;
            }
            _ => return None,
        }
    }
    None
}

/// `ipv6_frag_rcv`: one fragment (a whole, length-trimmed IPv6 packet).
pub fn defrag(now: Nanos, net: &mut Net, packet: &[u8]) -> Defrag {
    let v6 = &mut *net.ipv6;
    let mib = &mut v6.mib;
    mib.reasm_reqds += 1;
    let Some((fh, nh_at)) = find_frag_header(packet) else {
        mib.reasm_fails += 1;
        return Defrag::Held;
    };
    let Some(h) = packet.get(fh..fh + 8) else {
        mib.in_truncated_pkts += 1;
        mib.reasm_fails += 1;
        return Defrag::Held;
    };
    let word = u16::from_be_bytes([h[2], h[3]]);
    let (offset, more) = (usize::from(word & !7), word & 1 != 0);
    let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
    let data = &packet[fh + 8..];
    // RFC 6946: an atomic fragment is the whole datagram.
    if offset == 0 && !more {
        mib.reasm_oks += 1;
        return Defrag::Done(strip(packet, fh, nh_at, h[0], data));
    }
    // RFC 8200 §4.5 (RFC 7112): the first fragment holds the whole header chain and
    // the upper-layer header (`ipv6frag_thdr_truncated`): else Parameter Problem code 3.
    if offset == 0 && upper_header_truncated(h[0], data) {
        mib.in_hdr_errors += 1;
        return Defrag::Problem(3, 0);
    }
    let fq = &mut v6.frags;
    let key = (src_of(packet), dst_of(packet), id);
    let frag_time = Nanos::from(net.sysctl.ipv6.ip6frag_time) * 1_000_000_000;
    if !fq.find(now, key, net.sysctl.ipv6.ip6frag_high_thresh as usize, frag_time) {
        mib.reasm_fails += 1;
        return Defrag::Held;
    }
    // `ip6_frag_queue`: past 65535 bytes, or a non-final fragment not ending on an
    // 8-byte boundary, is a Parameter Problem; the queue (maybe just created) stays and
    // expires as Linux's does.
    if offset + data.len() > MAX_PAYLOAD {
        mib.in_hdr_errors += 1;
        return Defrag::Problem(0, (fh + 2) as u32);
    }
    if more && !data.len().is_multiple_of(8) {
        mib.in_hdr_errors += 1;
        return Defrag::Problem(0, 4);
    }
    let frag = Frag { offset, data, more, max_len: MAX_PAYLOAD };
    let head = || {
        let mut head = packet[..fh].to_vec();
        head[nh_at] = h[0];
        head
    };
    let mut out = match fq.queue(key, frag, head) {
        Ok(Some(out)) => out,
        Ok(None) => return Defrag::Held,
        Err(e) => {
            e.count(&mut mib.reasm_fails, &mut mib.reasm_overlaps);
            return Defrag::Held;
        }
    };
    if out.len() - HEADER_LEN > MAX_PAYLOAD {
        mib.reasm_fails += 1;
        return Defrag::Held;
    }
    set_payload_len(&mut out);
    mib.reasm_oks += 1;
    Defrag::Done(out)
}

/// Whether a first fragment's data (after the Fragment header, starting with header
/// `nh`) stops before the end of its upper-layer header (TCP 20, UDP 8, ICMPv6 8 bytes,
/// one byte of anything else).
fn upper_header_truncated(nh: u8, data: &[u8]) -> bool {
    match crate::wire::ipv6::walk_extensions(nh, data) {
        Ok(u) => {
            let need = match u.protocol {
                nexthdr::TCP => 20,
                nexthdr::UDP | nexthdr::ICMPV6 => 8,
                nexthdr::NONE => 0,
                _ => 1,
            };
            data.len() < u.offset + need
        }
        Err(crate::wire::ipv6::ExtError::Truncated) => true,
        Err(_) => false,
    }
}

fn src_of(p: &[u8]) -> Ipv6Addr {
    Ipv6Addr::from(<[u8; 16]>::try_from(&p[8..24]).unwrap_or_default())
}

fn dst_of(p: &[u8]) -> Ipv6Addr {
    Ipv6Addr::from(<[u8; 16]>::try_from(&p[24..40]).unwrap_or_default())
}

fn set_payload_len(p: &mut [u8]) {
    let len = (p.len() - HEADER_LEN) as u16;
    p[4..6].copy_from_slice(&len.to_be_bytes());
}

/// The packet without its Fragment header.
fn strip(packet: &[u8], fh: usize, nh_at: usize, next: u8, data: &[u8]) -> Vec<u8> {
    let mut out = packet[..fh].to_vec();
    out[nh_at] = next;
    out.extend_from_slice(data);
    set_payload_len(&mut out);
    out
}

/// `ip6_frag_expire` for every queue whose time is up; also trims memory down to
/// `ip6frag_low_thresh` once above the high mark (`inet_frag_worker` eviction), oldest
/// first.
pub fn expire(now: Nanos, net: &mut Net) {
    let high = net.sysctl.ipv6.ip6frag_high_thresh as usize;
    let evict_to = (net.ipv6.frags.mem() > high).then_some(net.sysctl.ipv6.ip6frag_low_thresh);
    while let Some(q) = net.ipv6.frags.pop_expired(now, evict_to.map(|l| l as usize)) {
        net.ipv6.mib.reasm_fails += 1;
        if !q.timed_out {
            continue;
        }
        net.ipv6.mib.reasm_timeout += 1;
        // RFC 8200 §4.5: Time Exceeded code 1 only if the first fragment arrived.
        if let Some(mut head) = q.first {
            set_payload_len(&mut head);
            super::icmp::send_error(now, net, &head, ty::TIME_EXCEED, 1, 0, None);
        }
    }
}
