//! Same scenario + same seed = byte-identical pcaps; another seed changes what the
//! kernels draw from their PRNGs (ISNs, ephemeral ports).

mod common;
use common::*;

#[test]
fn same_seed_same_bytes_other_seed_other_isns() {
    let src = two_hosts("", "1MB", "4s");
    let (d1, d2, d3) = (tempdir("det1"), tempdir("det2"), tempdir("det3"));
    let a = run(&src, 11, Some(&d1));
    let b = run(&src, 11, Some(&d2));
    let c = run(&src, 12, Some(&d3));
    // Not vacuous: the transfer happened.
    let bulk = report(&a, "bulk");
    assert_eq!(bulk.bytes, 1_000_000, "{bulk:?}");
    assert_eq!(a.pcaps.len(), 2);
    for (pa, pb) in a.pcaps.iter().zip(&b.pcaps) {
        let (x, y) = (std::fs::read(pa).unwrap(), std::fs::read(pb).unwrap());
        assert!(x.len() > 1_000_000, "{} too small", pa.display());
        assert!(x == y, "{} differs between two runs with the same seed", pa.display());
    }
    assert_eq!(a.reports, b.reports);
    let syn_a = syns(&pcap_frames(&a.pcaps[0]));
    let syn_c = syns(&pcap_frames(&c.pcaps[0]));
    assert_eq!(syn_a.len(), 1, "one SYN expected: {syn_a:?}");
    assert_eq!(syn_c.len(), 1);
    assert_ne!(syn_a[0].1, syn_c[0].1, "ISN must change with the seed");
    assert_ne!(syn_a[0].0, syn_c[0].0, "ephemeral port must change with the seed");
    for d in [d1, d2, d3] {
        std::fs::remove_dir_all(d).unwrap();
    }
}
