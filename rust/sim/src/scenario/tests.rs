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
