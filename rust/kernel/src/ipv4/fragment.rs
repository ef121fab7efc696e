//! Output fragmentation (RFC 791 §3.2 "fragmentation", Linux `ip_do_fragment` slow
//! path): every fragment but the last carries a multiple of 8 bytes; the first keeps
//! the options, later ones only a plain 20-byte header (we copy no options, as the
//! only ones we would emit are not "copied" options).

use crate::pktbuf::PacketBuf;
use crate::wire::ipv4::{HEADER_LEN, Ipv4Packet};

/// Splits the IP packet `packet` into fragments of at most `mtu` bytes. None if the
/// MTU cannot carry 8 bytes of payload after the header.
pub(super) fn fragment(packet: &[u8], mtu: usize) -> Option<Vec<PacketBuf>> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    let hlen = ip.header_len();
    let payload = ip.payload();
    // A fragment being re-fragmented keeps its offset base and its MF bit on the tail.
    let base = ip.frag_offset();
    let tail_mf = ip.more_frags();
    if mtu < hlen + 8 || mtu < HEADER_LEN + 8 {
        return None;
    }
    let mut out = Vec::new();
    let mut off = 0;
    while off < payload.len() {
        let h = if off == 0 { hlen } else { HEADER_LEN };
        let room = (mtu - h) & !7;
        let len = room.min(payload.len() - off);
        let last = off + len == payload.len();
        let mut f = PacketBuf::new(h + len);
        let d = f.data_mut();
        d[..h].copy_from_slice(&ip.header()[..h]);
        d[h..].copy_from_slice(&payload[off..off + len]);
        let mut fp = Ipv4Packet::new_unchecked(&mut d[..]);
        fp.set_ver_ihl(h);
        fp.set_total_len((h + len) as u16);
        fp.set_frag(false, !last || tail_mf, base + off);
        fp.fill_checksum();
        out.push(f);
        off += len;
    }
    Some(out)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::wire::ipv4::{Ipv4Repr, proto};
    use std::net::Ipv4Addr;

    /// A UDP datagram 10.0.0.1 -> 10.0.1.2 with `payload_len` patterned bytes.
    pub(crate) fn datagram(payload_len: usize, ident: u16) -> Vec<u8> {
        let repr = Ipv4Repr {
            src_addr: Ipv4Addr::new(10, 0, 0, 1),
            dst_addr: Ipv4Addr::new(10, 0, 1, 2),
            protocol: proto::UDP,
            payload_len,
            ttl: 64,
            tos: 0,
            ident,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        };
        let mut v = vec![0u8; HEADER_LEN + payload_len];
        for (i, b) in v[HEADER_LEN..].iter_mut().enumerate() {
            *b = (i * 7) as u8;
        }
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut v[..]));
        v
    }

    #[test]
    fn splits_on_8_byte_boundaries() {
        let d = datagram(3000, 7);
        let frags = fragment(&d, 1500).unwrap();
        assert_eq!(frags.len(), 3);
        let mut joined = Vec::new();
        for (i, f) in frags.iter().enumerate() {
            let p = Ipv4Packet::new_checked(f.data()).unwrap();
            assert!(p.verify_checksum());
            assert!(f.len() <= 1500);
            assert_eq!(p.ident(), 7);
            assert_eq!(p.more_frags(), i < 2);
            assert_eq!(p.frag_offset() % 8, 0);
            assert_eq!(p.frag_offset(), joined.len());
            joined.extend_from_slice(p.payload());
        }
        assert_eq!(&joined[..], &d[HEADER_LEN..]);
        assert_eq!(Ipv4Packet::new_unchecked(frags[0].data()).payload().len(), 1480);
    }

    #[test]
    fn tiny_mtu_refused() {
        assert!(fragment(&datagram(100, 1), 27).is_none());
        assert_eq!(fragment(&datagram(100, 1), 68).unwrap().len(), 3);
    }
}
