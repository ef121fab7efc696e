//! Scenario parsing: every mistake is reported with its line and field.

use super::*;

const GOOD: &str = r#"
seed = 3
duration = "2s"

[[node]]
name = "a"

[[node]]
name = "b"

[[link]]
a = "a"
b = "b"
rate = "10Mbit"
delay = "5ms"
"#;

fn build_err(src: &str) -> String {
    let sc = match Scenario::parse(src, "t") {
        Ok(sc) => sc,
        Err(e) => return e,
    };
    match sc.build(&Overrides { no_pcap: true, ..Default::default() }) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

#[test]
fn good_file_builds() {
    let sc = Scenario::parse(GOOD, "t").unwrap();
    let b = sc.build(&Overrides { no_pcap: true, ..Default::default() }).unwrap();
    assert_eq!(b.duration, 2_000_000_000);
    assert_eq!(b.sim.seed, 3);
    assert_eq!(b.sim.nodes.len(), 2);
    assert_eq!(b.sim.chans[0].rate_bps, 10_000_000);
    assert_eq!(b.sim.chans[0].delay, 5_000_000);
    let o = Overrides { seed: Some(9), duration: Some(5), no_pcap: true, ..Default::default() };
    let b = sc.build(&o).unwrap();
    assert_eq!((b.sim.seed, b.duration), (9, 5));
}

#[test]
fn unknown_field_names_line_and_field() {
    let e = build_err(&GOOD.replace("delay = \"5ms\"", "delya = \"5ms\""));
    assert!(e.contains("line 15") && e.contains("delya"), "{e}");
}

#[test]
fn bad_unit_names_line() {
    let e = build_err(&GOOD.replace("10Mbit", "10 parsecs"));
    assert!(e.contains("line 14") && e.contains("parsecs"), "{e}");
}

#[test]
fn unknown_node_names_line_and_field() {
    let e = build_err(&GOOD.replace("b = \"b\"", "b = \"c\""));
    assert!(e.contains("line 13") && e.contains("`b`") && e.contains("unknown node `c`"), "{e}");
}

#[test]
fn bad_app_kind_and_probability() {
    let src = format!("{GOOD}\n[[app]]\nkind = \"blk\"\nnode = \"a\"\n");
    let e = build_err(&src);
    assert!(e.contains("line 18") && e.contains("unknown app kind"), "{e}");
    let e = build_err(&GOOD.replace("delay = \"5ms\"", "delay = \"5ms\"\nloss = 1.5"));
    assert!(e.contains("loss") && e.contains("line 12"), "{e}");
}

#[test]
fn cidr_parsing() {
    assert_eq!(parse_cidr("10.0.0.1/24"), Some((Ipv4Addr::new(10, 0, 0, 1), 24)));
    assert_eq!(parse_cidr("10.0.0.1"), Some((Ipv4Addr::new(10, 0, 0, 1), 32)));
    assert_eq!(parse_cidr("10.0.0.1/33"), None);
    assert_eq!(parse_cidr("x/8"), None);
}

#[test]
fn asymmetric_rate_and_one_way_impairments() {
    let src = GOOD.replace(
        "delay = \"5ms\"",
        "delay = \"5ms\"\nrate_reverse = \"1Mbit\"\nloss = 0.1\nimpair_direction = \"a-to-b\"",
    );
    let sc = Scenario::parse(&src, "t").unwrap();
    let b = sc.build(&Overrides { no_pcap: true, ..Default::default() }).unwrap();
    assert_eq!((b.sim.chans[0].rate_bps, b.sim.chans[1].rate_bps), (10_000_000, 1_000_000));
    let e = build_err(&src.replace("a-to-b", "sideways"));
    assert!(e.contains("impair_direction") && e.contains("sideways"), "{e}");
}

#[test]
fn cidr6_parsing_and_auto_subnets() {
    let a: Ipv6Addr = "2001:db8::1".parse().unwrap();
    assert_eq!(parse_cidr6("2001:db8::1/64"), Some((a, 64)));
    assert_eq!(parse_cidr6("2001:db8::1"), Some((a, 128)));
    assert_eq!(parse_cidr6("2001:db8::1/129"), None);
    assert_eq!(parse_cidr6("10.0.0.1/8"), None);
    let (x, y) = auto_subnet6(2);
    assert_eq!((x.to_string(), y.to_string()), ("2001:db8:3::1".into(), "2001:db8:3::2".into()));
}

const CHAIN6: &str = r#"
ipv6 = true
routing = "auto"
[[node]]
name = "h1"
[[node]]
name = "r1"
forward = true
[[node]]
name = "h2"
[[link]]
a = "h1"
b = "r1"
[[link]]
a = "r1"
b = "h2"
a_addr6 = "2001:db8:9::1/64"
b_addr6 = "2001:db8:9::2/64"
"#;

#[test]
fn ipv6_addresses_and_routes() {
    let sc = Scenario::parse(CHAIN6, "t").unwrap();
    let mut b = sc.build(&Overrides { no_pcap: true, ..Default::default() }).unwrap();
    let (h1, r1) = (b.sim.node_id("h1").unwrap(), b.sim.node_id("r1").unwrap());
    assert_eq!(b.sim.node_addr6(h1), Some("2001:db8:1::1".parse().unwrap()));
    let k = b.sim.kernel(r1).unwrap();
    assert_eq!(k.sysctl_get("net.ipv6.conf.all.forwarding").unwrap().trim(), "1");
    // Scenario addresses are `nodad`: usable at once, not tentative.
    let globals: Vec<_> = k.addrs6(2).iter().filter(|f| f.addr.segments()[0] != 0xfe80).collect();
    assert!(globals.len() == 1 && globals[0].nodad, "{globals:?}");
    // auto: h1 has a default route via r1 for each family.
    let k = b.sim.kernel(h1).unwrap();
    let r = k.route_get("2001:db8:9::2".parse().unwrap()).unwrap();
    assert_eq!(r.next_hop.to_string(), "2001:db8:1::2");
    assert_eq!(k.route_get("10.0.2.2".parse().unwrap()).unwrap().next_hop.to_string(), "10.0.1.2");
    // A static IPv6 route, and the errors.
    let src = CHAIN6.replace("routing = \"auto\"", "")
        + "[[route]]\nnode = \"h1\"\ndst = \"2001:db8:9::/64\"\nvia = \"2001:db8:1::2\"\n";
    let sc = Scenario::parse(&src, "t").unwrap();
    let mut b = sc.build(&Overrides { no_pcap: true, ..Default::default() }).unwrap();
    let k = b.sim.kernel(h1).unwrap();
    let r = k.route_get("2001:db8:9::2".parse().unwrap()).unwrap();
    assert_eq!(r.next_hop.to_string(), "2001:db8:1::2");
    let e = build_err(&src.replace("via = \"2001:db8:1::2\"", "via = \"10.0.1.2\""));
    assert!(e.contains("different families"), "{e}");
    let e = build_err(&src.replace("2001:db8:9::/64", "2001:db8:9::/200"));
    assert!(e.contains("not an IPv6 address/prefix"), "{e}");
    let e = build_err(&CHAIN6.replace("a_addr6 = \"2001:db8:9::1/64\"\n", ""));
    assert!(e.contains("a_addr6") && e.contains("line 17"), "{e}");
}
