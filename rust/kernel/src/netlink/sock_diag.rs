//! NETLINK_SOCK_DIAG with inet_diag (Linux `net/core/sock_diag.c`,
//! `net/ipv4/inet_diag.c`, `tcp_diag.c`, `udp_diag.c`): the socket dump `ss` asks for — one
//! `inet_diag_msg` per TCP socket of the requested family (AF_INET or AF_INET6, `ss -4`
//! / `ss -6`) in the requested states, with TCP_INFO, the congestion control's name,
//! memory figures and the shutdown bits as attributes; UDP sockets for `ss -u` (state 7
//! unconnected, 1 connected, the receive queue).

use super::wire::*;
use crate::{Kernel, Nanos};

/// `SOCK_DIAG_BY_FAMILY`.
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `sizeof(struct inet_diag_req_v2)`.
const REQ_LEN: usize = 56;
/// `INET_DIAG_*` attribute types.
const INET_DIAG_MEMINFO: u16 = 1;
const INET_DIAG_INFO: u16 = 2;
const INET_DIAG_CONG: u16 = 4;
const INET_DIAG_SKMEMINFO: u16 = 7;
const INET_DIAG_SHUTDOWN: u16 = 8;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const AF_INET6: u8 = 10;

/// One socket as inet_diag describes it (`struct inet_diag_msg` plus attributes).
pub struct DiagSock {
    pub state: u8,
    pub timer: u8,
    pub retrans: u8,
    pub sport: u16,
    pub dport: u16,
    /// `idiag_src`/`idiag_dst` (IPv4 in the first four bytes).
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub expires_ms: u32,
    pub rqueue: u32,
    pub wqueue: u32,
    pub inode: u32,
    pub info: Vec<u8>,
    pub cong: &'static str,
    pub shutdown: u8,
    /// rmem_alloc, rcvbuf, wmem_alloc, sndbuf, fwd_alloc, wmem_queued, optmem, backlog, drops.
    pub skmem: [u32; 9],
}

impl Kernel {
    /// NETLINK_SOCK_DIAG: answers `inet_diag_req_v2` dumps (`ss -t`) for IPv4 TCP; other
    /// families and protocols dump nothing, other message types get EOPNOTSUPP.
    pub fn sock_diag(&mut self, now: Nanos, input: &[u8]) -> Vec<u8> {
        let mut out = MsgWriter::default();
        let mut rest = input;
        while let Some(m) = NlPacket::new_checked(rest) {
            let len = (m.len() as usize).min(rest.len());
            let h = |ty, flags| NlHeader { ty, flags, seq: m.seq(), pid: m.pid() };
            let p = m.payload();
            if m.ty() != SOCK_DIAG_BY_FAMILY || p.len() < REQ_LEN {
                put_error(&mut out, h(NLMSG_ERROR, 0), crate::Errno::EOPNOTSUPP, m.message());
            } else {
                let (family, proto, ext) = (p[0], p[1], p[2]);
                let states = u32::from_ne_bytes([p[4], p[5], p[6], p[7]]);
                let v6 = family == AF_INET6;
                let socks = match (family, proto) {
                    (AF_INET | AF_INET6, IPPROTO_TCP) => self.socks.tcp.diag(now, v6),
                    (AF_INET | AF_INET6, IPPROTO_UDP) => self.socks.udp.diag(v6),
                    _ => Vec::new(),
                };
                {
                    for s in socks {
                        if states & (1 << s.state) == 0 {
                            continue;
                        }
                        out.begin(h(SOCK_DIAG_BY_FAMILY, NLM_F_MULTI));
                        put_msg(&mut out, &s, family, ext);
                        out.end();
                    }
                }
                out.begin(h(NLMSG_DONE, NLM_F_MULTI));
                out.put_bytes(&0i32.to_ne_bytes());
                out.end();
            }
            rest = &rest[align4(len).min(rest.len())..];
        }
        out.buf
    }
}

fn put_error(out: &mut MsgWriter, h: NlHeader, e: crate::Errno, req: &[u8]) {
    out.begin(h);
    out.put_bytes(&(-e.0).to_ne_bytes());
    out.put_bytes(req);
    out.end();
}

/// `inet_diag_msg` then the attributes `idiag_ext` asks for (bit n-1 for type n);
/// the shutdown bits always (`inet_diag_msg_attrs_fill`).
fn put_msg(out: &mut MsgWriter, s: &DiagSock, family: u8, ext: u8) {
    out.put_bytes(&[family, s.state, s.timer, s.retrans]);
    out.put_bytes(&s.sport.to_be_bytes());
    out.put_bytes(&s.dport.to_be_bytes());
    out.put_bytes(&s.src);
    out.put_bytes(&s.dst);
    out.put_bytes(&[0u8; 12]); // idiag_if, idiag_cookie
    for v in [s.expires_ms, s.rqueue, s.wqueue, 0, s.inode] {
        out.put_bytes(&v.to_ne_bytes());
    }
    out.attr_u8(INET_DIAG_SHUTDOWN, s.shutdown);
    let wants = |ty: u16| ext & (1 << (ty - 1)) != 0;
    if wants(INET_DIAG_MEMINFO) {
        let m = [s.skmem[0], s.skmem[5], s.skmem[4], s.skmem[2]];
        out.attr(INET_DIAG_MEMINFO, &m.iter().flat_map(|v| v.to_ne_bytes()).collect::<Vec<_>>());
    }
    if wants(INET_DIAG_SKMEMINFO) {
        let b: Vec<u8> = s.skmem.iter().flat_map(|v| v.to_ne_bytes()).collect();
        out.attr(INET_DIAG_SKMEMINFO, &b);
    }
    // UDP has neither TCP_INFO nor a congestion control (`udp_diag` fills neither).
    if wants(INET_DIAG_INFO) && !s.info.is_empty() {
        out.attr(INET_DIAG_INFO, &s.info);
    }
    if wants(INET_DIAG_CONG) && !s.cong.is_empty() {
        out.attr_str(INET_DIAG_CONG, s.cong);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KernelConfig;
    use crate::uapi::SOCK_STREAM;
    use std::net::{Ipv4Addr, SocketAddr};

    fn request(ty: u16, family: u8, proto: u8, ext: u8, states: u32) -> Vec<u8> {
        let mut p = vec![family, proto, ext, 0];
        p.extend_from_slice(&states.to_ne_bytes());
        p.resize(REQ_LEN, 0);
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + p.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
        m.extend_from_slice(&7u32.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&p);
        m
    }

    /// (type, payload) of each reply message.
    fn replies(b: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let mut out = Vec::new();
        let mut rest = b;
        while let Some(m) = NlPacket::new_checked(rest) {
            out.push((m.ty(), m.payload().to_vec()));
            rest = &rest[align4(m.len() as usize).min(rest.len())..];
        }
        out
    }

    #[test]
    fn dumps_tcp_listeners_with_the_attributes_asked_for() {
        let mut k = Kernel::new(KernelConfig { seed: 1 });
        let fd = k.socket(i32::from(AF_INET), SOCK_STREAM, 0).unwrap();
        k.bind(fd, SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 9300)).unwrap();
        k.listen(fd, 16).unwrap();
        let ext = (1 << (INET_DIAG_INFO - 1)) | (1 << (INET_DIAG_CONG - 1));
        let r = replies(&k.sock_diag(0, &request(SOCK_DIAG_BY_FAMILY, AF_INET, 6, ext, !0)));
        assert_eq!(r.len(), 2, "{r:?}");
        let (ty, msg) = &r[0];
        assert_eq!(*ty, SOCK_DIAG_BY_FAMILY);
        assert_eq!((msg[0], msg[1]), (AF_INET, 10), "AF_INET, TCP_LISTEN");
        assert_eq!(u16::from_be_bytes([msg[4], msg[5]]), 9300);
        assert_eq!(&msg[8..12], &[127, 0, 0, 1]);
        let attrs: Vec<u16> = Attrs::new(&msg[72..]).map(|(t, _)| t).collect();
        assert_eq!(attrs, vec![INET_DIAG_SHUTDOWN, INET_DIAG_INFO, INET_DIAG_CONG]);
        assert_eq!(r[1].0, NLMSG_DONE);
        // Only ESTABLISHED asked for: just the end of the dump.
        let r = replies(&k.sock_diag(0, &request(SOCK_DIAG_BY_FAMILY, AF_INET, 6, 0, 1 << 1)));
        assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), vec![NLMSG_DONE]);
        // No AF_INET6 socket: IPv6 dumps nothing; another message type is refused.
        let r = replies(&k.sock_diag(0, &request(SOCK_DIAG_BY_FAMILY, 10, 6, 0, !0)));
        assert_eq!(r.len(), 1);
        let fd6 = k.socket(i32::from(AF_INET6), SOCK_STREAM, 0).unwrap();
        k.bind(fd6, "[::]:9301".parse().unwrap()).unwrap();
        k.listen(fd6, 16).unwrap();
        let r = replies(&k.sock_diag(0, &request(SOCK_DIAG_BY_FAMILY, AF_INET6, 6, 0, !0)));
        assert_eq!(r.len(), 2, "the AF_INET6 listener only");
        assert_eq!((r[0].1[0], u16::from_be_bytes([r[0].1[4], r[0].1[5]])), (AF_INET6, 9301));
        assert_eq!(&r[0].1[8..24], &[0u8; 16]);
        let r = replies(&k.sock_diag(0, &request(SOCK_DIAG_BY_FAMILY, AF_INET, 6, 0, !0)));
        assert_eq!(r.len(), 2, "the AF_INET listener only");
        // UDP (`ss -u -a`): a bound AF_INET6 socket, unconnected (state 7).
        let u = k.socket(i32::from(AF_INET6), crate::uapi::SOCK_DGRAM, 0).unwrap();
        k.bind(u, "[::1]:5353".parse().unwrap()).unwrap();
        let r = replies(&k.sock_diag(0, &request(SOCK_DIAG_BY_FAMILY, AF_INET6, 17, ext, !0)));
        assert_eq!(r.len(), 2);
        let m = &r[0].1;
        assert_eq!((m[0], m[1], u16::from_be_bytes([m[4], m[5]])), (AF_INET6, 7, 5353));
        assert_eq!(&m[8..24], &std::net::Ipv6Addr::LOCALHOST.octets());
        let attrs: Vec<u16> = Attrs::new(&m[72..]).map(|(t, _)| t).collect();
        assert_eq!(attrs, vec![INET_DIAG_SHUTDOWN], "no TCP_INFO, no congestion control");
        let r = replies(&k.sock_diag(0, &request(21, AF_INET, 6, 0, !0)));
        assert_eq!(r[0].0, NLMSG_ERROR);
        assert_eq!(i32::from_ne_bytes(r[0].1[..4].try_into().unwrap()), -95);
        assert!(k.sock_diag(0, &[1, 2, 3]).is_empty(), "garbage: no reply, no panic");
    }
}
