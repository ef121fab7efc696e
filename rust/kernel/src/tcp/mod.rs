//! TCP sockets (placeholder until the TCP implementation lands).

use crate::net::{IcmpError, IpRx, Net};
use crate::socket::ProtoOps;
use crate::{Errno, Nanos, SysResult};
use std::net::SocketAddr;

pub mod info;
pub use info::TcpInfo;

#[derive(Default)]
pub struct TcpTable {}

impl TcpTable {
    pub fn icmp_error(&mut self, _now: Nanos, _net: &mut Net, _err: &IcmpError<'_>) {}
}

impl ProtoOps for TcpTable {
    fn open(&mut self, _net: &mut Net, _domain: i32, _protocol: i32) -> SysResult<u32> {
        Err(Errno::EPROTONOSUPPORT)
    }
    fn bind(&mut self, _net: &mut Net, _id: u32, _addr: SocketAddr) -> SysResult<()> {
        Err(Errno::EBADF)
    }
    fn connect(
        &mut self,
        _now: Nanos,
        _net: &mut Net,
        _id: u32,
        _addr: SocketAddr,
    ) -> SysResult<()> {
        Err(Errno::EBADF)
    }
    fn sendto(
        &mut self,
        _now: Nanos,
        _net: &mut Net,
        _id: u32,
        _data: &[u8],
        _flags: i32,
        _to: Option<SocketAddr>,
    ) -> SysResult<usize> {
        Err(Errno::EBADF)
    }
    fn recvfrom(
        &mut self,
        _now: Nanos,
        _net: &mut Net,
        _id: u32,
        _buf: &mut [u8],
        _flags: i32,
    ) -> SysResult<(usize, Option<SocketAddr>)> {
        Err(Errno::EBADF)
    }
    fn shutdown(&mut self, _now: Nanos, _net: &mut Net, _id: u32, _how: i32) -> SysResult<()> {
        Err(Errno::EBADF)
    }
    fn close(&mut self, _now: Nanos, _net: &mut Net, _id: u32) {}
    fn setsockopt(
        &mut self,
        _now: Nanos,
        _net: &mut Net,
        _id: u32,
        _level: i32,
        _name: i32,
        _val: &[u8],
    ) -> SysResult<()> {
        Err(Errno::ENOPROTOOPT)
    }
    fn getsockopt(
        &mut self,
        _net: &Net,
        _id: u32,
        _level: i32,
        _name: i32,
        _out: &mut [u8],
    ) -> SysResult<usize> {
        Err(Errno::ENOPROTOOPT)
    }
    fn local_addr(&self, _id: u32) -> SysResult<SocketAddr> {
        Err(Errno::EBADF)
    }
    fn peer_addr(&self, _id: u32) -> SysResult<SocketAddr> {
        Err(Errno::ENOTCONN)
    }
    fn poll(&self, _id: u32) -> u16 {
        0
    }
    fn queued(&self, _id: u32) -> (usize, usize) {
        (0, 0)
    }
    fn next_deadline(&self) -> Option<Nanos> {
        None
    }
    fn advance(&mut self, _now: Nanos, _net: &mut Net) {}
}

impl TcpTable {
    /// TCP_INFO of socket `id`.
    pub fn info(&self, _id: u32) -> SysResult<TcpInfo> {
        Err(Errno::EBADF)
    }

    pub fn input(
        &mut self,
        _now: Nanos,
        _net: &mut Net,
        _rx: &IpRx<'_>,
        _payload: &[u8],
    ) -> crate::net::Delivery {
        crate::net::Delivery::Dropped
    }
}

pub mod cong {
    //! Congestion-control registry (placeholder).
    pub struct CongInfo {
        pub name: &'static str,
    }
    static ALL: [CongInfo; 1] = [CongInfo { name: "reno" }];
    pub fn lookup(name: &str) -> Option<&'static CongInfo> {
        ALL.iter().find(|c| c.name == name)
    }
    pub fn available() -> Vec<&'static str> {
        ALL.iter().map(|c| c.name).collect()
    }
}
