//! rtnetlink wire formats (`include/uapi/linux/{netlink,rtnetlink,if_addr,if_link,
//! neighbour}.h`): the `nlmsghdr` framing, the fixed family headers (`ifinfomsg`,
//! `ifaddrmsg`, `rtmsg`, `ndmsg`) and `rtattr` TLVs. Integers are in host byte order as
//! on a Linux socket; addresses inside attributes are in network order.

use crate::Errno;

pub const NLMSG_HDRLEN: usize = 16;
pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
/// Types below this are control messages (`NLMSG_MIN_TYPE`).
pub const NLMSG_MIN_TYPE: u16 = 0x10;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_ECHO: u16 = 0x8;
pub const NLM_F_ROOT: u16 = 0x100;
pub const NLM_F_MATCH: u16 = 0x200;
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
pub const NLM_F_REPLACE: u16 = 0x100;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
pub const NLM_F_APPEND: u16 = 0x800;
/// Set on acks that do not echo the request payload.
pub const NLM_F_CAPPED: u16 = 0x100;

pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_SETLINK: u16 = 19;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_DELADDR: u16 = 21;
pub const RTM_GETADDR: u16 = 22;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_DELROUTE: u16 = 25;
pub const RTM_GETROUTE: u16 = 26;
pub const RTM_NEWNEIGH: u16 = 28;
pub const RTM_DELNEIGH: u16 = 29;
pub const RTM_GETNEIGH: u16 = 30;
/// Last type rtnetlink knows (`RTM_MAX` in Linux 6.x); above it is EOPNOTSUPP.
pub const RTM_MAX: u16 = 123;

pub const AF_UNSPEC: u8 = 0;
pub const AF_INET: u8 = 2;

pub const IFLA_ADDRESS: u16 = 1;
pub const IFLA_BROADCAST: u16 = 2;
pub const IFLA_IFNAME: u16 = 3;
pub const IFLA_MTU: u16 = 4;
pub const IFLA_QDISC: u16 = 6;
pub const IFLA_STATS: u16 = 7;
pub const IFLA_TXQLEN: u16 = 13;
pub const IFLA_OPERSTATE: u16 = 16;
pub const IFLA_LINKMODE: u16 = 17;
pub const IFLA_LINKINFO: u16 = 18;
pub const IFLA_STATS64: u16 = 23;
pub const IFLA_GROUP: u16 = 27;
pub const IFLA_EXT_MASK: u16 = 29;
pub const IFLA_PROMISCUITY: u16 = 30;
pub const IFLA_NUM_TX_QUEUES: u16 = 31;
pub const IFLA_NUM_RX_QUEUES: u16 = 32;
pub const IFLA_CARRIER: u16 = 33;
pub const IFLA_MIN_MTU: u16 = 50;
pub const IFLA_MAX_MTU: u16 = 51;
pub const IFLA_ALT_IFNAME: u16 = 53;

pub const IF_OPER_UNKNOWN: u8 = 0;
pub const IF_OPER_DOWN: u8 = 2;
pub const IF_OPER_UP: u8 = 6;
pub const ARPHRD_ETHER: u16 = 1;
pub const ARPHRD_LOOPBACK: u16 = 772;

pub const IFA_ADDRESS: u16 = 1;
pub const IFA_LOCAL: u16 = 2;
pub const IFA_LABEL: u16 = 3;
pub const IFA_BROADCAST: u16 = 4;
pub const IFA_CACHEINFO: u16 = 6;
pub const IFA_FLAGS: u16 = 8;
pub const IFA_F_SECONDARY: u32 = 0x01;
pub const IFA_F_PERMANENT: u32 = 0x80;

pub const RTA_DST: u16 = 1;
pub const RTA_SRC: u16 = 2;
pub const RTA_IIF: u16 = 3;
pub const RTA_OIF: u16 = 4;
pub const RTA_GATEWAY: u16 = 5;
pub const RTA_PRIORITY: u16 = 6;
pub const RTA_PREFSRC: u16 = 7;
pub const RTA_METRICS: u16 = 8;
pub const RTA_MULTIPATH: u16 = 9;
pub const RTA_CACHEINFO: u16 = 12;
pub const RTA_TABLE: u16 = 15;
pub const RTA_UID: u16 = 25;

pub const RTN_UNSPEC: u8 = 0;
pub const RTN_UNICAST: u8 = 1;
pub const RTN_LOCAL: u8 = 2;
pub const RTN_BROADCAST: u8 = 3;
pub const RTN_ANYCAST: u8 = 4;
pub const RTN_MULTICAST: u8 = 5;
pub const RTN_BLACKHOLE: u8 = 6;
pub const RTN_UNREACHABLE: u8 = 7;
pub const RTN_PROHIBIT: u8 = 8;
pub const RTN_MAX: u8 = 11;
pub const RT_SCOPE_NOWHERE: u8 = 255;
pub const RT_TABLE_UNSPEC: u8 = 0;
/// `rtm_table` for ids that do not fit in a byte (the real id is in RTA_TABLE).
pub const RT_TABLE_COMPAT: u8 = 252;
pub const RTM_F_CLONED: u32 = 0x200;
/// `RTCF_LOCAL` in the upper half of a cloned route's `rtm_flags`.
pub const RTCF_LOCAL: u32 = 0x8000_0000;
pub const RTCF_BROADCAST: u32 = 0x1000_0000;
pub const RTCF_DOREDIRECT: u32 = 0x0100_0000;
pub const RTNH_F_DEAD: u32 = 1;
pub const RTNH_F_LINKDOWN: u32 = 16;

pub const NDA_DST: u16 = 1;
pub const NDA_LLADDR: u16 = 2;
pub const NDA_CACHEINFO: u16 = 3;
pub const NDA_PROBES: u16 = 4;
pub const NUD_INCOMPLETE: u16 = 0x01;
pub const NUD_REACHABLE: u16 = 0x02;
pub const NUD_STALE: u16 = 0x04;
pub const NUD_DELAY: u16 = 0x08;
pub const NUD_PROBE: u16 = 0x10;
pub const NUD_FAILED: u16 = 0x20;
pub const NUD_NOARP: u16 = 0x40;
pub const NUD_PERMANENT: u16 = 0x80;

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// `NLMSG_ALIGN` / `RTA_ALIGN`: 4 bytes.
pub const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

mod field {
    use core::ops::Range;
    pub const LEN: Range<usize> = 0..4;
    pub const TYPE: Range<usize> = 4..6;
    pub const FLAGS: Range<usize> = 6..8;
    pub const SEQ: Range<usize> = 8..12;
    pub const PID: Range<usize> = 12..16;
}

/// A view of one netlink message (`struct nlmsghdr` + payload).
#[derive(Debug, Clone, Copy)]
pub struct NlPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> NlPacket<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        NlPacket { buffer }
    }

    /// As `netlink_rcv_skb` checks: a full header whose `nlmsg_len` fits the buffer.
    pub fn new_checked(buffer: T) -> Option<Self> {
        let b = buffer.as_ref();
        if b.len() < NLMSG_HDRLEN {
            return None;
        }
        let len = u32_at(b, field::LEN.start) as usize;
        (NLMSG_HDRLEN..=b.len()).contains(&len).then_some(NlPacket { buffer })
    }

    pub fn len(&self) -> u32 {
        u32_at(self.buffer.as_ref(), field::LEN.start)
    }

    pub fn is_empty(&self) -> bool {
        self.len() as usize <= NLMSG_HDRLEN
    }

    pub fn ty(&self) -> u16 {
        u16_at(self.buffer.as_ref(), field::TYPE.start)
    }

    pub fn flags(&self) -> u16 {
        u16_at(self.buffer.as_ref(), field::FLAGS.start)
    }

    pub fn seq(&self) -> u32 {
        u32_at(self.buffer.as_ref(), field::SEQ.start)
    }

    pub fn pid(&self) -> u32 {
        u32_at(self.buffer.as_ref(), field::PID.start)
    }

    /// The whole message, header included.
    pub fn message(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.len() as usize]
    }

    pub fn payload(&self) -> &[u8] {
        &self.message()[NLMSG_HDRLEN..]
    }
}

/// The header fields of a message to emit (`nlmsg_len` is filled in by the builder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlHeader {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
}

/// Appends messages to a reply buffer, each padded to 4 bytes (`nlmsg_put`).
#[derive(Debug, Default)]
pub struct MsgWriter {
    pub buf: Vec<u8>,
    start: usize,
}

impl MsgWriter {
    /// Opens a message; attributes and fixed headers follow with `put_*`.
    pub fn begin(&mut self, h: NlHeader) {
        self.start = self.buf.len();
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        self.buf.extend_from_slice(&h.ty.to_ne_bytes());
        self.buf.extend_from_slice(&h.flags.to_ne_bytes());
        self.buf.extend_from_slice(&h.seq.to_ne_bytes());
        self.buf.extend_from_slice(&h.pid.to_ne_bytes());
    }

    /// Closes the message opened last: writes `nlmsg_len`, pads to 4 bytes.
    pub fn end(&mut self) {
        let len = (self.buf.len() - self.start) as u32;
        self.buf[self.start..self.start + 4].copy_from_slice(&len.to_ne_bytes());
        self.buf.resize(align4(self.buf.len()), 0);
    }

    pub fn put_bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// One `rtattr` with its padding.
    pub fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align4(self.buf.len()), 0);
    }

    pub fn attr_u8(&mut self, ty: u16, v: u8) {
        self.attr(ty, &[v]);
    }

    pub fn attr_u32(&mut self, ty: u16, v: u32) {
        self.attr(ty, &v.to_ne_bytes());
    }

    /// A NUL-terminated string attribute (`nla_put_string`).
    pub fn attr_str(&mut self, ty: u16, s: &str) {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(ty, &v);
    }
}

/// Iterates the `rtattr`s of a payload. Like `nla_parse` in non-strict mode, a
/// malformed tail ends the walk instead of failing the message.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Attrs { rest: b }
    }
}

impl<'a> Iterator for Attrs<'a> {
    /// (type without the NLA_F_NESTED / NET_BYTEORDER bits, payload).
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.len() < 4 {
            return None;
        }
        let len = u16_at(self.rest, 0) as usize;
        if len < 4 || len > self.rest.len() {
            return None;
        }
        let ty = u16_at(self.rest, 2) & 0x3fff;
        let data = &self.rest[4..len];
        self.rest = &self.rest[align4(len).min(self.rest.len())..];
        Some((ty, data))
    }
}

/// The last attribute of type `ty` (Linux keeps the last duplicate).
pub fn find_attr(b: &[u8], ty: u16) -> Option<&[u8]> {
    Attrs::new(b).filter(|a| a.0 == ty).last().map(|a| a.1)
}

/// A `NLA_U32` policy attribute: shorter is ERANGE (`validate_nla`).
pub fn attr_u32(b: &[u8], ty: u16) -> Result<Option<u32>, Errno> {
    match find_attr(b, ty) {
        None => Ok(None),
        Some(d) if d.len() >= 4 => Ok(Some(u32_at(d, 0))),
        Some(_) => Err(Errno::ERANGE),
    }
}

/// An IPv4 address attribute (4 bytes, network order).
pub fn attr_in_addr(b: &[u8], ty: u16) -> Result<Option<std::net::Ipv4Addr>, Errno> {
    match find_attr(b, ty) {
        None => Ok(None),
        Some(d) if d.len() >= 4 => Ok(Some(std::net::Ipv4Addr::new(d[0], d[1], d[2], d[3]))),
        Some(_) => Err(Errno::EINVAL),
    }
}

/// A name attribute (`NLA_STRING`, at most IFNAMSIZ-1 bytes before the NUL).
pub fn attr_name(b: &[u8], ty: u16) -> Result<Option<String>, Errno> {
    let Some(d) = find_attr(b, ty) else { return Ok(None) };
    let d = d.split(|&c| c == 0).next().unwrap_or(&[]);
    if d.len() >= crate::dev::IFNAMSIZ {
        return Err(Errno::ERANGE);
    }
    Ok(Some(String::from_utf8_lossy(d).into_owned()))
}

/// `struct ifinfomsg` (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IfInfoMsg {
    pub family: u8,
    pub ty: u16,
    pub index: i32,
    pub flags: u32,
    pub change: u32,
}

impl IfInfoMsg {
    pub const LEN: usize = 16;

    pub fn parse(b: &[u8]) -> Option<Self> {
        (b.len() >= Self::LEN).then(|| IfInfoMsg {
            family: b[0],
            ty: u16_at(b, 2),
            index: u32_at(b, 4) as i32,
            flags: u32_at(b, 8),
            change: u32_at(b, 12),
        })
    }

    pub fn emit(&self, w: &mut MsgWriter) {
        w.put_bytes(&[self.family, 0]);
        w.put_bytes(&self.ty.to_ne_bytes());
        w.put_bytes(&self.index.to_ne_bytes());
        w.put_bytes(&self.flags.to_ne_bytes());
        w.put_bytes(&self.change.to_ne_bytes());
    }
}

/// `struct ifaddrmsg` (8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IfAddrMsg {
    pub family: u8,
    pub prefix_len: u8,
    pub flags: u8,
    pub scope: u8,
    pub index: u32,
}

impl IfAddrMsg {
    pub const LEN: usize = 8;

    pub fn parse(b: &[u8]) -> Option<Self> {
        (b.len() >= Self::LEN).then(|| IfAddrMsg {
            family: b[0],
            prefix_len: b[1],
            flags: b[2],
            scope: b[3],
            index: u32_at(b, 4),
        })
    }

    pub fn emit(&self, w: &mut MsgWriter) {
        w.put_bytes(&[self.family, self.prefix_len, self.flags, self.scope]);
        w.put_bytes(&self.index.to_ne_bytes());
    }
}

/// `struct rtmsg` (12 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtMsg {
    pub family: u8,
    pub dst_len: u8,
    pub src_len: u8,
    pub tos: u8,
    pub table: u8,
    pub protocol: u8,
    pub scope: u8,
    pub kind: u8,
    pub flags: u32,
}

impl RtMsg {
    pub const LEN: usize = 12;

    pub fn parse(b: &[u8]) -> Option<Self> {
        (b.len() >= Self::LEN).then(|| RtMsg {
            family: b[0],
            dst_len: b[1],
            src_len: b[2],
            tos: b[3],
            table: b[4],
            protocol: b[5],
            scope: b[6],
            kind: b[7],
            flags: u32_at(b, 8),
        })
    }

    pub fn emit(&self, w: &mut MsgWriter) {
        w.put_bytes(&[self.family, self.dst_len, self.src_len, self.tos]);
        w.put_bytes(&[self.table, self.protocol, self.scope, self.kind]);
        w.put_bytes(&self.flags.to_ne_bytes());
    }
}

/// `struct ndmsg` (12 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NdMsg {
    pub family: u8,
    pub ifindex: i32,
    pub state: u16,
    pub flags: u8,
    pub kind: u8,
}

impl NdMsg {
    pub const LEN: usize = 12;

    pub fn parse(b: &[u8]) -> Option<Self> {
        (b.len() >= Self::LEN).then(|| NdMsg {
            family: b[0],
            ifindex: u32_at(b, 4) as i32,
            state: u16_at(b, 8),
            flags: b[10],
            kind: b[11],
        })
    }

    pub fn emit(&self, w: &mut MsgWriter) {
        w.put_bytes(&[self.family, 0, 0, 0]);
        w.put_bytes(&self.ifindex.to_ne_bytes());
        w.put_bytes(&self.state.to_ne_bytes());
        w.put_bytes(&[self.flags, self.kind]);
    }
}

/// One reply message as parsed back by the `ip` renderer and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    /// Payload after the header.
    pub payload: Vec<u8>,
}

impl Reply {
    /// For NLMSG_ERROR: the errno (positive; 0 for an ack).
    pub fn error(&self) -> Option<i32> {
        (self.ty == NLMSG_ERROR && self.payload.len() >= 4)
            .then(|| -(u32_at(&self.payload, 0) as i32))
    }
}

/// Splits a reply buffer into messages (stops at the first malformed one).
pub fn split(mut b: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    while let Some(p) = NlPacket::new_checked(b) {
        out.push(Reply {
            ty: p.ty(),
            flags: p.flags(),
            seq: p.seq(),
            payload: p.payload().to_vec(),
        });
        let next = align4(p.len() as usize).min(b.len());
        b = &b[next..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks() {
        assert!(NlPacket::new_checked(&[0u8; 15][..]).is_none());
        let mut m = [0u8; 20];
        m[0] = 20;
        let p = NlPacket::new_checked(&m[..]).unwrap();
        assert_eq!(p.payload().len(), 4);
        m[0] = 21;
        assert!(NlPacket::new_checked(&m[..]).is_none());
        m[0] = 8;
        assert!(NlPacket::new_checked(&m[..]).is_none());
    }

    #[test]
    fn writer_round_trip() {
        let mut w = MsgWriter::default();
        let h = NlHeader { ty: RTM_NEWROUTE, flags: NLM_F_REQUEST, seq: 7, pid: 9 };
        w.begin(h);
        let rt = RtMsg { family: AF_INET, dst_len: 24, table: 254, kind: 1, ..Default::default() };
        rt.emit(&mut w);
        w.attr(RTA_DST, &[10, 1, 2, 0]);
        w.attr_str(IFLA_IFNAME, "eth0");
        w.attr_u8(IFLA_OPERSTATE, 6);
        w.end();
        assert_eq!(w.buf.len() % 4, 0);
        let r = split(&w.buf);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].ty, r[0].flags, r[0].seq), (RTM_NEWROUTE, NLM_F_REQUEST, 7));
        assert_eq!(RtMsg::parse(&r[0].payload), Some(rt));
        let attrs = &r[0].payload[RtMsg::LEN..];
        assert_eq!(attr_in_addr(attrs, RTA_DST), Ok(Some("10.1.2.0".parse().unwrap())));
        assert_eq!(attr_name(attrs, IFLA_IFNAME), Ok(Some("eth0".into())));
        assert_eq!(find_attr(attrs, IFLA_OPERSTATE), Some(&[6u8][..]));
        assert_eq!(Attrs::new(attrs).count(), 3);
    }

    #[test]
    fn fixed_headers_round_trip() {
        let mut w = MsgWriter::default();
        let i = IfInfoMsg { family: 0, ty: 1, index: 3, flags: 0x1003, change: 1 };
        let a = IfAddrMsg { family: 2, prefix_len: 24, flags: 0x80, scope: 0, index: 3 };
        let n = NdMsg { family: 2, ifindex: 2, state: NUD_PERMANENT, flags: 0, kind: 1 };
        i.emit(&mut w);
        a.emit(&mut w);
        n.emit(&mut w);
        let b = &w.buf;
        assert_eq!(b.len(), IfInfoMsg::LEN + IfAddrMsg::LEN + NdMsg::LEN);
        assert_eq!(IfInfoMsg::parse(b), Some(i));
        assert_eq!(IfAddrMsg::parse(&b[16..]), Some(a));
        assert_eq!(NdMsg::parse(&b[24..]), Some(n));
        assert_eq!(IfInfoMsg::parse(&b[..15]), None);
    }

    #[test]
    fn bad_attributes() {
        // rta_len 3 (< header) ends the walk; a short u32 is ERANGE.
        assert_eq!(Attrs::new(&[3, 0, 1, 0, 0, 0, 0, 0]).count(), 0);
        assert_eq!(Attrs::new(&[200, 0, 1, 0, 0, 0, 0, 0]).count(), 0);
        assert_eq!(attr_u32(&[6, 0, 6, 0, 1, 2, 0, 0], 6), Err(Errno::ERANGE));
        let long = [[20u8, 0, 3, 0].as_slice(), &[b'x'; 16]].concat();
        assert_eq!(attr_name(&long, 3), Err(Errno::ERANGE));
    }
}
