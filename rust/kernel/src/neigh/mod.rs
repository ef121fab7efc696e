//! The neighbour cache (placeholder until ARP lands).

#[derive(Default)]
pub struct NeighTable {}
