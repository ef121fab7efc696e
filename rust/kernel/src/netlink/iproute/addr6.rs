//! `ip -6 address add|change|replace|del ADDR/LEN dev D [nodad]` in the built-in `ip`:
//! the AF_INET6 RTM_NEWADDR/RTM_DELADDR iproute2 sends (`ipaddr_modify` with `-6`), so
//! hosts that configure nodes with command lines (the ns-3 helper's `RunIp`) can give
//! them IPv6 addresses. Listing stays with rtnetlink clients (the real `ip -6 addr`).

use super::super::addr6::AF_INET6;
use super::super::wire::*;
use super::route6::prefix6;
use super::{Ip, edit_flags, garbage, is, required, value};

/// `IFA_F_NODAD`.
const IFA_F_NODAD: u32 = 0x02;

pub fn addr6(ip: &mut Ip<'_>, w: &[&str]) -> Result<String, String> {
    let Some((cmd, rest)) = w.split_first() else {
        return Err("Error: `ip -6 address` lists through rtnetlink only.".into());
    };
    let flags = edit_flags(cmd, false)
        .ok_or_else(|| format!("Command \"{cmd}\" is unknown, try \"ip address help\"."))?;
    let (mut local, mut dev, mut ifa_flags) = (None, None, 0u32);
    let mut it = rest.iter();
    while let Some(&k) = it.next() {
        match k {
            "dev" => dev = Some(value(&mut it, k)?),
            "nodad" => ifa_flags |= IFA_F_NODAD,
            _ if local.is_none() => {
                let v = if k == "local" { value(&mut it, k)? } else { k };
                local = Some(prefix6(v)?);
            }
            _ => return Err(garbage("local", k)),
        }
    }
    let dev = required(dev, "dev")?;
    let (a, len) = required(local, "local")?;
    let index = ip.ifindex(dev)?;
    let mut body = MsgWriter::default();
    IfAddrMsg { family: AF_INET6, prefix_len: len, flags: ifa_flags as u8, scope: 0, index }
        .emit(&mut body);
    body.attr(IFA_LOCAL, &a.octets());
    body.attr_u32(IFA_FLAGS, ifa_flags);
    let ty = if is(cmd, "delete") { RTM_DELADDR } else { RTM_NEWADDR };
    ip.exec(ty, flags, &body.buf).map(|()| String::new())
}
