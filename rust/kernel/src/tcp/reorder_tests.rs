//! Reordering as the sender learns it from SACKs and cumulative ACKs (Linux
//! `tcp_check_sack_reordering`, `reord_seen`, `tp->reordering`) and what it changes:
//! RACK's reordering window (RFC 8985 §6.2).

use super::cong::INFINITE_SSTHRESH;
use super::tests::{Pair, SEC, Wire, established, pattern, transfer};

/// Holds a's data segment n (1-based) back until `k` later segments have left, for
/// each `(n, k)` in `holds`.
fn hold_data_segments(p: &mut Pair, holds: &'static [(u32, usize)]) {
    let mut n = 0;
    p.reorder = Some(Box::new(move |w: &Wire| {
        if !(w.from_a && w.len > 0) {
            return 0;
        }
        n += 1;
        holds.iter().find(|h| h.0 == n).map_or(0, |h| h.1)
    }));
}

fn send_all(p: &mut Pair, c: u32, child: u32, len: usize) {
    let data = pattern(len);
    let got = transfer(p, true, c, child, &data, 10 * SEC);
    assert!(got == data, "the data arrives intact");
}

/// An ACK that newly SACKs two blocks lists the newer one first (RFC 2018 §4); Linux
/// `tcp_sacktag_write_queue` sorts the blocks before tagging, so the older block's
/// segments are not taken for late arrivals below the newer one.
#[test]
fn sack_blocks_are_tagged_in_sequence_order_not_as_listed() {
    let (mut p, c, _l, child) = established();
    let mut n = 0;
    let mut hole = None;
    p.filter = Some(Box::new(move |w| {
        if w.from_a && w.len > 0 {
            n += 1;
            if n == 5 {
                hole = Some(w.seq);
            }
            return n == 5 || n == 10;
        }
        // b's duplicate ACKs for segments 6-9 never arrive: the first SACK a sees is
        // b's answer to segment 11, blocks [11, 12) then [6, 10).
        !w.from_a && n < 11 && hole == Some(w.ack)
    }));
    send_all(&mut p, c, child, 100_000);
    let mib = &p.a.tcp.stats.mib;
    assert_eq!(mib.retrans_segs, 2, "the two holes, nothing spurious");
    assert_eq!(mib.sack_reorder, 0, "no reordering on a FIFO path");
    assert_eq!(p.sock(true, c).reord_seen, 0);
}

/// An original transmission that arrives two segments late fills its hole before
/// RACK gives up on it (the reordering window is min_rtt / 4 below the duplicate
/// threshold): no retransmission, one reordering event from the cumulative ACK
/// (`tcp_clean_rtx_queue`), and a degree of 3 segments, not above the default.
#[test]
fn late_original_is_reordering_not_loss() {
    let (mut p, c, _l, child) = established();
    hold_data_segments(&mut p, &[(5, 2)]);
    send_all(&mut p, c, child, 100_000);
    let s = p.sock(true, c);
    assert_eq!(p.a.tcp.stats.mib.retrans_segs, 0);
    assert_eq!(p.a.tcp.stats.mib.sack_reorder, 1);
    assert_eq!((s.reord_seen, s.reordering), (1, 3));
    assert_eq!(s.tcp_info(p.now).reord_seen, 1, "TCP_INFO reports it");
}

/// Once reordering was seen RACK waits min_rtt / 4 even past three SACKs, so a segment
/// six places late is still not retransmitted, and the duplicate threshold rises to
/// the distance it was late by: 7 segments from its start to SND.UNA after it.
#[test]
fn reordering_degree_follows_the_distance_once_rack_waits() {
    let (mut p, c, _l, child) = established();
    hold_data_segments(&mut p, &[(5, 2), (40, 6)]);
    send_all(&mut p, c, child, 200_000);
    let s = p.sock(true, c);
    assert_eq!(p.a.tcp.stats.mib.retrans_segs, 0);
    assert_eq!(s.reord_seen, 2);
    assert_eq!(s.reordering, 7);
}

/// `tcp_max_reordering` caps the learned degree.
#[test]
fn reordering_degree_is_capped_by_tcp_max_reordering() {
    let (mut p, c, _l, child) = established();
    p.a.net.sysctl.tcp.tcp_max_reordering = 5;
    hold_data_segments(&mut p, &[(5, 2), (40, 6)]);
    send_all(&mut p, c, child, 200_000);
    assert_eq!(p.sock(true, c).reordering, 5);
}

/// A segment held back far past RACK's window is retransmitted, and its late original
/// comes back as a DSACK. Once reordering was seen, that DSACK widens RACK's window by
/// one step for 16 recoveries (RFC 8985 §6.2, Linux `tcp_rack_update_reo_wnd`); before,
/// it changes nothing (Linux ignores DSACKs for the window until `reord_seen`).
#[test]
fn dsack_widens_rack_window_only_after_reordering() {
    for (holds, steps) in [(&[(30, 300)][..], 1), (&[(5, 2), (30, 300)][..], 2)] {
        let (mut p, c, _l, child) = established();
        hold_data_segments(&mut p, holds);
        send_all(&mut p, c, child, 1_000_000);
        let s = p.sock(true, c);
        assert!(s.dsack_dups >= 1 && s.total_retrans >= 1, "{holds:?}: a spurious retransmission");
        assert_eq!(s.rack.reo_wnd_steps, steps, "{holds:?}");
    }
}

/// Holds a's data segment 30 back by `k` segments and drops its first
/// retransmission, so that the late original, not a retransmission, fills the hole.
fn late_original_lost_retransmission(k: usize) -> (Pair, u32) {
    let (mut p, c, _l, child) = established();
    let holds: &'static [(u32, usize)] = Box::leak(Box::new([(30, k)]));
    hold_data_segments(&mut p, holds);
    let (mut n, mut seq30, mut copies) = (0, None, 0);
    p.filter = Some(Box::new(move |w: &Wire| {
        if !(w.from_a && w.len > 0) {
            return false;
        }
        n += 1;
        if n == 30 {
            seq30 = Some(w.seq);
        }
        if seq30 == Some(w.seq) {
            copies += 1;
        }
        seq30 == Some(w.seq) && copies == 2
    }));
    send_all(&mut p, c, child, 1_000_000);
    (p, c)
}

/// The late original fills the hole before any retransmission arrives; the ACK echoes
/// its timestamp, older than the first retransmission, so the fast recovery was
/// needless. Arriving once the recovery point is acked, it undoes the whole reduction
/// at the recovery's end (Linux `tcp_try_undo_recovery`, TCPFullUndo); arriving with
/// the recovery point still outstanding and no retransmission left in flight, on that
/// partial ACK (`tcp_try_undo_partial`, TCPPartialUndo, a timestamp-detected
/// reordering). Either way slow start goes on: ssthresh is back to infinity.
#[test]
fn late_original_undoes_the_recovery_by_timestamps() {
    for (k, full, partial) in [(50, 1, 0), (20, 0, 1)] {
        let (p, c) = late_original_lost_retransmission(k);
        let (s, mib) = (p.sock(true, c), &p.a.tcp.stats.mib);
        assert_eq!(mib.fast_retrans, 1, "k={k}: one recovery");
        assert_eq!((mib.full_undo, mib.partial_undo), (full, partial), "k={k}");
        assert_eq!(mib.ts_reorder, partial, "k={k}");
        assert_eq!(s.ssthresh, INFINITE_SSTHRESH, "k={k}: the reduction was undone");
    }
    // The control: a retransmission fills the hole first, and the reduction stands.
    let (p, c) = late_original_lost_retransmission(100);
    let mib = &p.a.tcp.stats.mib;
    assert_eq!((mib.fast_retrans, mib.full_undo, mib.partial_undo), (1, 0, 0));
    assert!(p.sock(true, c).ssthresh < INFINITE_SSTHRESH);
}
