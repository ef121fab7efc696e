use super::*;
use crate::ipv4::fragment::tests::datagram;
use crate::ipv4::inet_fragment::FRAG_OVERHEAD;
use crate::wire::ipv4::HEADER_LEN;

const SEC: Nanos = 1_000_000_000;

fn frags(d: &[u8], mtu: usize) -> Vec<Vec<u8>> {
    crate::ipv4::fragment::fragment(d, mtu).unwrap().iter().map(|f| f.data().to_vec()).collect()
}

/// A fragment of `d` covering payload [off, off+len), MF as given.
fn piece(d: &[u8], off: usize, len: usize, mf: bool) -> Vec<u8> {
    let mut v = d[..HEADER_LEN].to_vec();
    v.extend_from_slice(&d[HEADER_LEN + off..HEADER_LEN + off + len]);
    let mut p = Ipv4Packet::new_unchecked(&mut v[..]);
    p.set_total_len((HEADER_LEN + len) as u16);
    p.set_frag(false, mf, off);
    p.fill_checksum();
    v
}

#[test]
fn in_order() {
    let mut net = Net::new(1);
    let d = datagram(4000, 1);
    let f = frags(&d, 1500);
    assert_eq!(defrag(0, &mut net, &f[0]), None);
    assert_eq!(defrag(0, &mut net, &f[1]), None);
    assert_eq!(defrag(0, &mut net, &f[2]).unwrap(), d);
    assert_eq!(net.ipv4.mib.reasm_oks, 1);
    assert_eq!(net.ipv4.mib.reasm_reqds, 3);
    assert_eq!(net.ipv4.frags.mem(), 0);
    assert!(net.ipv4.frags.next_deadline().is_none());
}

#[test]
fn reverse_order_and_duplicates() {
    let mut net = Net::new(1);
    let d = datagram(4000, 2);
    let f = frags(&d, 1000);
    let n = f.len();
    for x in f[1..].iter().rev() {
        assert_eq!(defrag(0, &mut net, x), None);
    }
    // An exact duplicate and a fragment inside held data are ignored, not fatal.
    assert_eq!(defrag(0, &mut net, &f[n - 1]), None);
    assert_eq!(defrag(0, &mut net, &piece(&d, 976, 16, true)), None);
    assert_eq!(defrag(0, &mut net, &f[0]).unwrap(), d);
    assert_eq!(net.ipv4.mib.reasm_fails, 0);
}

#[test]
fn overlap_drops_the_datagram() {
    let mut net = Net::new(1);
    let d = datagram(3000, 3);
    assert_eq!(defrag(0, &mut net, &piece(&d, 0, 1480, true)), None);
    // Overlaps [0,1480) partially: RFC 5722 behaviour, the whole queue goes.
    assert_eq!(defrag(0, &mut net, &piece(&d, 1472, 1528, false)), None);
    assert_eq!(net.ipv4.mib.reasm_overlaps, 1);
    assert_eq!(net.ipv4.mib.reasm_fails, 1);
    assert_eq!(net.ipv4.frags.mem(), 0);
    // The rest of the datagram now starts a new queue that cannot complete.
    assert_eq!(defrag(0, &mut net, &piece(&d, 1480, 1520, false)), None);
}

#[test]
fn contradictory_last_fragment_kills_queue() {
    let mut net = Net::new(1);
    let d = datagram(3000, 4);
    assert_eq!(defrag(0, &mut net, &piece(&d, 1480, 1520, false)), None);
    assert_eq!(defrag(0, &mut net, &piece(&d, 1480, 1000, false)), None);
    assert_eq!(net.ipv4.mib.reasm_fails, 1);
}

#[test]
fn timeout_sends_time_exceeded_only_with_first_fragment() {
    let mut net = Net::new(1);
    let d = datagram(3000, 5);
    let f = frags(&d, 1500);
    defrag(0, &mut net, &f[1]);
    assert_eq!(net.ipv4.frags.next_deadline(), Some(30 * SEC));
    expire(30 * SEC, &mut net);
    assert_eq!(net.ipv4.mib.reasm_timeout, 1);
    assert_eq!(net.ipv4.icmp_mib.out_type[usize::from(ty::TIME_EXCEEDED)], 0);
    // With the first fragment held, an ICMP time exceeded (code 1) is attempted (it
    // has no route here, so it counts as an output error).
    defrag(40 * SEC, &mut net, &f[0]);
    expire(69 * SEC, &mut net);
    assert_eq!(net.ipv4.mib.reasm_timeout, 1);
    expire(70 * SEC, &mut net);
    assert_eq!(net.ipv4.mib.reasm_timeout, 2);
    assert_eq!(net.ipv4.mib.reasm_fails, 2);
    assert!(net.ipv4.frags.is_empty());
}

#[test]
fn memory_is_bounded_by_high_thresh() {
    let mut net = Net::new(1);
    net.sysctl.ipv4.ipfrag_high_thresh = 20_000;
    for id in 0..100u16 {
        let d = datagram(3000, id);
        defrag(0, &mut net, &frags(&d, 1500)[0]);
    }
    assert!(net.ipv4.frags.mem() <= 20_000 + 1480 + FRAG_OVERHEAD);
    assert!(net.ipv4.mib.reasm_fails > 80);
}

#[test]
fn oversized_datagram_is_refused() {
    let mut net = Net::new(1);
    let d = datagram(64, 9);
    let mut v = piece(&d, 0, 64, false);
    let mut p = Ipv4Packet::new_unchecked(&mut v[..]);
    p.set_frag(false, false, 65528);
    p.fill_checksum();
    assert_eq!(defrag(0, &mut net, &v), None);
    assert_eq!(net.ipv4.mib.reasm_fails, 1);
}

#[test]
fn head_options_cannot_push_past_64k() {
    let mut net = Net::new(1);
    let d = datagram(64, 10);
    // The head carries 40 bytes of options (NOPs) and fits on its own...
    let mut head = d[..HEADER_LEN].to_vec();
    head.extend([1u8; 40]);
    head.extend(std::iter::repeat_n(0xabu8, 65448));
    let mut p = Ipv4Packet::new_unchecked(&mut head[..]);
    p.set_ver_ihl(60);
    p.set_total_len((60 + 65448) as u16);
    p.set_frag(false, true, 0);
    p.fill_checksum();
    assert!(Ipv4Packet::new_checked(&head[..]).is_ok());
    assert_eq!(defrag(0, &mut net, &head), None);
    // ...and so does a 20-byte-header tail ending at 65512, but not both together.
    let mut tail = piece(&d, 0, 64, false);
    let mut p = Ipv4Packet::new_unchecked(&mut tail[..]);
    p.set_frag(false, false, 65448);
    p.fill_checksum();
    assert_eq!(defrag(0, &mut net, &tail), None);
    assert_eq!(net.ipv4.mib.reasm_fails, 1);
    assert_eq!(net.ipv4.mib.reasm_oks, 0);
}

#[test]
fn random_fragments_never_panic_and_memory_drains() {
    let mut net = Net::new(1);
    let mut rng = crate::rand::Rng::new(42);
    let d = datagram(4000, 11);
    for round in 0..3000u32 {
        let off = (rng.range_u32(0, 600) * 8) as usize;
        let len = rng.range_u32(0, 1500) as usize;
        let len = len.min(4000usize.saturating_sub(off));
        let mf = rng.range_u32(0, 3) != 0;
        let mut v = piece(&d, off.min(4000), len, mf);
        let mut p = Ipv4Packet::new_unchecked(&mut v[..]);
        p.set_ident((round % 7) as u16);
        p.fill_checksum();
        if let Some(whole) = defrag(Nanos::from(round) * 1_000_000, &mut net, &v) {
            let p = Ipv4Packet::new_checked(&whole[..]).unwrap();
            assert!(p.verify_checksum() && !p.is_fragment());
        }
    }
    expire(1000 * SEC, &mut net);
    assert_eq!(net.ipv4.frags.mem(), 0);
    assert!(net.ipv4.frags.is_empty());
}
