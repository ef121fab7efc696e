//! The node abstraction the engine drives. libos's `Kernel` is the main implementation;
//! other stacks (a smoltcp adapter for comparisons) plug in by implementing `Stack`.

use bytes::Bytes;
use libos_kernel::{DevFlags, DeviceConfig, EthernetAddress, Kernel};
use std::any::Any;

/// How a device is presented to the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DevMode {
    /// Plain Ethernet with ARP (what `veth` or a NIC looks like).
    #[default]
    Ethernet,
    /// `POINTOPOINT|NOARP` (what a PPP or GRE device looks like); frames still carry an
    /// Ethernet header on the wire and in pcaps.
    PointToPoint,
}

/// A network stack driven by the simulator, following the host contract of
/// `libos_kernel::Kernel`: after any input the engine drains `poll_transmit`, then
/// `poll_event`, then reads `next_deadline` and calls `advance` at that time.
pub trait Stack: Send {
    /// Creates a device; returns its interface index. The device is up when this returns.
    fn add_device(
        &mut self,
        now: u64,
        name: &str,
        mac: [u8; 6],
        mtu: u32,
        mode: DevMode,
    ) -> Result<u32, String>;
    fn dev_rx(&mut self, now: u64, ifindex: u32, frame: &[u8]);
    /// The next frame to send: (ifindex, whole Ethernet frame).
    fn poll_transmit(&mut self) -> Option<(u32, Bytes)>;
    /// The next socket readiness change: (fd, poll mask).
    fn poll_event(&mut self) -> Option<(i32, u16)> {
        None
    }
    /// The poll mask of `fd` now (None: unknown). Events are queued while a call runs,
    /// so the engine re-reads the mask when it hands an event to an app.
    fn poll_fd(&self, _fd: i32) -> Option<u16> {
        None
    }
    fn next_deadline(&self) -> Option<u64>;
    fn advance(&mut self, now: u64);
    /// The libos kernel behind this node, for configuration and the built-in apps.
    fn as_kernel(&mut self) -> Option<&mut Kernel> {
        None
    }
    /// Access to the concrete type, for adapters with their own apps.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl Stack for Kernel {
    fn add_device(
        &mut self,
        now: u64,
        name: &str,
        mac: [u8; 6],
        mtu: u32,
        mode: DevMode,
    ) -> Result<u32, String> {
        let mut cfg = DeviceConfig::ethernet(name, EthernetAddress(mac));
        cfg.mtu = mtu;
        if mode == DevMode::PointToPoint {
            cfg.flags = DevFlags::POINTOPOINT | DevFlags::NOARP | DevFlags::MULTICAST;
        }
        let ifindex = self.dev_add(cfg).map_err(|e| format!("dev_add {name}: {e:?}"))?;
        self.dev_set_up(now, ifindex, true).map_err(|e| format!("set {name} up: {e:?}"))?;
        Ok(ifindex)
    }

    fn dev_rx(&mut self, now: u64, ifindex: u32, frame: &[u8]) {
        Kernel::dev_rx(self, now, ifindex, frame)
    }

    fn poll_transmit(&mut self) -> Option<(u32, Bytes)> {
        Kernel::poll_transmit(self).map(|t| (t.ifindex, t.frame))
    }

    fn poll_event(&mut self) -> Option<(i32, u16)> {
        Kernel::poll_event(self).map(|e| (e.fd, e.revents))
    }

    fn poll_fd(&self, fd: i32) -> Option<u16> {
        Kernel::poll(self, fd).ok()
    }

    fn next_deadline(&self) -> Option<u64> {
        Kernel::next_deadline(self)
    }

    fn advance(&mut self, now: u64) {
        Kernel::advance(self, now)
    }

    fn as_kernel(&mut self) -> Option<&mut Kernel> {
        Some(self)
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
