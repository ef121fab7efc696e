//! `SmolNode` as a `libos_sim::Stack`, so smoltcp runs on the same engine and links as
//! libos. One Ethernet device per node (ifindex 2, as libos numbers its first device).

use super::smol::SmolNode;
use bytes::Bytes;
use libos_sim::stack::{DevMode, Stack};
use std::any::Any;

pub const SMOL_IFINDEX: u32 = 2;

impl Stack for SmolNode {
    fn add_device(
        &mut self,
        _now: u64,
        _name: &str,
        mac: [u8; 6],
        mtu: u32,
        _mode: DevMode,
    ) -> Result<u32, String> {
        use smoltcp::wire::{EthernetAddress, HardwareAddress};
        self.iface.set_hardware_addr(HardwareAddress::Ethernet(EthernetAddress(mac)));
        self.dev.mtu = mtu as usize;
        Ok(SMOL_IFINDEX)
    }

    fn dev_rx(&mut self, now: u64, _ifindex: u32, frame: &[u8]) {
        SmolNode::dev_rx(self, now, frame)
    }

    fn poll_transmit(&mut self) -> Option<(u32, Bytes)> {
        SmolNode::poll_transmit(self).map(|f| (SMOL_IFINDEX, Bytes::from(f)))
    }

    fn next_deadline(&self) -> Option<u64> {
        SmolNode::next_deadline(self)
    }

    fn advance(&mut self, now: u64) {
        SmolNode::advance(self, now)
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
