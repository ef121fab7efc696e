//! RTM_GETLINK dumps for AF_INET6 (`addrconf.c` `inet6_dump_ifinfo`,
//! `inet6_fill_ifinfo`): what `ip -6 addr` reads of each link — name, address, MTU,
//! operational state and the IPv6 per-device block, no qdisc or group.

use super::Ctx;
use super::addr6::AF_INET6;
use super::link::oper_state;
use super::wire::*;
use crate::dev::Device;
use crate::net::Net;

const IFLA_PROTINFO: u16 = 12;
const IFLA_INET6_FLAGS: u16 = 1;
const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
/// `IF_READY`: the device has an inet6_dev that finished address configuration.
const IF_READY: u32 = 0x8000_0000;

fn fill(ctx: &mut Ctx<'_>, d: &Device, ready: bool) {
    let h = ctx.header(RTM_NEWLINK, true);
    let w = &mut *ctx.out;
    w.begin(h);
    let ty = if d.is_loopback() { ARPHRD_LOOPBACK } else { ARPHRD_ETHER };
    let flags = d.visible_flags().0;
    IfInfoMsg { family: AF_INET6, ty, index: d.ifindex as i32, flags, change: 0 }.emit(w);
    w.attr_str(IFLA_IFNAME, &d.name);
    w.attr(IFLA_ADDRESS, &d.mac.0);
    w.attr_u32(IFLA_MTU, d.mtu);
    w.attr_u8(IFLA_OPERSTATE, oper_state(d));
    let mut p = MsgWriter::default();
    p.attr_u32(IFLA_INET6_FLAGS, if ready { IF_READY } else { 0 });
    p.attr_u8(IFLA_INET6_ADDR_GEN_MODE, 0); // IN6_ADDR_GEN_MODE_EUI64
    w.attr(IFLA_PROTINFO, &p.buf);
    w.end();
}

pub fn dump(net: &mut Net, ctx: &mut Ctx<'_>) {
    for d in net.devs.iter() {
        let ready = net.ipv6.addrs.get(&d.ifindex).is_some_and(|v| !v.is_empty());
        fill(ctx, d, ready);
    }
}
