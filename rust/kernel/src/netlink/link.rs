//! RTM_{NEW,SET,DEL,GET}LINK (`rtnl_newlink`, `rtnl_setlink`, `rtnl_getlink`,
//! `rtnl_dump_ifinfo`, `rtnl_fill_ifinfo`). Devices belong to the host: they can be
//! set up/down, renamed, given an MTU or MAC, but not created or deleted.

use super::wire::*;
use super::{Ctx, NlError, NlResult};
use crate::Errno;
use crate::dev::{DevFlags, Device, IfIndex};
use crate::net::Net;
use crate::wire::EthernetAddress;

/// The `IFF_*` bits a request may change (`dev_change_flags`); the rest are ignored.
const CHANGEABLE: u32 = DevFlags::UP.0;

/// `rtnl_fill_ifinfo` for one device.
pub fn fill(ctx: &mut Ctx<'_>, d: &Device, multi: bool) {
    let h = ctx.header(RTM_NEWLINK, multi);
    let w = &mut *ctx.out;
    w.begin(h);
    let lo = d.is_loopback();
    let ty = if lo { ARPHRD_LOOPBACK } else { ARPHRD_ETHER };
    let up = d.flags.contains(DevFlags::UP);
    let mut flags = d.visible_flags();
    if !up {
        // An administratively down NIC (or veth) has its carrier off too.
        flags.remove(DevFlags::LOWER_UP);
    }
    IfInfoMsg { family: AF_UNSPEC, ty, index: d.ifindex as i32, flags: flags.0, change: 0 }.emit(w);
    w.attr_str(IFLA_IFNAME, &d.name);
    w.attr_u32(IFLA_TXQLEN, 1000);
    w.attr_u8(IFLA_OPERSTATE, oper_state(d));
    w.attr_u8(IFLA_LINKMODE, 0);
    w.attr_u32(IFLA_MTU, d.mtu);
    w.attr_u32(IFLA_MIN_MTU, if lo { 0 } else { 68 });
    w.attr_u32(IFLA_MAX_MTU, if lo { 0 } else { 65535 });
    w.attr_u32(IFLA_GROUP, 0);
    w.attr_u32(IFLA_PROMISCUITY, u32::from(d.flags.contains(DevFlags::PROMISC)));
    w.attr_u32(IFLA_NUM_TX_QUEUES, 1);
    w.attr_u32(IFLA_NUM_RX_QUEUES, 1);
    w.attr_u8(IFLA_CARRIER, u8::from(d.carrier && up));
    // No qdisc layer: like a veth or lo, the root qdisc is `noqueue`.
    w.attr_str(IFLA_QDISC, "noqueue");
    w.attr(IFLA_ADDRESS, &d.mac.0);
    let brd = if lo { [0; 6] } else { [0xff; 6] };
    w.attr(IFLA_BROADCAST, &brd);
    let s = &d.stats;
    // struct rtnl_link_stats64 (25 counters in Linux 6.x): the first nine we keep.
    let mut st64 = Vec::with_capacity(8 * 25);
    for v in [
        s.rx_packets,
        s.tx_packets,
        s.rx_bytes,
        s.tx_bytes,
        s.rx_errors,
        s.tx_errors,
        s.rx_dropped,
        s.tx_dropped,
        s.multicast,
    ] {
        st64.extend_from_slice(&v.to_ne_bytes());
    }
    st64.resize(8 * 25, 0);
    w.attr(IFLA_STATS64, &st64);
    w.end();
}

/// `IFLA_OPERSTATE` (RFC 2863 as Linux reports it).
pub fn oper_state(d: &Device) -> u8 {
    match (d.flags.contains(DevFlags::UP), d.carrier) {
        (false, _) | (true, false) => IF_OPER_DOWN,
        // Loopback has no carrier notion: Linux reports UNKNOWN.
        _ if d.is_loopback() => IF_OPER_UNKNOWN,
        _ => IF_OPER_UP,
    }
}

pub fn dump(net: &mut Net, ctx: &mut Ctx<'_>) {
    for d in net.devs.iter() {
        fill(ctx, d, true);
    }
}

/// The device a request names: `ifi_index`, else IFLA_IFNAME / IFLA_ALT_IFNAME.
fn target(net: &Net, ifm: &IfInfoMsg, attrs: &[u8]) -> NlResult<Option<IfIndex>> {
    if ifm.index > 0 {
        let i = ifm.index as IfIndex;
        return net.devs.get(i).map(|_| Some(i)).ok_or(Errno::ENODEV.into());
    }
    let name = match attr_name(attrs, IFLA_IFNAME)? {
        Some(n) => Some(n),
        None => attr_name(attrs, IFLA_ALT_IFNAME)?,
    };
    match name {
        Some(n) => Ok(net.devs.by_name(&n).map(|d| d.ifindex)),
        None => Ok(None),
    }
}

fn parse(payload: &[u8]) -> NlResult<(IfInfoMsg, &[u8])> {
    let ifm = IfInfoMsg::parse(payload).ok_or(Errno::EINVAL)?;
    Ok((ifm, &payload[IfInfoMsg::LEN..]))
}

/// `rtnl_getlink`: one RTM_NEWLINK for the named device.
pub fn get(net: &mut Net, ctx: &mut Ctx<'_>, payload: &[u8]) -> NlResult<()> {
    let (ifm, attrs) = parse(payload)?;
    let has_name =
        find_attr(attrs, IFLA_IFNAME).is_some() || find_attr(attrs, IFLA_ALT_IFNAME).is_some();
    if ifm.index <= 0 && !has_name {
        return Err(NlError::msg(Errno::EINVAL, "Invalid ifindex"));
    }
    let i = target(net, &ifm, attrs)?.ok_or(Errno::ENODEV)?;
    let d = net.devs.get(i).ok_or(Errno::ENODEV)?;
    fill(ctx, d, false);
    Ok(())
}

/// `rtnl_newlink` on an existing device (`do_setlink`), or `rtnl_setlink`.
pub fn set(net: &mut Net, ctx: &mut Ctx<'_>, ty: u16, payload: &[u8]) -> NlResult<()> {
    let (ifm, attrs) = parse(payload)?;
    let Some(i) = target(net, &ifm, attrs)? else {
        if ty == RTM_NEWLINK && ctx.flags & NLM_F_CREATE != 0 {
            // Creating virtual devices (veth, bridge...) is not supported.
            return Err(Errno::EOPNOTSUPP.into());
        }
        return Err(Errno::ENODEV.into());
    };
    if ty == RTM_NEWLINK && ctx.flags & NLM_F_EXCL != 0 {
        return Err(Errno::EEXIST.into());
    }
    if find_attr(attrs, IFLA_LINKINFO).is_some() {
        return Err(Errno::EOPNOTSUPP.into());
    }
    // Validate everything before changing anything (do_setlink checks first).
    let mtu = attr_u32(attrs, IFLA_MTU)?;
    let mac = match find_attr(attrs, IFLA_ADDRESS) {
        Some(a) if a.len() == 6 => Some(EthernetAddress([a[0], a[1], a[2], a[3], a[4], a[5]])),
        Some(_) => return Err(Errno::EINVAL.into()),
        None => None,
    };
    let rename = if ifm.index > 0 { attr_name(attrs, IFLA_IFNAME)? } else { None };
    let d = net.devs.get(i).ok_or(Errno::ENODEV)?;
    if let Some(m) = mtu
        && !(68..=65536).contains(&m)
        && !(d.is_loopback() && m >= 68)
    {
        let text =
            if m < 68 { "mtu less than device minimum" } else { "mtu greater than device maximum" };
        return Err(NlError::msg(Errno::EINVAL, text));
    }
    let up = d.flags.contains(DevFlags::UP);
    if let Some(n) = rename.as_ref().filter(|n| **n != d.name) {
        if n.is_empty() || n.contains(['/', ' ', ':']) {
            return Err(Errno::EINVAL.into());
        }
        if net.devs.by_name(n).is_some() {
            return Err(Errno::EEXIST.into());
        }
        if up {
            return Err(Errno::EBUSY.into());
        }
    }
    if mac.is_some() && d.is_loopback() {
        return Err(Errno::EOPNOTSUPP.into());
    }
    // `rtnl_dev_combine_flags`: ifi_change == 0 means every bit.
    let change = if ifm.change == 0 { u32::MAX } else { ifm.change };
    let want = (ifm.flags & change) | (d.flags.0 & !change);
    let new_up = if ifm.flags != 0 || ifm.change != 0 { want & CHANGEABLE != 0 } else { up };
    let d = net.devs.get_mut(i).ok_or(Errno::ENODEV)?;
    let renamed = rename.is_some() || mac.is_some();
    if let Some(n) = rename {
        d.name = n;
    }
    if let Some(m) = mac {
        d.mac = m;
    }
    if renamed {
        // Not a routing change, but RTM_NEWLINK listeners must hear of it (`notify`).
        net.fib.invalidate();
    }
    let d = net.devs.get_mut(i).ok_or(Errno::ENODEV)?;
    let mut changed = false;
    if let Some(m) = mtu
        && m != d.mtu
    {
        d.mtu = m;
        // `addrconf_notify` NETDEV_CHANGEMTU: the IPv6 MTU follows the link's.
        d.conf6.set(crate::sysctl::ipv6::Knob::Mtu, i64::from(m));
        changed = true;
    }
    if new_up != up {
        if new_up {
            d.flags.insert(DevFlags::UP);
        } else {
            d.flags.remove(DevFlags::UP);
        }
        changed = true;
    }
    if changed {
        net.dev_changed(ctx.now, i);
    }
    Ok(())
}

/// `rtnl_dellink`: host devices have no `rtnl_link_ops`, so EOPNOTSUPP.
pub fn del(net: &mut Net, payload: &[u8]) -> NlResult<()> {
    let (ifm, attrs) = parse(payload)?;
    match target(net, &ifm, attrs)? {
        Some(_) => Err(Errno::EOPNOTSUPP.into()),
        None if ifm.index <= 0 && find_attr(attrs, IFLA_IFNAME).is_none() => {
            Err(Errno::EINVAL.into())
        }
        None => Err(Errno::ENODEV.into()),
    }
}
