//! The `libos-sim run` command line: bad scenario files exit non-zero with the line and
//! field named; a good one runs and writes its outputs.

mod common;
use std::process::Command;

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_libos-sim"))
}

#[test]
fn bad_scenario_exits_nonzero_naming_line_and_field() {
    let dir = common::tempdir("cli-bad");
    let cases = [
        ("[[node]]\nname = \"a\"\nspeed = 3\n", "line 3"),
        ("[[node]]\nname = \"a\"\n[[link]]\na = \"a\"\nb = \"zz\"\n", "line 5"),
        ("duration = \"ten seconds\"\n", "line 1"),
        ("[[node]]\nname = \"a\"\n[[app]]\nkind = \"bulk\"\nnode = \"a\"\n", "dst"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let f = dir.join(format!("bad{i}.toml"));
        std::fs::write(&f, text).unwrap();
        let out =
            sim().args(["run", "-q"]).arg(&f).arg("--out").arg(dir.join("o")).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {i} should fail");
        assert!(err.contains(want), "case {i}: `{want}` not in: {err}");
        assert!(err.contains(&format!("bad{i}.toml")), "case {i}: file not named: {err}");
    }
    let out = sim().args(["run", "/nonexistent.toml"]).output().unwrap();
    assert!(!out.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn example_runs_and_writes_outputs() {
    let dir = common::tempdir("cli-ok");
    let ex = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/two-hosts.toml");
    let out = sim()
        .args(["run", "-q", ex, "--duration", "1s", "--seed", "3", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("h1->h2") && table.contains("Mbit/s"), "{table}");
    assert!(dir.join("pcap/h1-eth0.pcap").exists());
    assert!(dir.join("flows.txt").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_example_scenario_builds_and_runs() {
    let dir = common::tempdir("cli-examples");
    let ex = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut n = 0;
    for e in std::fs::read_dir(&ex).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let out = sim()
            .args(["run", "-q", "--no-pcap", "--duration", "500ms", "--out"])
            .arg(dir.join(p.file_stem().unwrap()))
            .arg(&p)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", p.display(), String::from_utf8_lossy(&out.stderr));
        n += 1;
    }
    assert!(n >= 3, "examples not found in {}", ex.display());
    std::fs::remove_dir_all(&dir).unwrap();
}
