//! Loss recovery with and without SACK, on the pair harness of `tests.rs`: the SACK
//! scoreboard and RACK (RFC 6675, RFC 8985), DSACK (RFC 2883), PRR (RFC 6937), and
//! NewReno when SACK is off (RFC 6582).

use super::cong::CaState;
use super::tests::{MS, Pair, SEC, established, established_with, pattern, transfer};
use crate::Nanos;
use crate::wire::tcp::{Control, TcpOptions, TcpRepr};

/// Drops the data segments from `a` whose 1-based send index is in `lose`.
fn lose_data_segments(p: &mut Pair, lose: &'static [u32]) {
    let mut n = 0;
    p.filter = Some(Box::new(move |w| {
        if w.from_a && w.len > 0 {
            n += 1;
            return lose.contains(&n);
        }
        false
    }));
}

/// Sends `len` pattern bytes from a's socket `c` to b's `child` in steps of 1 ms of
/// virtual time (b reads everything each step), calling `each` with a's socket after every
/// step until it returns false or `steps` have passed.
fn bulk_by_millisecond(
    p: &mut Pair,
    c: u32,
    child: u32,
    len: usize,
    steps: usize,
    mut each: impl FnMut(&super::sock::TcpSock) -> bool,
) {
    let data = pattern(len);
    let mut sent = 0;
    for _ in 0..steps {
        if sent < data.len()
            && let Ok(k) = p.send(true, c, &data[sent..])
        {
            sent += k;
        }
        p.run_for(MS);
        while let Ok(v) = p.recv(false, child, 1 << 20) {
            if v.is_empty() {
                break;
            }
        }
        if !each(p.sock(true, c)) {
            break;
        }
    }
}

/// Runs a 300 kB transfer from a to b losing `lose`; returns the pair, a's socket and
/// the virtual time the transfer took.
fn lossy_transfer(sack: bool, lose: &'static [u32]) -> (Pair, u32, Nanos) {
    let (mut p, c, _l, child) = established_with(|p| {
        p.a.net.sysctl.tcp.tcp_sack = sack;
        p.b.net.sysctl.tcp.tcp_sack = sack;
    });
    lose_data_segments(&mut p, lose);
    let data = pattern(300_000);
    let start = p.now;
    let got = transfer(&mut p, true, c, child, &data, 30 * SEC);
    assert!(got == data, "sack={sack}: the data arrives intact");
    let took = p.now - start;
    (p, c, took)
}

#[test]
fn sack_repairs_three_holes_in_one_recovery() {
    let (p, c, _) = lossy_transfer(true, &[20, 22, 24]);
    let mib = &p.a.tcp.stats.mib;
    assert_eq!(mib.sack_recovery, 1, "one recovery episode");
    assert_eq!(mib.reno_recovery, 0);
    assert_eq!(mib.retrans_segs, 3, "exactly the three holes, nothing spurious");
    assert_eq!(p.sock(true, c).backoff, 0, "no RTO");
    // tcpi_bytes_sent counts the retransmitted bytes too, as Linux's does.
    let info = p.sock(true, c).tcp_info(p.now);
    assert_eq!(info.bytes_retrans, 3 * 1448);
    assert_eq!(info.bytes_sent, 300_000 + info.bytes_retrans);
}

#[test]
fn newreno_without_sack_repairs_one_hole_per_round_trip() {
    let (p_sack, _, t_sack) = lossy_transfer(true, &[20, 22, 24]);
    let (p, c, t_reno) = lossy_transfer(false, &[20, 22, 24]);
    let mib = &p.a.tcp.stats.mib;
    assert_eq!(mib.reno_recovery, 1, "NewReno stays in one recovery (RFC 6582)");
    assert_eq!(mib.sack_recovery, 0);
    assert_eq!(mib.retrans_segs, 3);
    assert_eq!(p.sock(true, c).backoff, 0, "partial ACKs, no RTO");
    assert_eq!(p_sack.a.tcp.stats.mib.retrans_segs, 3);
    // Each partial ACK reveals the next hole one round trip later; SACK sees all three
    // at once.
    assert!(t_sack < t_reno, "SACK {t_sack} ns should beat NewReno {t_reno} ns");
}

#[test]
fn rack_marks_a_lost_retransmission_lost_again() {
    // The 20th segment and its first retransmission are both lost: RACK sees later
    // segments delivered and marks the retransmission lost without waiting for an
    // RTO (Linux TCPLostRetransmit).
    let (mut p, c, _l, child) = established();
    let mut n = 0;
    let mut seq20 = None;
    p.filter = Some(Box::new(move |w| {
        if !(w.from_a && w.len > 0) {
            return false;
        }
        n += 1;
        if n == 20 {
            seq20 = Some(w.seq);
            return true;
        }
        // Drop the first retransmission of that segment too.
        if seq20 == Some(w.seq) {
            seq20 = None;
            return true;
        }
        false
    }));
    let data = pattern(400_000);
    let got = transfer(&mut p, true, c, child, &data, 30 * SEC);
    assert!(got == data);
    let mib = &p.a.tcp.stats.mib;
    assert_eq!(mib.retrans_segs, 2);
    assert_eq!(mib.lost_retransmit, 1);
    assert_eq!(p.sock(true, c).backoff, 0, "recovered without an RTO");
}

#[test]
fn prr_brings_cwnd_down_to_ssthresh_gradually() {
    // Reno's numbers (ssthresh = cwnd / 2); CUBIC's 0.7 leaves pipe below ssthresh.
    let (mut p, c, _l, child) =
        established_with(|p| p.a.net.sysctl.tcp.tcp_congestion_control = "reno");
    lose_data_segments(&mut p, &[60]);
    let mut seen_recovery = Vec::new();
    let mut prior_cwnd = 0;
    bulk_by_millisecond(&mut p, c, child, 2_000_000, 4000, |s| {
        if s.ca_state == CaState::Recovery {
            seen_recovery.push((s.cwnd, s.ssthresh));
            prior_cwnd = s.prior_cwnd;
        } else if !seen_recovery.is_empty() {
            return false;
        }
        true
    });
    assert!(!seen_recovery.is_empty(), "recovery was entered");
    let ssthresh = seen_recovery[0].1;
    let lowest = seen_recovery.iter().map(|x| x.0).min().unwrap();
    // RFC 6937: cwnd falls toward ssthresh as ACKs arrive, not to ssthresh/2 or 1 ...
    assert!(lowest * 2 > ssthresh, "cwnd {lowest} collapsed below half of ssthresh {ssthresh}");
    assert!(ssthresh < prior_cwnd, "Reno halves: {ssthresh} vs {prior_cwnd}");
    // ... and recovery ends with cwnd = ssthresh. The ACK that ends it counts towards
    // growth (Linux `tcp_cong_control` after `tcp_fastretrans_alert`) with what it
    // newly delivered, the retransmission, not the segments SACKed before: counted
    // again they would already lift cwnd above ssthresh.
    assert_eq!(p.sock(true, c).cwnd, ssthresh);
    assert!(p.sock(true, c).cwnd_cnt > 0);
}

/// 3,000 bytes from a to b, all delivered and acknowledged; then the first 1,000 are
/// replayed to b as if a had retransmitted them needlessly. Returns the pair and a's
/// and b's sockets.
fn replay_delivered_data() -> (Pair, u32, u32) {
    let (mut p, c, _l, child) = established();
    assert_eq!(p.send(true, c, &pattern(3000)), Ok(3000));
    p.run_for(200 * MS);
    assert_eq!(p.recv(false, child, 10_000).unwrap().len(), 3000);
    let s = p.sock(true, c);
    let payload = pattern(1000);
    let repr = TcpRepr {
        src_port: s.local.port(),
        dst_port: s.remote.port(),
        control: Control::None,
        psh: false,
        ece: false,
        cwr: false,
        seq_number: s.snd_una - 3000,
        ack_number: Some(p.sock(false, child).snd_una),
        window_len: 1000,
        options: TcpOptions::default(),
        payload: &payload,
    };
    p.inject_to_b(&repr);
    p.run_for(100 * MS);
    (p, c, child)
}

#[test]
fn duplicate_segment_gets_a_dsack_and_the_sender_counts_it() {
    let (p, c, child) = replay_delivered_data();
    // b answered at once with a DSACK block for the duplicate (RFC 2883 §4), and a
    // counted it without touching its scoreboard.
    assert_eq!(p.a.tcp.stats.mib.dsack_recv, 1);
    assert_eq!(p.b.tcp.stats.mib.in_errs, 0);
    assert_eq!(p.sock(true, c).sacked_out, 0);
    assert_eq!(p.sock(false, child).dsack, None, "reported once");
}

#[test]
fn tail_loss_probe_repairs_a_lost_tail_without_an_rto() {
    // The last two segments of a 20-segment write are lost and nothing follows them:
    // no duplicate ACK can come. The probe (the last segment again) arrives out of
    // order, b SACKs it, RACK marks the other hole lost: fast recovery, no RTO.
    let (mut p, c, _l, child) = established();
    let mss = p.sock(true, c).mss as usize;
    lose_data_segments(&mut p, &[19, 20]);
    let data = pattern(20 * mss);
    let got = transfer(&mut p, true, c, child, &data, 10 * SEC);
    assert!(got == data);
    let mib = &p.a.tcp.stats.mib;
    assert_eq!(mib.loss_probes, 1, "one probe for the tail");
    assert_eq!(mib.timeouts, 0, "no RTO");
    assert_eq!(mib.retrans_segs, 2, "the probe and the other lost segment");
}

#[test]
fn without_tlp_the_same_tail_waits_for_the_rto() {
    let (mut p, c, _l, child) = established_with(|p| p.a.net.sysctl.tcp.tcp_early_retrans = 0);
    let mss = p.sock(true, c).mss as usize;
    lose_data_segments(&mut p, &[19, 20]);
    let data = pattern(20 * mss);
    let got = transfer(&mut p, true, c, child, &data, 10 * SEC);
    assert!(got == data);
    let mib = &p.a.tcp.stats.mib;
    assert_eq!(mib.loss_probes, 0);
    assert_eq!(mib.timeouts, 1);
}

#[test]
fn spurious_rto_is_undone_by_dsack() {
    // b's ACKs are lost until a's RTO fires; the retransmission then reaches b as a
    // duplicate, b DSACKs it, and a restores cwnd and ssthresh (RFC 2883 §5, Linux
    // TCPDSACKUndo).
    use std::cell::Cell;
    use std::rc::Rc;
    let (mut p, c, _l, child) = established();
    let data = pattern(200_000);
    let _ = transfer(&mut p, true, c, child, &data, 10 * SEC);
    let cwnd_before = p.sock(true, c).cwnd;
    let blackout = Rc::new(Cell::new(true));
    let b2 = blackout.clone();
    p.filter = Some(Box::new(move |w| !w.from_a && b2.get()));
    assert_eq!(p.send(true, c, &pattern(4 * 1448)), Ok(4 * 1448));
    for _ in 0..1000 {
        if p.a.tcp.stats.mib.timeouts > 0 {
            break;
        }
        p.run_for(MS);
    }
    assert_eq!(p.a.tcp.stats.mib.timeouts, 1, "the RTO fired");
    assert_eq!(p.sock(true, c).ca_state, CaState::Loss);
    // The retransmission is still on its way to b; from now on b's ACKs get through.
    blackout.set(false);
    p.run_for(2 * SEC);
    let s = p.sock(true, c);
    assert!(p.a.tcp.stats.mib.dsack_recv >= 1, "b reported the duplicate");
    assert_eq!(p.a.tcp.stats.mib.dsack_undo, 1);
    assert_eq!(s.ca_state, CaState::Open);
    assert!(s.cwnd >= cwnd_before, "cwnd {} restored (was {cwnd_before})", s.cwnd);
}

/// A steady transfer whose ACKs vanish for `blackout` after `at` (a delay spike on
/// the return path): the RTO fires though nothing was lost. Returns the pair and a's
/// socket after the transfer.
fn spurious_rto_run(frto: u8, dsack: bool) -> (Pair, u32) {
    use std::cell::Cell;
    use std::rc::Rc;
    let (mut p, c, _l, child) = established_with(|p| {
        p.a.net.sysctl.tcp.tcp_frto = frto;
        p.b.net.sysctl.tcp.tcp_dsack = dsack;
    });
    let blackout = Rc::new(Cell::new(false));
    let b2 = blackout.clone();
    p.filter = Some(Box::new(move |w| !w.from_a && b2.get()));
    let data = pattern(4_000_000);
    let mut sent = 0;
    let mut got = 0;
    for step in 0..20_000 {
        if step == 100 {
            blackout.set(true);
        }
        if blackout.get() && p.a.tcp.stats.mib.timeouts > 0 {
            blackout.set(false);
        }
        if sent < data.len()
            && let Ok(n) = p.send(true, c, &data[sent..])
        {
            sent += n;
        }
        p.run_for(MS);
        while let Ok(v) = p.recv(false, child, 1 << 20) {
            if v.is_empty() {
                break;
            }
            got += v.len();
        }
        if got == data.len() {
            break;
        }
    }
    assert_eq!(got, data.len());
    (p, c)
}

#[test]
fn frto_undoes_a_spurious_rto() {
    // DSACK off at the receiver, so only F-RTO can tell (RFC 5682 §3.1, SACK variant).
    let (p, c) = spurious_rto_run(2, false);
    let mib = &p.a.tcp.stats.mib;
    assert_eq!(mib.timeouts, 1);
    assert_eq!(mib.spurious_rtos, 1, "F-RTO saw never-retransmitted data delivered");
    assert_eq!(mib.dsack_undo, 0);
    let (p0, c0) = spurious_rto_run(0, false);
    let m0 = &p0.a.tcp.stats.mib;
    assert_eq!((m0.timeouts, m0.spurious_rtos, m0.loss_undo), (1, 0, 0));
    // Undone, the RTO leaves no trace in ssthresh; believed, it cuts it.
    let (with, without) = (p.sock(true, c).ssthresh, p0.sock(true, c0).ssthresh);
    assert!(with > without, "ssthresh {with} after F-RTO vs {without} without");
}

#[test]
fn ecn_ce_mark_reduces_cwnd_once_without_loss() {
    // Both ends ask for ECN (tcp_ecn=1). A router marks one data segment CE: b echoes
    // ECE until a's CWR; a reduces once (the CWR state) and retransmits nothing.
    let (mut p, c, _l, child) = established_with(|p| {
        p.a.net.sysctl.tcp.tcp_ecn = 1;
        p.b.net.sysctl.tcp.tcp_ecn = 1;
    });
    assert!(p.sock(true, c).ecn_ok && p.sock(false, child).ecn_ok, "negotiated");
    let syn = &p.log[0];
    assert!(
        syn.flags & crate::wire::tcp::flags::ECE != 0
            && syn.flags & crate::wire::tcp::flags::CWR != 0
    );
    let mut n = 0;
    p.ce_mark = Some(Box::new(move |w| {
        if w.from_a && w.len > 0 {
            n += 1;
            return n == 30;
        }
        false
    }));
    let data = pattern(400_000);
    let got = transfer(&mut p, true, c, child, &data, 30 * SEC);
    assert!(got == data);
    let mib = &p.a.tcp.stats.mib;
    assert_eq!(mib.retrans_segs, 0, "a congestion signal without a loss");
    let ece_acks =
        p.log.iter().filter(|w| !w.from_a && w.flags & crate::wire::tcp::flags::ECE != 0).count();
    let cwr_segs =
        p.log.iter().filter(|w| w.from_a && w.flags & crate::wire::tcp::flags::CWR != 0).count();
    assert!(ece_acks >= 1, "b echoed the CE mark");
    assert_eq!(cwr_segs, 2, "the SYN, then one CWR answering the echo");
    // New data is ECT(0), pure ACKs are not.
    assert!(p.log.iter().filter(|w| w.from_a && w.len > 0).all(|w| w.tos & 3 == 2));
    assert!(p.log.iter().filter(|w| !w.from_a && w.len == 0).all(|w| w.tos & 3 == 0));
    assert!(p.sock(true, c).ssthresh < u32::MAX >> 1, "one reduction happened");
}

#[test]
fn fast_recovery_on_an_ecn_connection_sends_cwr_once() {
    // RFC 3168 §6.1.2, Linux `tcp_init_cwnd_reduction` -> `tcp_ecn_queue_cwr`: a
    // reduction for loss is signalled too, on the next new data segment (ECT), so the
    // receiver stops echoing a CE it may have seen in the same window.
    let (mut p, c, _l, child) = established_with(|p| {
        p.a.net.sysctl.tcp.tcp_ecn = 1;
        p.b.net.sysctl.tcp.tcp_ecn = 1;
    });
    lose_data_segments(&mut p, &[30]);
    let data = pattern(300_000);
    assert!(transfer(&mut p, true, c, child, &data, 30 * SEC) == data);
    assert_eq!(p.a.tcp.stats.mib.fast_retrans, 1);
    let cwr: Vec<_> =
        p.log.iter().filter(|w| w.from_a && w.flags & crate::wire::tcp::flags::CWR != 0).collect();
    assert_eq!(cwr.len(), 2, "the SYN, then one CWR after the fast retransmit");
    let mut data_segs = p.log.iter().filter(|w| w.from_a && w.len > 0);
    let lost = data_segs.nth(29).unwrap();
    let retransmit = data_segs.find(|w| w.seq == lost.seq).unwrap();
    assert!(cwr[1].at >= retransmit.at && cwr[1].len > 0 && cwr[1].tos & 3 == 2);
}

#[test]
fn ecn_is_not_used_unless_both_sides_agree() {
    // Linux's default tcp_ecn=2 accepts but never asks.
    let (p, c, _l, child) = established();
    assert!(!p.sock(true, c).ecn_ok && !p.sock(false, child).ecn_ok);
    assert_eq!(p.log[0].flags & crate::wire::tcp::flags::ECE, 0);
    let (p, c, _l, child) = established_with(|p| p.a.net.sysctl.tcp.tcp_ecn = 1);
    assert!(p.sock(true, c).ecn_ok && p.sock(false, child).ecn_ok, "2 accepts a request");
    let (p, c, _l, child) = established_with(|p| {
        p.a.net.sysctl.tcp.tcp_ecn = 1;
        p.b.net.sysctl.tcp.tcp_ecn = 0;
    });
    assert!(!p.sock(true, c).ecn_ok && !p.sock(false, child).ecn_ok, "0 refuses");
}

/// Linux `tcp_rack_mark_lost`: the reordering timer runs in jiffies and adds
/// TCP_TIMEOUT_MIN (2 jiffies) to the longest wait.
#[test]
fn reo_timer_is_jiffies_plus_timeout_min() {
    use super::sack::reo_timer_deadline;
    // 0.4 ms left at 859.918 ms: the tick after next-but-one past 1 ms, 862 ms.
    assert_eq!(reo_timer_deadline(859_918_000, 407_000), 862 * MS);
    // On a tick: 1 µs left still takes a whole jiffy, then 2 more.
    assert_eq!(reo_timer_deadline(10 * MS, 1_000), 13 * MS);
    assert_eq!(reo_timer_deadline(10 * MS, 1), 13 * MS);
    assert_eq!(reo_timer_deadline(10 * MS, 2_500_000), 15 * MS);
}

/// One lost segment while a sends a full segment every `gap`: b's duplicate ACKs come
/// `gap` apart. Returns (arrival times at a of b's duplicate ACKs, when the lost segment
/// was retransmitted).
fn paced_single_loss(gap: Nanos) -> (Vec<Nanos>, Nanos) {
    let (mut p, c, _l, child) = established();
    let mss = p.sock(true, c).mss as usize;
    // Grow cwnd and leave quick-ACK mode with a bulk transfer first.
    let bulk = pattern(70 * mss);
    assert!(transfer(&mut p, true, c, child, &bulk, 10 * SEC) == bulk);
    p.run_for(SEC);
    let lost_seq = p.sock(true, c).snd_nxt.0.wrapping_add(4 * mss as u32);
    let mut dropped = false;
    p.filter = Some(Box::new(move |w| {
        let drop = !dropped && w.from_a && w.len > 0 && w.seq == lost_seq;
        dropped |= drop;
        drop
    }));
    let seg = pattern(mss);
    for _ in 0..30 {
        assert_eq!(p.send(true, c, &seg), Ok(mss));
        p.run_for(gap);
        while p.recv(false, child, 1 << 20).is_ok_and(|v| !v.is_empty()) {}
    }
    p.filter = None;
    p.run_for(SEC);
    let delay = p.delay;
    let dupacks: Vec<Nanos> =
        p.log.iter().filter(|w| !w.from_a && w.ack == lost_seq).map(|w| w.at + delay).collect();
    let sends: Vec<Nanos> =
        p.log.iter().filter(|w| w.from_a && w.len > 0 && w.seq == lost_seq).map(|w| w.at).collect();
    assert_eq!(sends.len(), 2, "sent, lost, retransmitted once");
    assert_eq!(p.a.tcp.stats.mib.retrans_segs, 1);
    (dupacks, sends[1])
}

/// The bug behind the fidelity grid's double losses (10M-10ms-0pct-cubic): libos's
/// reordering timer fired RACK.rtt + reo_wnd after the send, 0.4 ms after the first
/// SACK there, and the retransmission went out on top of the segments that SACK had
/// just clocked out into a full queue. Linux's timer waits 2 more jiffies, so the third
/// duplicate ACK (reo_wnd 0 at the duplicate threshold) starts the recovery and the
/// retransmission is sent in answer to an ACK.
#[test]
fn rack_waits_for_the_third_dupack_when_they_come_fast() {
    // 2 ms apart: after the first SACK 3 ms of reo_wnd (5 ms) are left.
    let (dupacks, rexmit) = paced_single_loss(2 * MS);
    assert!(dupacks.len() >= 4, "{dupacks:?}");
    // dupacks[0] is the last ACK below the hole; [1..] carry the SACKs.
    assert_eq!(rexmit, dupacks[3], "on the third duplicate ACK: {dupacks:?} {rexmit}");
}

/// With duplicate ACKs far apart the timer still does it: one jiffy-rounded wait plus
/// TCP_TIMEOUT_MIN after the SACK that armed it.
#[test]
fn rack_timer_fires_between_slow_dupacks() {
    let (dupacks, rexmit) = paced_single_loss(8 * MS);
    // After the first SACK 20 + 5 - 28 < 0 ms: already late, lost at once.
    assert_eq!(rexmit, dupacks[1], "{dupacks:?} {rexmit}");
    let (dupacks, rexmit) = paced_single_loss(4 * MS);
    // 20 + 5 - 24 = 1 ms left: the timer, 1 + 2 jiffies later (before the next ACK at +4).
    assert!(rexmit > dupacks[1] && rexmit < dupacks[2], "{dupacks:?} {rexmit}");
    assert!(rexmit - dupacks[1] >= 3 * MS && rexmit - dupacks[1] <= 4 * MS);
}

/// Linux SACK compression: behind a hole, the first three duplicate ACKs go at once
/// (the sender's fast retransmit needs them), the rest are held back for 5 % of the
/// RTT, at most 1 ms, and go as one ACK.
#[test]
fn sack_compression_holds_dupacks_after_the_third() {
    let (dupacks, p) = dupacks_behind_a_hole(44);
    // The flight arrives at once: the ACK up to the hole, 3 duplicate ACKs, and one
    // for all the others 1 ms later (RTT 20 ms / 20).
    assert_eq!(dupacks.len(), 5, "{dupacks:?}");
    assert!(dupacks[..4].iter().all(|&t| t == dupacks[0]), "{dupacks:?}");
    assert_eq!(dupacks[4] - dupacks[0], MS);
    assert_eq!(p.a.tcp.stats.mib.retrans_segs, 1);
    assert!(p.b.tcp.stats.mib.ack_compressed > 0);
    // `tcp_comp_sack_nr = 0`: no compression, one duplicate ACK per segment.
    let (dupacks, p) = dupacks_behind_a_hole(0);
    assert!(dupacks.len() > 40, "{dupacks:?}");
    assert_eq!(p.b.tcp.stats.mib.ack_compressed, 0);
}

/// The receiver's ACKs for the hole left by one segment lost in a 60-segment flight,
/// with `tcp_comp_sack_nr` = `nr` on the receiver.
fn dupacks_behind_a_hole(nr: u8) -> (Vec<Nanos>, Pair) {
    let (mut p, c, _l, child) = established();
    p.b.net.sysctl.tcp.tcp_comp_sack_nr = nr;
    let mss = p.sock(true, c).mss as usize;
    // A fixed receive buffer, so that the window stops growing (while it grows every
    // segment is ACKed at once, `tcp_grow_window`).
    let rcvbuf = 256 * 1024i32;
    p.setopt(false, child, crate::uapi::SOL_SOCKET, crate::uapi::SO_RCVBUF, &rcvbuf.to_ne_bytes())
        .unwrap();
    let bulk = pattern(200 * mss);
    assert!(transfer(&mut p, true, c, child, &bulk, 10 * SEC) == bulk);
    // No idle gap: one longer than the RTO would restart quick ACKs.
    let lost = p.sock(true, c).snd_nxt.0.wrapping_add(9 * mss as u32);
    let mut dropped = false;
    p.filter = Some(Box::new(move |w| {
        let drop = !dropped && w.from_a && w.len > 0 && w.seq == lost;
        dropped |= drop;
        drop
    }));
    let data = pattern(60 * mss);
    assert!(transfer(&mut p, true, c, child, &data, 10 * SEC) == data);
    let dupacks =
        p.log.iter().filter(|w| !w.from_a && w.len == 0 && w.ack == lost).map(|w| w.at).collect();
    (dupacks, p)
}

#[test]
fn rtt_is_never_sampled_from_sacked_or_retransmitted_segments() {
    // Linux `tcp_clean_rtx_queue`: the ACK that fills a hole also acks segments SACKed a
    // round trip earlier; timing them (or the retransmission, Karn) would read about two
    // round trips. SACK-only ACKs time the newly SACKed segments instead.
    let (mut p, c, _l, child) = established();
    lose_data_segments(&mut p, &[60]);
    let (mut max_srtt, mut recovered) = (0, false);
    bulk_by_millisecond(&mut p, c, child, 1_000_000, 3000, |s| {
        max_srtt = max_srtt.max(s.rtt.srtt.unwrap_or(0));
        recovered |= s.ca_state == CaState::Recovery;
        true
    });
    assert!(recovered, "the loss was repaired by SACK recovery");
    assert_eq!(p.a.tcp.stats.mib.retrans_segs, 1);
    let rtt = 2 * p.delay;
    assert!(max_srtt <= rtt + MS, "srtt reached {max_srtt} ns on a {rtt} ns path");
    assert!(p.sock(true, c).rtt.min_rtt.is_some_and(|m| m >= rtt && m <= rtt + MS));
}

/// Linux `tcp_fastretrans_alert`: the ACK that reaches the recovery point opens the
/// state and goes on through the Open state's checks, so a loss already marked above
/// the old recovery point starts the next recovery on that same ACK — the sender is
/// never left Open with segments marked lost (`tcp_time_to_recover`).
#[test]
fn recovery_that_ends_with_a_marked_loss_starts_the_next_at_once() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let (mut p, c, _l, child) = established();
    lose_data_segments(&mut p, &[12, 30, 31, 45, 46, 60, 75, 90]);
    let open_with_losses = Rc::new(RefCell::new(0));
    let seen = open_with_losses.clone();
    p.watch_a = Some(Box::new(move |t| {
        let s = t.sock(c).unwrap();
        if matches!(s.ca_state, CaState::Open | CaState::Disorder) && s.lost_out > 0 {
            *seen.borrow_mut() += 1;
        }
    }));
    let data = pattern(300_000);
    assert!(transfer(&mut p, true, c, child, &data, 30 * SEC) == data);
    let mib = &p.a.tcp.stats.mib;
    assert!(mib.sack_recovery >= 2, "{} recoveries", mib.sack_recovery);
    assert_eq!(*open_with_losses.borrow(), 0, "left Open with lost segments");
}

/// Linux `tcp_dsack_seen`: a DSACK reporting more duplicates than this sender ever
/// retransmitted is dubious — counted in TCPDSACKRecv and `tcpi_dsack_dups`, then
/// ignored (TCPDSACKIgnoredDubious), so it cannot undo anything.
#[test]
fn dsack_of_data_never_retransmitted_is_ignored_as_dubious() {
    let (p, c, _child) = replay_delivered_data();
    let mib = &p.a.tcp.stats.mib;
    assert_eq!((mib.dsack_recv, mib.dsack_ignored_dubious), (1, 1));
    let info = p.sock(true, c).tcp_info(p.now);
    assert_eq!((info.dsack_dups, info.total_retrans), (1, 0));
}

/// Without SACK, the ACK that reaches the recovery point exactly leaves NewReno in
/// Recovery until something above it is acknowledged (RFC 6582 §3.2 (3) and §4.1;
/// Linux `tcp_is_non_sack_preventing_reopen`): duplicates of that ACK must not look
/// like the start of another loss.
#[test]
fn newreno_holds_recovery_until_an_ack_above_the_recovery_point() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let (mut p, c, _l, child) = established_with(|p| {
        p.a.net.sysctl.tcp.tcp_sack = false;
        p.b.net.sysctl.tcp.tcp_sack = false;
    });
    lose_data_segments(&mut p, &[20]);
    let states = Rc::new(RefCell::new(Vec::new()));
    let seen = states.clone();
    p.watch_a = Some(Box::new(move |t| {
        let s = t.sock(c).unwrap();
        if s.undo_marker.is_some() && s.snd_una == s.high_seq {
            seen.borrow_mut().push(s.ca_state);
        }
    }));
    let data = pattern(300_000);
    assert!(transfer(&mut p, true, c, child, &data, 30 * SEC) == data);
    let mib = &p.a.tcp.stats.mib;
    assert_eq!((mib.reno_recovery, mib.retrans_segs), (1, 1));
    assert!(!states.borrow().is_empty(), "an ACK at the recovery point exactly");
    assert!(states.borrow().iter().all(|&s| s == CaState::Recovery), "{:?}", states.borrow());
    assert_eq!(p.sock(true, c).ca_state, CaState::Open, "the next ACK ends it");
}

/// The send buffer is charged Linux's skb truesize (`tso.rs`): an initial window
/// leaves in 2-segment GSO skbs, then a hole splits one and the SACKed skbs after it
/// merge into one (`tcp_fragment`, `tcp_shift_skb_data`).
#[test]
fn send_buffer_charges_skb_heads_split_and_merged_by_sack() {
    use super::tso::SKB_HEAD_TRUESIZE;
    let (mut p, c, _l, _child) = established();
    lose_data_segments(&mut p, &[3]);
    let mss = p.sock(true, c).mss as usize;
    assert_eq!(p.send(true, c, &pattern(10 * mss)), Ok(10 * mss));
    let s = p.sock(true, c);
    assert_eq!((s.packets_out, s.rtx_skbs), (10, 5), "skbs of tcp_min_tso_segs");
    assert_eq!(s.wmem_queued(), 10 * mss + 5 * SKB_HEAD_TRUESIZE);
    // One round trip later: 1-2 acknowledged, 4-10 SACKed, 3 retransmitted and out.
    p.run_for(30 * MS);
    let s = p.sock(true, c);
    assert_eq!((s.packets_out, s.sacked_out, s.retrans_out), (8, 7, 1));
    assert_eq!(s.rtx_skbs, 2, "[3] and [4..10]");
    assert_eq!(s.wmem_queued(), 8 * mss + 2 * SKB_HEAD_TRUESIZE);
}
