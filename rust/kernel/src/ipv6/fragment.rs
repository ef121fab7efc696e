//! IPv6 source fragmentation (RFC 8200 §4.5; Linux `ip6_fragment`): only the source
//! fragments; each fragment repeats the (here empty) unfragmentable part and carries a
//! Fragment header with a random 32-bit identification (`ipv6_select_ident`) and a
//! multiple of 8 bytes, the last excepted.

use super::output::Ip6Tx;
use crate::net::Net;
use crate::pktbuf::PacketBuf;
use crate::wire::ipv6::{HEADER_LEN, nexthdr};
use crate::{Nanos, SysResult};
use std::net::Ipv6Addr;

/// Fragment header length (RFC 8200 §4.5).
pub const FRAG_HLEN: usize = 8;

/// The payload bytes each fragment but the last carries under `mtu`.
pub fn chunk_len(mtu: u32) -> usize {
    (mtu as usize).saturating_sub(HEADER_LEN + FRAG_HLEN) & !7
}

impl Net {
    /// `ip6_fragment`: sends `pkt` (upper header and payload) as fragments no larger
    /// than `mtu`, all through `next_hop`.
    pub(crate) fn ip6_fragment(
        &mut self,
        now: Nanos,
        tx: &Ip6Tx,
        next_hop: Ipv6Addr,
        tclass: u8,
        pkt: PacketBuf,
        mtu: u32,
    ) -> SysResult<()> {
        let chunk = chunk_len(mtu).max(8);
        let id = self.rng.next_u32();
        let data = pkt.data();
        let frag_tx = Ip6Tx { next_header: nexthdr::FRAGMENT, ..*tx };
        let mut off = 0;
        let mut result = Ok(());
        while off < data.len() {
            let end = (off + chunk).min(data.len());
            let more = end < data.len();
            let mut f = PacketBuf::new(FRAG_HLEN + end - off);
            let b = f.data_mut();
            b[0] = tx.next_header;
            b[1] = 0;
            let word = (off as u16) | u16::from(more);
            b[2..4].copy_from_slice(&word.to_be_bytes());
            b[4..8].copy_from_slice(&id.to_be_bytes());
            b[FRAG_HLEN..].copy_from_slice(&data[off..end]);
            self.ipv6.mib.frag_creates += 1;
            if let Err(e) = self.ip6_output_tc(now, &frag_tx, next_hop, tclass, f) {
                result = Err(e);
            }
            off = end;
        }
        match result {
            Ok(()) => self.ipv6.mib.frag_oks += 1,
            Err(_) => self.ipv6.mib.frag_fails += 1,
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_multiples_of_eight_within_the_mtu() {
        assert_eq!(chunk_len(1280), 1232);
        assert_eq!(chunk_len(1500), 1448);
        assert!(HEADER_LEN + FRAG_HLEN + chunk_len(1337) <= 1337);
    }
}
