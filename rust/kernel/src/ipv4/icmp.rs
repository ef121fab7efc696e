//! ICMP (RFC 792, RFC 1122 §3.2.2; Linux `icmp.c`): echo replies, errors about
//! received packets (`__icmp_send`), errors for our sockets (`icmp_unreach` with
//! `icmp_err_convert`) and Linux's two rate limiters: a global token bucket
//! (`icmp_global_allow`: icmp_msgs_per_sec, icmp_msgs_burst) and a per-destination one
//! (`inet_peer_xrlim_allow`: icmp_ratelimit ms, burst factor 6) for the types in
//! icmp_ratemask. Echo replies and "fragmentation needed" are never limited by default.

use crate::net::{IcmpError, IpRx, IpTx, Net, Transport};
use crate::pktbuf::PacketBuf;
use crate::route::RouteKind;
use crate::wire::icmpv4::{Icmpv4Packet, Icmpv4Repr, exceeded, ty, unreach};
use crate::wire::ipv4::{HEADER_LEN, Ipv4Packet, proto};
use crate::{Errno, Nanos};
use std::net::{IpAddr, Ipv4Addr};

const MS: Nanos = 1_000_000;
const SEC: Nanos = 1_000_000_000;
/// ICMP errors quote at most this much in total (RFC 1812 §4.3.2.3: 576 bytes).
const MAX_ERROR_LEN: usize = 576;

/// ICMP counters (`/proc/net/snmp` `Icmp:`), per-type in/out as `IcmpMsg:`.
#[derive(Debug, Clone, Default)]
pub struct IcmpMib {
    pub in_msgs: u64,
    pub in_errors: u64,
    pub in_csum_errors: u64,
    pub out_msgs: u64,
    pub out_errors: u64,
    pub out_rate_limit_global: u64,
    pub out_rate_limit_host: u64,
    pub in_type: [u64; 19],
    pub out_type: [u64; 19],
}

impl IcmpMib {
    /// The `Icmp:` line in Linux's order (`icmp_put`: the totals, then `icmpmibmap`'s
    /// types in and out).
    pub fn rows(&self) -> Vec<(&'static str, u64)> {
        // `icmpmibmap`: (name, type). 14 and 18 are the timestamp and mask replies.
        const MAP: [(&str, &str, u8); 10] = [
            ("InDestUnreachs", "OutDestUnreachs", ty::DEST_UNREACH),
            ("InTimeExcds", "OutTimeExcds", ty::TIME_EXCEEDED),
            ("InParmProbs", "OutParmProbs", ty::PARAMETERPROB),
            ("InSrcQuenchs", "OutSrcQuenchs", ty::SOURCE_QUENCH),
            ("InRedirects", "OutRedirects", ty::REDIRECT),
            ("InEchos", "OutEchos", ty::ECHO),
            ("InEchoReps", "OutEchoReps", ty::ECHO_REPLY),
            ("InTimestamps", "OutTimestamps", ty::TIMESTAMP),
            ("InTimestampReps", "OutTimestampReps", 14),
            ("InAddrMasks", "OutAddrMasks", ty::ADDRESS),
        ];
        let mut v = vec![
            ("InMsgs", self.in_msgs),
            ("InErrors", self.in_errors),
            ("InCsumErrors", self.in_csum_errors),
        ];
        v.extend(MAP.iter().map(|&(n, _, t)| (n, self.in_type[usize::from(t)])));
        v.push(("InAddrMaskReps", self.in_type[18]));
        v.extend([
            ("OutMsgs", self.out_msgs),
            ("OutErrors", self.out_errors),
            ("OutRateLimitGlobal", self.out_rate_limit_global),
            ("OutRateLimitHost", self.out_rate_limit_host),
        ]);
        v.extend(MAP.iter().map(|&(_, n, t)| (n, self.out_type[usize::from(t)])));
        v.push(("OutAddrMaskReps", self.out_type[18]));
        v
    }
}

/// Both limiters' state.
#[derive(Default)]
pub(super) struct RateLimit {
    /// Global credit and the time it was last refilled (None: never, full burst).
    credit: Option<(u32, Nanos)>,
    /// Per destination.
    peers: super::inetpeer::PeerLimit<Ipv4Addr>,
}

/// Linux `icmp_err_convert`: the errno and whether it is fatal (hard) for a socket.
pub fn icmp_err_convert(icmp_type: u8, code: u8) -> Option<(Errno, bool)> {
    Some(match icmp_type {
        ty::DEST_UNREACH => match code {
            unreach::NET => (Errno::ENETUNREACH, false),
            unreach::HOST => (Errno::EHOSTUNREACH, false),
            unreach::PROT => (Errno::ENOPROTOOPT, true),
            unreach::PORT => (Errno::ECONNREFUSED, true),
            unreach::FRAG_NEEDED => (Errno::EMSGSIZE, false),
            unreach::SR_FAILED => (Errno::EOPNOTSUPP, false),
            unreach::NET_UNKNOWN => (Errno::ENETUNREACH, true),
            unreach::HOST_UNKNOWN => (Errno::EHOSTDOWN, true),
            unreach::HOST_ISOLATED => (Errno(64), true), // ENONET
            unreach::NET_ANO => (Errno::ENETUNREACH, true),
            unreach::HOST_ANO => (Errno::EHOSTUNREACH, true),
            unreach::NET_UNR_TOS => (Errno::ENETUNREACH, false),
            unreach::HOST_UNR_TOS => (Errno::EHOSTUNREACH, false),
            unreach::PKT_FILTERED..=unreach::PREC_CUTOFF => (Errno::EHOSTUNREACH, true),
            _ => return None,
        },
        // `tcp_v4_err`/`__udp4_lib_err`.
        ty::TIME_EXCEEDED => (Errno::EHOSTUNREACH, false),
        ty::PARAMETERPROB => (Errno::EPROTO, true),
        _ => return None,
    })
}

fn is_error_type(t: u8) -> bool {
    matches!(
        t,
        ty::DEST_UNREACH | ty::SOURCE_QUENCH | ty::REDIRECT | ty::TIME_EXCEEDED | ty::PARAMETERPROB
    )
}

impl RateLimit {
    /// `icmpv4_mask_allow`: types outside icmp_ratemask, and PMTU messages, are free.
    fn exempt(net: &Net, t: u8, code: u8) -> bool {
        t > ty::NR_ICMP_TYPES
            || (t == ty::DEST_UNREACH && code == unreach::FRAG_NEEDED)
            || net.sysctl.ipv4.icmp_ratemask & (1 << t) == 0
    }
}

/// `icmp_global_allow`: whether the namespace-wide token bucket (`icmp_msgs_per_sec`,
/// `icmp_msgs_burst`, refilled at most every 20 ms) has a credit; IPv4 and IPv6 errors
/// share it. A miss is counted (`OutRateLimitGlobal`); `icmp_global_consume` takes the
/// credit once the per-destination limit allowed the message too.
pub(crate) fn icmp_global_allow(now: Nanos, net: &mut Net) -> bool {
    let (per_sec, burst) = (net.sysctl.ipv4.icmp_msgs_per_sec, net.sysctl.ipv4.icmp_msgs_burst);
    let rl = &mut net.ipv4.icmp_limit;
    let (mut credit, mut stamp) = rl.credit.unwrap_or((burst, now));
    let delta = now.saturating_sub(stamp).min(SEC);
    let incr = (Nanos::from(per_sec) * delta / SEC) as u32;
    if credit == 0 && delta >= SEC / 50 && incr > 0 {
        credit = credit.saturating_add(incr).min(burst);
        stamp = now;
    }
    rl.credit = Some((credit, stamp));
    if credit == 0 {
        net.ipv4.icmp_mib.out_rate_limit_global += 1;
    }
    credit > 0
}

/// `icmp_global_consume`.
pub(crate) fn icmp_global_consume(net: &mut Net) {
    if let Some((credit, _)) = net.ipv4.icmp_limit.credit.as_mut() {
        *credit = credit.saturating_sub(1);
    }
}

/// `icmp_global_allow` then `icmpv4_xrlim_allow` (loopback destinations skip the
/// per-destination limit); consumes one global credit when allowed.
fn rate_allow(now: Nanos, net: &mut Net, t: u8, code: u8, dst: Ipv4Addr, lo: bool) -> bool {
    if RateLimit::exempt(net, t, code) {
        return true;
    }
    if !icmp_global_allow(now, net) {
        return false;
    }
    let timeout = Nanos::from(net.sysctl.ipv4.icmp_ratelimit) * MS;
    let allowed = lo || net.ipv4.icmp_limit.peers.allow(now, dst, timeout);
    if allowed {
        icmp_global_consume(net);
    } else {
        net.ipv4.icmp_mib.out_rate_limit_host += 1;
    }
    allowed
}

/// `__icmp_send`: an ICMP error about the received packet `offending` (a whole IP
/// packet). Never about broadcast/multicast packets (`bcast`), non-first fragments or
/// ICMP errors (RFC 1122 §3.2.2).
pub(super) fn send(
    now: Nanos,
    net: &mut Net,
    offending: &[u8],
    t: u8,
    code: u8,
    info: u32,
    bcast: bool,
) {
    let Ok(ip) = Ipv4Packet::new_checked(offending) else { return };
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    if bcast || dst.is_broadcast() || dst.is_multicast() || ip.frag_offset() != 0 {
        return;
    }
    if src.is_unspecified() || src.is_broadcast() || src.is_multicast() {
        return;
    }
    if ip.protocol() == proto::ICMP {
        match ip.payload().first() {
            Some(&inner) if inner <= ty::NR_ICMP_TYPES && !is_error_type(inner) => {}
            _ => return,
        }
    }
    let Ok(rt) = net.route_output(IpAddr::V4(src), None) else { return };
    if !rate_allow(now, net, t, code, src, rt.local) {
        return;
    }
    // Errors about packets for us come from the address they were sent to.
    let to_us =
        net.fib.lookup(IpAddr::V4(dst), None, |_| true).is_some_and(|r| r.kind == RouteKind::Local);
    let saddr = if to_us { IpAddr::V4(dst) } else { rt.src };
    let quoted = &ip.packet()[..ip.packet().len().min(MAX_ERROR_LEN - HEADER_LEN - 8)];
    let repr = match t {
        ty::DEST_UNREACH => {
            Icmpv4Repr::DstUnreachable { code, next_hop_mtu: info as u16, data: quoted }
        }
        ty::REDIRECT => Icmpv4Repr::Redirect { code, gateway: Ipv4Addr::from(info), data: quoted },
        ty::TIME_EXCEEDED => Icmpv4Repr::TimeExceeded { code, data: quoted },
        ty::PARAMETERPROB => Icmpv4Repr::ParamProblem { pointer: info as u8, data: quoted },
        _ => return,
    };
    // Precedence "internetwork control" with the original TOS bits (RFC 1812 §4.3.2.5).
    let tos = (ip.tos() & 0x1e) | 0xc0;
    xmit(now, net, &repr, saddr, IpAddr::V4(src), tos);
}

/// ICMP host unreachable for a packet whose next hop never answered ARP.
pub(super) fn send_unreach_host(now: Nanos, net: &mut Net, packet: &[u8]) {
    send(now, net, packet, ty::DEST_UNREACH, unreach::HOST, 0, false);
}

fn xmit(now: Nanos, net: &mut Net, repr: &Icmpv4Repr<'_>, src: IpAddr, dst: IpAddr, tos: u8) {
    let mut pkt = PacketBuf::new(repr.buffer_len());
    repr.emit(&mut Icmpv4Packet::new_unchecked(pkt.data_mut()));
    let tx = IpTx {
        src,
        dst,
        protocol: proto::ICMP,
        ttl: 0,
        tos,
        dont_frag: false,
        oif: None,
        allow_broadcast: false,
    };
    let t = pkt.data()[0];
    match net.ip_output(now, &tx, pkt) {
        Ok(()) => {
            net.ipv4.icmp_mib.out_msgs += 1;
            net.ipv4.icmp_mib.out_type[usize::from(t.min(18))] += 1;
        }
        Err(_) => net.ipv4.icmp_mib.out_errors += 1,
    }
}

/// `icmp_rcv` for a message delivered to us (raw sockets have already had their copy).
pub(super) fn rcv(now: Nanos, net: &mut Net, tp: &mut dyn Transport, rx: &IpRx<'_>, msg: &[u8]) {
    let mib = &mut net.ipv4.icmp_mib;
    mib.in_msgs += 1;
    let Ok(p) = Icmpv4Packet::new_checked(msg) else {
        mib.in_errors += 1;
        return;
    };
    if !p.verify_checksum() {
        mib.in_csum_errors += 1;
        mib.in_errors += 1;
        return;
    }
    let t = p.msg_type();
    if t <= ty::NR_ICMP_TYPES {
        mib.in_type[usize::from(t)] += 1;
    }
    // RFC 1122 §3.2.2.6/§3.2.2: to a broadcast only echo/timestamp/address requests count.
    if rx.multicast_or_broadcast
        && (!matches!(t, ty::ECHO | ty::TIMESTAMP | ty::ADDRESS | 18)
            || (t == ty::ECHO && net.sysctl.ipv4.icmp_echo_ignore_broadcasts))
    {
        return;
    }
    let Ok(repr) = Icmpv4Repr::parse(&p) else { return };
    match repr {
        Icmpv4Repr::EchoRequest { ident, seq_no, data } => {
            if net.sysctl.ipv4.icmp_echo_ignore_all {
                return;
            }
            echo_reply(now, net, rx, Icmpv4Repr::EchoReply { ident, seq_no, data });
        }
        Icmpv4Repr::DstUnreachable { code, next_hop_mtu, data } => {
            let mtu = (code == unreach::FRAG_NEEDED).then_some(u32::from(next_hop_mtu));
            if code == unreach::FRAG_NEEDED && net.sysctl.ipv4.ip_no_pmtu_disc == 2 {
                return;
            }
            report(now, net, tp, rx, ty::DEST_UNREACH, code, mtu, data);
        }
        Icmpv4Repr::TimeExceeded { code, data } => {
            report(now, net, tp, rx, ty::TIME_EXCEEDED, code, None, data);
        }
        Icmpv4Repr::ParamProblem { data, .. } => {
            report(now, net, tp, rx, ty::PARAMETERPROB, 0, None, data);
        }
        Icmpv4Repr::Redirect { code, gateway, data } => {
            let (IpAddr::V4(from), true) = (rx.src, code <= 3) else { return };
            if data.len() < HEADER_LEN || data[0] >> 4 != 4 {
                net.ipv4.icmp_mib.in_errors += 1;
                return;
            }
            let inner = Ipv4Packet::new_unchecked(data);
            // Only about packets we sent (Linux reaches it through the socket's handler).
            if net.is_local_addr(IpAddr::V4(inner.src_addr())) {
                super::redirect::receive(now, net, rx.ifindex, from, inner.dst_addr(), gateway);
            }
        }
        Icmpv4Repr::EchoReply { .. } => {}
    }
}

/// `icmp_echo` → `icmp_reply`: from the address asked (or, for a broadcast, the
/// receiving device's), with the request's TOS.
fn echo_reply(now: Nanos, net: &mut Net, rx: &IpRx<'_>, reply: Icmpv4Repr<'_>) {
    let src = if rx.multicast_or_broadcast {
        match net.select_addr(rx.ifindex, rx.src) {
            Some(a) => IpAddr::V4(a),
            None => return,
        }
    } else {
        rx.dst
    };
    if !rate_allow(now, net, ty::ECHO_REPLY, 0, Ipv4Addr::UNSPECIFIED, true) {
        return;
    }
    xmit(now, net, &reply, src, rx.src, rx.tos);
}

/// `icmp_unreach` → `icmp_socket_deliver`: checks the quoted header and hands the
/// error to the transports with Linux's errno.
#[allow(clippy::too_many_arguments)]
fn report(
    now: Nanos,
    net: &mut Net,
    tp: &mut dyn Transport,
    rx: &IpRx<'_>,
    t: u8,
    code: u8,
    mtu: Option<u32>,
    data: &[u8],
) {
    let Some((errno, fatal)) = icmp_err_convert(t, code) else { return };
    let ihl = data.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
    if data.len() < HEADER_LEN || data[0] >> 4 != 4 || ihl < HEADER_LEN || data.len() < ihl + 8 {
        net.ipv4.icmp_mib.in_errors += 1;
        return;
    }
    let inner = Ipv4Packet::new_unchecked(data);
    if let Some(m) = mtu {
        // `ipv4_update_pmtu`: later packets to that destination use the lower MTU.
        let d = inner.dst_addr();
        if let Ok(rt) = net.route_output(IpAddr::V4(d), None)
            && net.ipv4.pmtu.update(now, d, m, rt.mtu)
        {
            net.fib.invalidate();
        }
    }
    let err = IcmpError {
        errno,
        fatal,
        icmp_type: t,
        icmp_code: code,
        mtu,
        reporter: rx.src,
        src: IpAddr::V4(inner.src_addr()),
        dst: IpAddr::V4(inner.dst_addr()),
        protocol: inner.protocol(),
        quoted: &data[ihl..],
    };
    tp.icmp_error(now, net, &err);
}

/// Exposed for forward.rs/input.rs: the time-exceeded code for TTL expiry.
pub(super) const EXC_TTL: u8 = exceeded::TTL;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn err_convert_matches_linux_table() {
        assert_eq!(icmp_err_convert(3, 3), Some((Errno::ECONNREFUSED, true)));
        assert_eq!(icmp_err_convert(3, 1), Some((Errno::EHOSTUNREACH, false)));
        assert_eq!(icmp_err_convert(3, 4), Some((Errno::EMSGSIZE, false)));
        assert_eq!(icmp_err_convert(3, 2), Some((Errno::ENOPROTOOPT, true)));
        assert_eq!(icmp_err_convert(3, 13), Some((Errno::EHOSTUNREACH, true)));
        assert_eq!(icmp_err_convert(11, 0), Some((Errno::EHOSTUNREACH, false)));
        assert_eq!(icmp_err_convert(12, 0), Some((Errno::EPROTO, true)));
        assert_eq!(icmp_err_convert(4, 0), None);
        assert_eq!(icmp_err_convert(3, 16), None);
    }

    fn limited_net() -> Net {
        let mut n = Net::new(1);
        n.sysctl.ipv4.icmp_msgs_burst = 50;
        n.sysctl.ipv4.icmp_msgs_per_sec = 1000;
        n
    }

    #[test]
    fn per_destination_burst_then_one_per_ratelimit() {
        let mut n = limited_net();
        let d = Ipv4Addr::new(10, 0, 0, 9);
        let ok: usize = (0..10).filter(|_| rate_allow(0, &mut n, 3, 1, d, false)).count();
        assert_eq!(ok, 6, "burst factor 6");
        assert!(!rate_allow(500 * MS, &mut n, 3, 1, d, false));
        assert!(rate_allow(1000 * MS, &mut n, 3, 1, d, false));
        // Another destination has its own bucket; loopback skips it.
        assert!(rate_allow(1000 * MS, &mut n, 3, 1, Ipv4Addr::new(10, 0, 0, 8), false));
        assert!((0..20).all(|_| rate_allow(1000 * MS, &mut n, 3, 1, d, true)));
    }

    #[test]
    fn global_bucket_and_exemptions() {
        let mut n = limited_net();
        n.sysctl.ipv4.icmp_msgs_burst = 3;
        let ok: usize = (0..10u8)
            .filter(|i| rate_allow(0, &mut n, 11, 0, Ipv4Addr::new(10, 0, 1, *i), false))
            .count();
        assert_eq!(ok, 3);
        assert_eq!(n.ipv4.icmp_mib.out_rate_limit_global, 7);
        // Echo replies (type 0 not in the mask) and frag-needed are never limited.
        assert!(rate_allow(0, &mut n, 0, 0, Ipv4Addr::new(10, 0, 1, 1), false));
        assert!(rate_allow(0, &mut n, 3, 4, Ipv4Addr::new(10, 0, 1, 1), false));
        // Refill: 1000/s over 100 ms = 100 credits, capped at the burst.
        assert!(rate_allow(100 * MS, &mut n, 11, 0, Ipv4Addr::new(10, 0, 2, 1), false));
    }
}
