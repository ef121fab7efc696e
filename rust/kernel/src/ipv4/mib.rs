//! IPv4 MIB counters (RFC 4293 `ipSystemStatsTable` as Linux names them in
//! /proc/net/snmp `Ip:` and /proc/net/netstat `IpExt:`).

/// `IPSTATS_MIB_*`.
#[derive(Debug, Clone, Default)]
pub struct Ipv4Mib {
    pub in_receives: u64,
    pub in_hdr_errors: u64,
    pub in_addr_errors: u64,
    pub in_no_routes: u64,
    pub in_truncated_pkts: u64,
    pub in_unknown_protos: u64,
    pub in_discards: u64,
    pub in_delivers: u64,
    pub in_csum_errors: u64,
    pub forw_datagrams: u64,
    pub out_requests: u64,
    pub out_discards: u64,
    pub out_no_routes: u64,
    pub reasm_timeout: u64,
    pub reasm_reqds: u64,
    pub reasm_oks: u64,
    pub reasm_fails: u64,
    pub reasm_overlaps: u64,
    pub frag_oks: u64,
    pub frag_fails: u64,
    pub frag_creates: u64,
    /// Packets handed to the neighbour layer (`ip_finish_output2`).
    pub out_transmits: u64,
}

impl Ipv4Mib {
    /// The `Ip:` counters after Forwarding and DefaultTTL, in `snmp4_ipstats_list` order.
    pub fn rows(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("InReceives", self.in_receives),
            ("InHdrErrors", self.in_hdr_errors),
            ("InAddrErrors", self.in_addr_errors),
            ("ForwDatagrams", self.forw_datagrams),
            ("InUnknownProtos", self.in_unknown_protos),
            ("InDiscards", self.in_discards),
            ("InDelivers", self.in_delivers),
            ("OutRequests", self.out_requests),
            ("OutDiscards", self.out_discards),
            ("OutNoRoutes", self.out_no_routes),
            ("ReasmTimeout", self.reasm_timeout),
            ("ReasmReqds", self.reasm_reqds),
            ("ReasmOKs", self.reasm_oks),
            ("ReasmFails", self.reasm_fails),
            ("FragOKs", self.frag_oks),
            ("FragFails", self.frag_fails),
            ("FragCreates", self.frag_creates),
            ("OutTransmits", self.out_transmits),
        ]
    }

    /// The `IpExt:` counters libos keeps (`snmp4_ipextstats_list` names and order).
    pub fn ext_rows(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("InNoRoutes", self.in_no_routes),
            ("InTruncatedPkts", self.in_truncated_pkts),
            ("InCsumErrors", self.in_csum_errors),
            ("ReasmOverlaps", self.reasm_overlaps),
        ]
    }
}
