//! IPv4 (placeholder until the IPv4 implementation lands).

use crate::dev::IfIndex;
use crate::net::{IpTx, Net, RouteOut, Transport};
use crate::pktbuf::PacketBuf;
use crate::route::Route;
use crate::{Errno, Nanos, SysResult};
use std::net::IpAddr;

#[derive(Default)]
pub struct Ipv4State {}

/// Handles one received IPv4 packet (`ip_rcv`): validate, reassemble, deliver or forward.
pub fn input(
    _now: Nanos,
    _net: &mut Net,
    _tp: &mut dyn Transport,
    _ifindex: IfIndex,
    _packet: &[u8],
    _link_multicast: bool,
) {
}

/// Handles one received ARP packet (`arp_rcv`).
pub fn arp_input(_now: Nanos, _net: &mut Net, _ifindex: IfIndex, _packet: &[u8]) {}

impl Net {
    /// Output route lookup (`ip_route_output_key`).
    pub fn route_output(&self, _dst: IpAddr, _oif: Option<IfIndex>) -> SysResult<RouteOut> {
        Err(Errno::ENETUNREACH)
    }

    /// Sends a locally generated packet (`ip_queue_xmit`/`ip_push_pending_frames`):
    /// prepends the IP header, fragments if allowed, resolves the next hop and transmits.
    pub fn ip_output(&mut self, _now: Nanos, _tx: &IpTx, _pkt: PacketBuf) -> SysResult<()> {
        Err(Errno::ENETUNREACH)
    }

    pub fn addr_add(
        &mut self,
        _now: Nanos,
        _ifindex: IfIndex,
        _addr: IpAddr,
        _prefix_len: u8,
    ) -> SysResult<()> {
        Ok(())
    }

    pub fn addr_del(
        &mut self,
        _now: Nanos,
        _ifindex: IfIndex,
        _addr: IpAddr,
        _prefix_len: u8,
    ) -> SysResult<()> {
        Err(Errno::EOPNOTSUPP)
    }

    pub fn route_add(&mut self, _route: Route) -> SysResult<()> {
        Err(Errno::EOPNOTSUPP)
    }

    pub fn route_del(&mut self, _route: &Route) -> SysResult<()> {
        Err(Errno::EOPNOTSUPP)
    }

    /// Called when a device goes up/down or changes carrier (flush routes, neighbours).
    pub fn dev_changed(&mut self, _now: Nanos, _ifindex: IfIndex) {}

    /// Earliest deadline of IP-layer timers (neighbours, reassembly).
    pub fn ip_next_deadline(&self) -> Option<Nanos> {
        None
    }

    /// Fires IP-layer timers due at `now`.
    pub fn ip_advance(&mut self, _now: Nanos) {}
}
