//! The bound every fuzz test checks after each input: one frame in, a bounded number
//! of frames and events out, then the timers it armed fired a bounded number of times
//! with the same bound.

use libos_kernel::Kernel;
use proptest::prelude::*;

/// Frames one input may cause (replies, ARP/NDP, ICMP errors, queued packets released).
pub const MAX_TX_PER_FRAME: usize = 64;
/// Events one input may cause.
const MAX_EVENTS_PER_FRAME: usize = 64;

/// Feeds `frame` to `eth` 1 ms after `*now`, checks the output stays bounded, then
/// fires up to 8 timers due within 10 s (their output bounded too, their events
/// drained); `*now` follows.
pub fn rx_bounded(
    k: &mut Kernel,
    now: &mut u64,
    eth: u32,
    frame: &[u8],
) -> Result<(), TestCaseError> {
    *now += 1_000_000;
    k.dev_rx(*now, eth, frame);
    drain_tx(k, "unbounded output")?;
    let mut e = 0;
    while k.poll_event().is_some() {
        e += 1;
        prop_assert!(e <= MAX_EVENTS_PER_FRAME, "unbounded events");
    }
    for _ in 0..8 {
        match k.next_deadline() {
            Some(d) if d <= *now + 10_000_000_000 => {
                *now = (*now).max(d);
                k.advance(*now);
                drain_tx(k, "unbounded output on timer")?;
                while k.poll_event().is_some() {}
            }
            _ => break,
        }
    }
    Ok(())
}

fn drain_tx(k: &mut Kernel, what: &str) -> Result<(), TestCaseError> {
    let mut n = 0;
    while k.poll_transmit().is_some() {
        n += 1;
        prop_assert!(n <= MAX_TX_PER_FRAME, "{}", what);
    }
    Ok(())
}
