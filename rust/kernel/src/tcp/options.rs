//! Socket options of TCP sockets: SOL_TCP (Linux `do_tcp_setsockopt` /
//! `do_tcp_getsockopt`), and the SOL_SOCKET / SOL_IP options whose effect TCP owns.

use super::Cx;
use super::sock::{State, TcpSock};
use crate::net::Net;
use crate::socket::inet6::{IPV6_MTU, SOL_IPV6};
use crate::socket::options::{get_int, put_bytes, put_int};
use crate::uapi::*;
use crate::{Errno, SysResult};

/// Linux MAX_TCP_KEEPIDLE / MAX_TCP_KEEPINTVL / MAX_TCP_KEEPCNT / MAX_TCP_SYNCNT.
const MAX_KEEPIDLE: i32 = 32767;
const MAX_KEEPCNT: i32 = 127;
const MAX_SYNCNT: i32 = 127;
/// Linux MAX_TCP_WINDOW and TCP_MIN_RCVMSS.
const MAX_WINDOW: i32 = 32767;
/// `SO_MAX_PACING_RATE` (asm-generic/socket.h) and `TCP_CC_INFO` (linux/tcp.h).
pub const SO_MAX_PACING_RATE: i32 = 47;
pub const TCP_CC_INFO: i32 = 26;

impl TcpSock {
    pub(crate) fn setsockopt(
        &mut self,
        cx: &mut Cx<'_>,
        level: i32,
        name: i32,
        val: &[u8],
    ) -> SysResult<()> {
        match level {
            SOL_SOCKET if name == SO_MAX_PACING_RATE => {
                // Linux `sk_setsockopt`: a u32 (~0U = none), or a u64 if given 8 bytes.
                let rate = match val.len() {
                    n if n >= 8 => u64::from_ne_bytes(val[..8].try_into().unwrap_or([0; 8])),
                    _ => match get_int(val)? as u32 {
                        u32::MAX => super::pacing::RATE_UNLIMITED,
                        r => u64::from(r),
                    },
                };
                self.set_max_pacing_rate(rate);
                Ok(())
            }
            SOL_SOCKET => {
                if !self.common.setsockopt(cx.net, name, val)? {
                    return Err(Errno::ENOPROTOOPT);
                }
                match name {
                    SO_KEEPALIVE => self.reset_keepalive(cx),
                    SO_SNDBUF | SO_SNDBUFFORCE => self.sndbuf = self.common.sndbuf,
                    SO_RCVBUF | SO_RCVBUFFORCE => self.rcvbuf = self.common.rcvbuf,
                    _ => {}
                }
                Ok(())
            }
            SOL_IP => {
                if self.inet.setsockopt(SOCK_STREAM, name, val)? {
                    Ok(())
                } else {
                    Err(Errno::ENOPROTOOPT)
                }
            }
            SOL_IPV6 if self.inet6.v6 => {
                let dev = self.common.bound_dev;
                if self.inet6.setsockopt(cx.net, SOCK_STREAM, self.bound, dev, name, val)? {
                    Ok(())
                } else {
                    Err(Errno::ENOPROTOOPT)
                }
            }
            SOL_TCP => self.set_tcp_opt(cx, name, val),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn set_tcp_opt(&mut self, cx: &mut Cx<'_>, name: i32, val: &[u8]) -> SysResult<()> {
        if name == TCP_CONGESTION {
            let n = val.split(|&b| b == 0).next().unwrap_or(&[]);
            let n = std::str::from_utf8(n).map_err(|_| Errno::ENOENT)?;
            let info = super::cong::lookup(n).ok_or(Errno::ENOENT)?;
            if self.cc.name() != info.name {
                self.cc = (info.new)();
                // Linux `tcp_reinit_congestion_control`: init once established.
                if self.state.is_synchronized() && self.state != State::SynRecv {
                    self.cc_init(cx);
                } else if self.cc.wants_pacing() {
                    self.pacing_needed = true;
                }
            }
            return Ok(());
        }
        let v = get_int(val)?;
        match name {
            TCP_NODELAY => {
                self.nodelay = v != 0;
                if self.nodelay {
                    self.write_xmit(cx);
                }
            }
            TCP_CORK => {
                self.cork = v != 0;
                if !self.cork {
                    self.write_xmit(cx);
                }
            }
            TCP_MAXSEG => {
                if v != 0 && !(88..=MAX_WINDOW).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.user_mss = v as u32;
            }
            TCP_KEEPIDLE => {
                if !(1..=MAX_KEEPIDLE).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.keepidle = Some(v as u32);
                self.reset_keepalive(cx);
            }
            TCP_KEEPINTVL => {
                if !(1..=MAX_KEEPIDLE).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.keepintvl = Some(v as u32);
            }
            TCP_KEEPCNT => {
                if !(1..=MAX_KEEPCNT).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.keepcnt = Some(v as u32);
            }
            TCP_SYNCNT => {
                if !(1..=MAX_SYNCNT).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                self.syn_retries = Some(v as u8);
            }
            TCP_LINGER2 => self.linger2 = if v == 0 { None } else { Some(v) },
            TCP_DEFER_ACCEPT => {}
            TCP_WINDOW_CLAMP => {
                if v != 0 && v < (super::sock::MIN_MSS / 2) as i32 {
                    return Err(Errno::EINVAL);
                }
                self.window_clamp = v.max(0) as u32;
            }
            TCP_QUICKACK => {
                if v != 0 {
                    self.quickack = super::sock::MAX_QUICKACKS;
                    if self.ack_pending {
                        self.send_ack(cx);
                    }
                }
            }
            TCP_USER_TIMEOUT => {
                if v < 0 {
                    return Err(Errno::EINVAL);
                }
                self.user_timeout_ms = v as u32;
            }
            TCP_NOTSENT_LOWAT => self.notsent_lowat = v.max(0) as u32,
            _ => return Err(Errno::ENOPROTOOPT),
        }
        Ok(())
    }

    pub(crate) fn getsockopt(
        &mut self,
        net: &Net,
        level: i32,
        name: i32,
        out: &mut [u8],
    ) -> SysResult<usize> {
        match level {
            SOL_SOCKET if name == SO_MAX_PACING_RATE => {
                // Linux `sk_getsockopt`: 8 bytes if there is room, else clamped to u32.
                if out.len() >= 8 {
                    return put_bytes(out, &self.max_pacing_rate.to_ne_bytes());
                }
                put_int(out, self.max_pacing_rate.min(u64::from(u32::MAX)) as u32 as i32)
            }
            SOL_SOCKET => {
                if name == SO_ACCEPTCONN {
                    return put_int(out, (self.state == State::Listen) as i32);
                }
                if name == SO_ERROR && self.common.error.is_none() {
                    return put_int(out, self.err_soft.take().map_or(0, |e| e.0));
                }
                let (snd, rcv) = (self.sndbuf, self.rcvbuf);
                self.common.getsockopt(name, snd, rcv, out).unwrap_or(Err(Errno::ENOPROTOOPT))
            }
            SOL_IP => {
                if name == IP_MTU {
                    if !self.state.is_synchronized() {
                        return Err(Errno::ENOTCONN);
                    }
                    return put_int(out, self.pmtu as i32);
                }
                self.inet.getsockopt(net, name, out).unwrap_or(Err(Errno::ENOPROTOOPT))
            }
            SOL_IPV6 if self.inet6.v6 => {
                if name == IPV6_MTU {
                    if !self.state.is_synchronized() {
                        return Err(Errno::ENOTCONN);
                    }
                    return put_int(out, self.pmtu as i32);
                }
                self.inet6
                    .getsockopt(net, SOCK_STREAM, name, out)
                    .unwrap_or(Err(Errno::ENOPROTOOPT))
            }
            // `ip_getsockopt` on an AF_INET socket: other levels are EOPNOTSUPP.
            SOL_IPV6 => Err(Errno::EOPNOTSUPP),
            SOL_TCP => self.get_tcp_opt(net, name, out),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn get_tcp_opt(&mut self, net: &Net, name: i32, out: &mut [u8]) -> SysResult<usize> {
        let (idle, intvl, cnt) = self.keepalive_params(net);
        let v = match name {
            TCP_INFO => return put_bytes(out, &self.tcp_info(self.seen).to_bytes()),
            TCP_CONGESTION => {
                let name = self.cc.name().as_bytes();
                let n = out.len().min(super::cong::CA_NAME_MAX + 1);
                out[..n].fill(0);
                let m = n.min(name.len());
                out[..m].copy_from_slice(&name[..m]);
                return Ok(n);
            }
            TCP_CC_INFO => {
                let v = self.cc_view();
                let info = self.cc.get_info(&v);
                let n = out.len().min(info.len());
                out[..n].copy_from_slice(&info[..n]);
                return Ok(n);
            }
            TCP_NODELAY => self.nodelay as i32,
            TCP_CORK => self.cork as i32,
            TCP_MAXSEG => {
                let m = if self.state.is_synchronized() {
                    self.mss
                } else if self.user_mss > 0 {
                    self.user_mss
                } else {
                    super::sock::MSS_DEFAULT
                };
                m as i32
            }
            TCP_KEEPIDLE => idle as i32,
            TCP_KEEPINTVL => intvl as i32,
            TCP_KEEPCNT => cnt as i32,
            TCP_SYNCNT => i32::from(self.syn_retries.unwrap_or(net.sysctl.tcp.tcp_syn_retries)),
            TCP_LINGER2 => match self.linger2 {
                Some(l) if l < 0 => -1,
                Some(l) => l,
                None => net.sysctl.tcp.tcp_fin_timeout as i32,
            },
            TCP_DEFER_ACCEPT => 0,
            TCP_WINDOW_CLAMP => {
                let c =
                    if self.window_clamp > 0 { self.window_clamp } else { self.rcv_space() as u32 };
                c as i32
            }
            TCP_QUICKACK => (self.quickack > 0) as i32,
            TCP_USER_TIMEOUT => self.user_timeout_ms as i32,
            TCP_NOTSENT_LOWAT => self.notsent_lowat as i32,
            _ => return Err(Errno::ENOPROTOOPT),
        };
        put_int(out, v)
    }
}
