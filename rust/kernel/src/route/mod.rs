//! The FIB (placeholder until the IPv4 routing implementation lands).

use crate::dev::IfIndex;
use std::net::IpAddr;

/// Route types with Linux's `RTN_*` meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum RouteKind {
    #[default]
    Unicast,
    Local,
    Broadcast,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// One route as `ip route add` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dst: IpAddr,
    pub prefix_len: u8,
    pub gateway: Option<IpAddr>,
    pub oif: Option<IfIndex>,
    /// Preferred source address (`src`).
    pub src: Option<IpAddr>,
    pub metric: u32,
    pub kind: RouteKind,
    /// `RTPROT_*`: 2 kernel, 3 boot, 4 static...
    pub protocol: u8,
    /// `RT_SCOPE_*`: 0 universe, 253 link, 254 host.
    pub scope: u8,
    /// Routing table id (254 = main, 255 = local).
    pub table: u32,
}

impl Route {
    /// A static unicast route in the main table, as `ip route add dst/len via gw`.
    pub fn new(
        dst: IpAddr,
        prefix_len: u8,
        gateway: Option<IpAddr>,
        oif: Option<IfIndex>,
    ) -> Route {
        Route {
            dst,
            prefix_len,
            gateway,
            oif,
            src: None,
            metric: 0,
            kind: RouteKind::Unicast,
            protocol: 3,
            scope: if gateway.is_some() { 0 } else { 253 },
            table: 254,
        }
    }
}

#[derive(Default)]
pub struct Fib {}
