//! Pacing through the pair harness: GSO skbs leave len / rate apart once pacing is on
//! (SO_MAX_PACING_RATE, or BBR), back-to-back bursts otherwise (Linux paces only
//! when asked), and the rates TCP_INFO reports.

use super::options::{SO_MAX_PACING_RATE, TCP_CC_INFO};
use super::pacing::RATE_UNLIMITED;
use super::tests::{MS, SEC, established, established_with, pattern, transfer};
use crate::net::Net;
use crate::socket::ProtoOps;
use crate::uapi::*;

/// Gaps between consecutive data segments from `a`, from the `skip`-th on.
fn data_gaps(log: &[super::tests::Wire], skip: usize) -> Vec<u64> {
    let t: Vec<u64> = log.iter().filter(|w| w.from_a && w.len > 0).map(|w| w.at).collect();
    t.windows(2).skip(skip).map(|w| w[1] - w[0]).collect()
}

/// 300 MSS from a at SO_MAX_PACING_RATE = one MSS per millisecond, with
/// `tcp_min_tso_segs` = `min_tso`; returns the gaps after the first 10 segments and the
/// span of the whole transfer.
fn paced_at_one_mss_per_ms(min_tso: u8) -> (Vec<u64>, u64) {
    let (mut p, c, _l, child) = established_with(|p| p.a.net.sysctl.tcp.tcp_min_tso_segs = min_tso);
    let mss = u64::from(p.sock(true, c).mss);
    let rate = mss * 1000;
    p.setopt(true, c, SOL_SOCKET, SO_MAX_PACING_RATE, &(rate as u32).to_ne_bytes()).unwrap();
    let mut out = [0u8; 8];
    let n = p.a.tcp.getsockopt(&Net::new(0), c, SOL_SOCKET, SO_MAX_PACING_RATE, &mut out).unwrap();
    assert_eq!((n, u64::from_ne_bytes(out)), (8, rate));
    p.log.clear();
    let data = pattern(300 * mss as usize);
    let got = transfer(&mut p, true, c, child, &data, 5 * SEC);
    assert!(got == data, "{} of {} bytes", got.len(), data.len());
    let info = p.sock(true, c).tcp_info(p.now);
    assert_eq!(info.max_pacing_rate, rate);
    assert!(info.pacing_rate <= rate && info.pacing_rate > 0);
    // The first 10 segments are not paced (Linux `tcp_update_skb_after_send`).
    let t: Vec<u64> = p.log.iter().filter(|w| w.from_a && w.len > 0).map(|w| w.at).collect();
    (data_gaps(&p.log, 10), t[t.len() - 1] - t[0])
}

#[test]
fn max_pacing_rate_spaces_gso_skbs_by_len_over_rate() {
    // `tcp_tso_autosize`: 1 ms of this rate is one MSS, so skbs carry the minimum,
    // `tcp_min_tso_segs` = 2: two segments back to back, the next skb 2 ms later.
    let (gaps, span) = paced_at_one_mss_per_ms(2);
    assert!(gaps.len() > 250, "{} gaps", gaps.len());
    let (inside, between): (Vec<_>, Vec<_>) = gaps.iter().partition(|&&g| g == 0);
    assert!(inside.len() * 10 >= gaps.len() * 4, "pairs: {:?}", &gaps[..20]);
    assert!(between.iter().all(|&&g| g >= MS), "gaps {:?}", &gaps[..20]);
    let exact = between.iter().filter(|&&&g| g == 2 * MS).count();
    assert!(exact * 10 >= between.len() * 8, "{exact} of {} are 2 ms: {gaps:?}", between.len());
    // 300 segments at 1,000 per second: ~0.3 s, not one burst per round trip.
    assert!(span >= 280 * MS, "sent over {} ms", span / MS);
    // With single-segment skbs every segment waits mss / rate.
    let (gaps, span) = paced_at_one_mss_per_ms(1);
    assert!(gaps.iter().all(|&g| g >= MS / 2), "gaps {:?}", &gaps[..20]);
    let exact = gaps.iter().filter(|&&g| g == MS).count();
    assert!(exact * 10 >= gaps.len() * 8, "{exact} of {} gaps are 1 ms: {gaps:?}", gaps.len());
    assert!(span >= 280 * MS, "sent over {} ms", span / MS);
}

#[test]
fn unpaced_by_default_but_rate_is_kept() {
    let (mut p, c, _l, child) = established();
    let info = p.sock(true, c).tcp_info(p.now);
    assert_eq!(info.max_pacing_rate, RATE_UNLIMITED);
    p.log.clear();
    let data = pattern(200_000);
    let got = transfer(&mut p, true, c, child, &data, 5 * SEC);
    assert_eq!(got.len(), data.len());
    // CUBIC without SO_MAX_PACING_RATE: windows leave back to back.
    let gaps = data_gaps(&p.log, 0);
    assert!(gaps.iter().filter(|&&g| g == 0).count() > gaps.len() / 2);
    // `tcp_update_pacing_rate`: cwnd × mss / srtt × 200 % (slow start) or 120 %.
    let s = p.sock(true, c);
    let info = s.tcp_info(p.now);
    let ratio = if s.cwnd < s.ssthresh / 2 { 2.0 } else { 1.2 };
    let srtt = s.rtt.srtt.unwrap() as f64 / 1e9;
    let want = f64::from(s.cwnd.max(s.packets_out)) * f64::from(s.mss) / srtt * ratio;
    let r = info.pacing_rate as f64 / want;
    assert!((0.99..=1.01).contains(&r), "pacing_rate {} want {want:.0}", info.pacing_rate);
    assert!(!s.pacing_needed);
}

#[test]
fn bbr_paces_and_reports_its_model() {
    let (mut p, c, _l, child) = established_with(|p| {
        p.a.net.sysctl.tcp.tcp_congestion_control = "bbr";
    });
    assert!(p.sock(true, c).pacing_needed);
    let mut name = [0u8; 16];
    p.a.tcp.getsockopt(&Net::new(0), c, SOL_TCP, TCP_CONGESTION, &mut name).unwrap();
    assert_eq!(&name[..4], b"bbr\0");
    p.log.clear();
    let data = pattern(2_000_000);
    let got = transfer(&mut p, true, c, child, &data, 20 * SEC);
    assert!(got == data, "{} of {} bytes", got.len(), data.len());
    let s = p.sock(true, c);
    let info = s.tcp_info(p.now);
    assert!(info.pacing_rate > 0 && info.pacing_rate < RATE_UNLIMITED);
    assert!(info.delivery_rate > 0 && info.delivered > 1000);
    assert_eq!(info.min_rtt, 20_000, "min_rtt {} us", info.min_rtt);
    // Paced one GSO skb at a time (`bbr_min_tso_segs`, `tcp_tso_autosize`): no run of
    // back-to-back segments beyond the 64 KB GSO limit, though this link has no rate
    // and cwnd grows to hundreds of segments.
    let gaps = data_gaps(&p.log, 10);
    let runs: Vec<usize> = gaps.split(|&g| g > 0).map(|r| r.len() + 1).collect();
    let longest = runs.iter().copied().max().unwrap_or(0);
    assert!(longest <= 45, "a burst of {longest} segments");
    assert!(runs.len() * 45 >= gaps.len(), "{} skbs for {} segments", runs.len(), gaps.len());
    assert!(s.cwnd > 100, "cwnd {}", s.cwnd);
    // TCP_CC_INFO: struct tcp_bbr_info with min_rtt in µs and the gains.
    let mut out = [0u8; 20];
    let n = p.a.tcp.getsockopt(&Net::new(0), c, SOL_TCP, TCP_CC_INFO, &mut out).unwrap();
    assert_eq!(n, 20);
    assert_eq!(u32::from_ne_bytes(out[8..12].try_into().unwrap()), 20_000);
    let cwnd_gain = u32::from_ne_bytes(out[16..20].try_into().unwrap());
    assert!(cwnd_gain == 512 || cwnd_gain == 739 || cwnd_gain == 256, "{cwnd_gain}");
}

#[test]
fn tcp_congestion_bbr_on_a_connected_socket() {
    let (mut p, c, _l, child) = established();
    assert!(!p.sock(true, c).pacing_needed);
    p.setopt(true, c, SOL_TCP, TCP_CONGESTION, b"bbr\0").unwrap();
    let s = p.sock(true, c);
    assert!(s.pacing_needed && s.ssthresh == super::cong::INFINITE_SSTHRESH);
    let data = pattern(300_000);
    let got = transfer(&mut p, true, c, child, &data, 10 * SEC);
    assert!(got == data);
    // Back to cubic: pacing stays on (Linux never clears SK_PACING_NEEDED).
    p.setopt(true, c, SOL_TCP, TCP_CONGESTION, b"cubic\0").unwrap();
    assert!(p.sock(true, c).pacing_needed);
}
