//! rtnetlink (NETLINK_ROUTE), wire-compatible with Linux (`net/core/rtnetlink.c`,
//! `net/netlink/af_netlink.c`): requests in, the bytes Linux would queue on the socket
//! out. Links, IPv4 addresses, IPv4 routes and neighbours; `iproute` turns `ip` command
//! lines into these messages and renders the replies like iproute2.

pub mod addr;
pub mod addr6;
pub mod iproute;
pub mod link;
pub mod link6;
pub mod neigh;
pub mod notify;
pub mod route;
pub mod route6;
pub mod rule;
pub mod sock_diag;
pub mod wire;

use crate::net::Net;
use crate::{Errno, Nanos};
use wire::*;

/// A failed request: Linux's errno and, where Linux sets one, its extended-ack text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlError {
    pub errno: Errno,
    pub msg: Option<&'static str>,
}

impl NlError {
    pub fn msg(errno: Errno, msg: &'static str) -> NlError {
        NlError { errno, msg: Some(msg) }
    }
}

impl From<Errno> for NlError {
    fn from(errno: Errno) -> NlError {
        NlError { errno, msg: None }
    }
}

pub type NlResult<T> = Result<T, NlError>;

/// One request being answered: its header and the reply stream.
pub struct Ctx<'a> {
    pub now: Nanos,
    pub seq: u32,
    pub pid: u32,
    pub flags: u16,
    pub out: &'a mut MsgWriter,
}

impl Ctx<'_> {
    /// Header for a reply message (`NLM_F_MULTI` inside dumps).
    pub fn header(&self, ty: u16, multi: bool) -> NlHeader {
        NlHeader { ty, flags: if multi { NLM_F_MULTI } else { 0 }, seq: self.seq, pid: self.pid }
    }

    /// Ends a dump (`netlink_dump_done`): NLMSG_DONE carrying a zero int.
    pub fn done(&mut self) {
        let h = self.header(NLMSG_DONE, true);
        self.out.begin(h);
        self.out.put_bytes(&0i32.to_ne_bytes());
        self.out.end();
    }
}

/// What a handler did besides writing replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// Acked if the request asked (`NLM_F_ACK`).
    Done,
    /// A dump: ended with NLMSG_DONE, never acked (`-EINTR` in `netlink_rcv_skb`).
    Dumped,
}

/// Answers every message in `input` (`netlink_rcv_skb`). With `ext_ack` (the socket
/// set `NETLINK_EXT_ACK`) error acks carry the message text as NLMSGERR_ATTR_MSG.
pub fn process(net: &mut Net, now: Nanos, input: &[u8], ext_ack: bool) -> Vec<u8> {
    let mut out = MsgWriter::default();
    let mut rest = input;
    while rest.len() >= NLMSG_HDRLEN {
        // A header that lies about its length ends the batch silently, as in Linux.
        let Some(m) = NlPacket::new_checked(rest) else { break };
        let mut ctx = Ctx { now, seq: m.seq(), pid: m.pid(), flags: m.flags(), out: &mut out };
        let r = if m.flags() & NLM_F_REQUEST == 0 || m.ty() < NLMSG_MIN_TYPE {
            Ok(Handled::Done)
        } else {
            // Earlier changes are announced as they were; this request's carry its
            // sequence and sender (`notify`).
            notify::collect(net, now);
            net.notify.set_cause(Some((m.seq(), m.pid())));
            let r = dispatch(net, &mut ctx, m.ty(), m.payload());
            notify::collect(net, now);
            net.notify.set_cause(None);
            r
        };
        match r {
            Ok(Handled::Dumped) => {}
            Ok(Handled::Done) if m.flags() & NLM_F_ACK == 0 => {}
            Ok(Handled::Done) => ack(&mut out, m.message(), None, ext_ack),
            Err(e) => ack(&mut out, m.message(), Some(e), ext_ack),
        }
        let next = align4(m.len() as usize).min(rest.len());
        rest = &rest[next..];
    }
    out.buf
}

/// `netlink_ack`: NLMSG_ERROR with the errno (0 for success) and the request header;
/// errors also echo the request payload (no `NETLINK_CAP_ACK`).
fn ack(out: &mut MsgWriter, req: &[u8], err: Option<NlError>, ext_ack: bool) {
    let hdr = NlPacket::new_unchecked(req);
    let tlv = err.and_then(|e| e.msg).filter(|_| ext_ack);
    let mut flags = if err.is_some() { 0 } else { NLM_F_CAPPED };
    if tlv.is_some() {
        flags |= 0x200; // NLM_F_ACK_TLVS
    }
    out.begin(NlHeader { ty: NLMSG_ERROR, flags, seq: hdr.seq(), pid: hdr.pid() });
    let errno = err.map_or(0, |e| -e.errno.0);
    out.put_bytes(&errno.to_ne_bytes());
    if err.is_some() {
        out.put_bytes(req);
    } else {
        out.put_bytes(&req[..NLMSG_HDRLEN]);
    }
    if let Some(msg) = tlv {
        out.attr_str(1, msg); // NLMSGERR_ATTR_MSG
    }
    out.end();
}

/// `rtnetlink_rcv_msg`: type range, dump versus doit, handler by type.
fn dispatch(net: &mut Net, ctx: &mut Ctx<'_>, ty: u16, payload: &[u8]) -> NlResult<Handled> {
    if ty > RTM_MAX {
        return Err(Errno::EOPNOTSUPP.into());
    }
    // "All the messages must have at least 1 byte length" (rtgenmsg).
    if payload.is_empty() {
        return Ok(Handled::Done);
    }
    let family = payload[0];
    let is_get = (ty - NLMSG_MIN_TYPE) & 3 == 2;
    if is_get && ctx.flags & NLM_F_DUMP == NLM_F_DUMP {
        match ty {
            // `inet6_dump_ifinfo` answers the AF_INET6 link dump.
            RTM_GETLINK if family == addr6::AF_INET6 => link6::dump(net, ctx),
            RTM_GETLINK => link::dump(net, ctx),
            RTM_GETADDR => {
                addr::dump(net, ctx, family);
                addr6::dump(net, ctx, family);
            }
            RTM_GETROUTE => {
                route::dump(net, ctx, family);
                route6::dump(net, ctx, family);
            }
            RTM_GETNEIGH => neigh::dump(net, ctx, family),
            rule::RTM_GETRULE => rule::dump(net, ctx, family),
            _ => return Err(Errno::EOPNOTSUPP.into()),
        }
        ctx.done();
        return Ok(Handled::Dumped);
    }
    let inet = || if family == AF_INET { Ok(()) } else { Err(NlError::from(Errno::EOPNOTSUPP)) };
    match ty {
        RTM_NEWLINK | RTM_SETLINK => link::set(net, ctx, ty, payload),
        RTM_DELLINK => link::del(net, payload),
        RTM_GETLINK => link::get(net, ctx, payload),
        RTM_NEWADDR if family == addr6::AF_INET6 => addr6::new(net, ctx, payload),
        RTM_DELADDR if family == addr6::AF_INET6 => addr6::del(net, payload),
        RTM_NEWADDR => inet().and_then(|_| addr::new(net, ctx, payload)),
        RTM_DELADDR => inet().and_then(|_| addr::del(net, ctx, payload)),
        RTM_NEWROUTE if family == addr6::AF_INET6 => route6::new(net, ctx, payload),
        RTM_DELROUTE if family == addr6::AF_INET6 => route6::del(net, payload),
        RTM_GETROUTE if family == addr6::AF_INET6 => route6::get(net, ctx, payload),
        RTM_NEWROUTE => inet().and_then(|_| route::new(net, ctx, payload)),
        RTM_DELROUTE => inet().and_then(|_| route::del(net, payload)),
        RTM_GETROUTE => inet().and_then(|_| route::get(net, ctx, payload)),
        RTM_NEWNEIGH => neigh::new(net, ctx, payload),
        RTM_DELNEIGH => neigh::del(net, payload),
        RTM_GETNSID => nsid(ctx),
        rule::RTM_NEWRULE => rule::new(net, payload),
        rule::RTM_DELRULE => rule::del(net, payload),
        _ => Err(Errno::EOPNOTSUPP.into()),
    }
    .map(|()| Handled::Done)
}

const RTM_NEWNSID: u16 = 88;
const RTM_GETNSID: u16 = 90;

/// `rtnl_net_getid`: one namespace, so any namespace asked about is ours, which has no
/// id of its own (NETNSA_NSID_NOT_ASSIGNED); iproute2 asks at start-up (`ip monitor`).
fn nsid(ctx: &mut Ctx<'_>) -> NlResult<()> {
    let h = ctx.header(RTM_NEWNSID, false);
    ctx.out.begin(h);
    ctx.out.put_bytes(&[AF_UNSPEC, 0, 0, 0]);
    ctx.out.attr(1, &(-1i32).to_ne_bytes()); // NETNSA_NSID
    ctx.out.end();
    Ok(())
}

#[cfg(test)]
mod tests;
