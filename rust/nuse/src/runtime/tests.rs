use super::*;
use crate::config::Config;
use libos_kernel::Errno;
use std::net::SocketAddr;

fn conf(dir: &std::path::Path, addr: &str, mac: u8) -> Config {
    let text = format!(
        "interface p0\n\taddress {addr}\n\tnetmask 255.255.255.0\n\tviftype PIPE\n\
         \tmacaddr 02:00:00:00:00:{mac:02x}\n\tpipepath {}/link\n",
        dir.display()
    );
    Config::parse(&text).unwrap()
}

/// Blocks (on the runtime's condvar) until `op` stops returning EAGAIN.
fn blocking<T>(n: &Nuse, mut op: impl FnMut(&mut State, u64) -> Result<T, Errno>) -> T {
    let mut g = n.lock();
    let give_up = n.now() + 10_000_000_000;
    loop {
        let now = n.now();
        let r = op(&mut g, now);
        n.flush(&mut g);
        match r {
            Err(Errno::EAGAIN) | Err(Errno::EINPROGRESS) | Err(Errno::EALREADY) => {}
            Ok(v) => return v,
            Err(e) => panic!("{e}"),
        }
        if n.wait(&mut g, Some(give_up)) == Wake::Deadline {
            let d = g.k.dev(2).map(|d| d.stats.clone());
            panic!("timed out: {d:?}");
        }
    }
}

/// Two instances on the ends of one PIPE link in a fresh directory, 10.`net`.0.1 and .2.
fn pair(tag: &str, net: u8) -> (std::path::PathBuf, &'static Nuse, &'static Nuse) {
    let dir = std::env::temp_dir().join(format!("nuse-rt-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = Nuse::start(&conf(&dir, &format!("10.{net}.0.1"), 1)).unwrap();
    let b = Nuse::start(&conf(&dir, &format!("10.{net}.0.2"), 2)).unwrap();
    (dir, a, b)
}

#[test]
fn two_instances_over_a_pipe_do_tcp() {
    let (dir, a, b) = pair("tcp", 5);
    let srv: SocketAddr = "10.5.0.2:7000".parse().unwrap();
    let l = {
        let mut g = b.lock();
        let l = g.k.socket(2, 1, 0).unwrap();
        g.k.bind(l, srv).unwrap();
        g.k.listen(l, 4).unwrap();
        l
    };
    let c = a.lock().k.socket(2, 1, 0).unwrap();
    blocking(a, |st, now| st.k.connect(now, c, srv));
    let (s, _) = blocking(b, |st, now| st.k.accept(now, l, 0));
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
    let sender = std::thread::spawn(move || {
        let mut off = 0;
        while off < data.len() {
            off += blocking(a, |st, now| st.k.send(now, c, &data[off..], 0));
        }
        blocking(a, |st, now| st.k.shutdown(now, c, 1));
        data
    });
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let n = blocking(b, |st, now| st.k.recv(now, s, &mut buf, 0));
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, sender.join().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_caller_first_feeds_the_kernel_the_frames_already_waiting() {
    let (dir, a, b) = pair("enter", 6);
    let to: SocketAddr = "10.6.0.2:7001".parse().unwrap();
    let r = {
        let mut g = b.lock();
        let r = g.k.socket(2, 2, 0).unwrap();
        g.k.bind(r, to).unwrap();
        r
    };
    let t = a.lock().k.socket(2, 2, 0).unwrap();
    let mut buf = [0u8; 16];
    // The first datagram resolves the neighbour and is read the usual way.
    blocking(a, |st, now| st.k.sendto(now, t, b"one", 0, Some(to)));
    assert_eq!(blocking(b, |st, now| st.k.recv(now, r, &mut buf, 0)), 3);
    // The second arrives while a caller holds b: its timer thread cannot take it.
    let mut g = b.lock();
    blocking(a, |st, now| st.k.sendto(now, t, b"two", 0, Some(to)));
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(g.k.recv(b.now(), r, &mut buf, 0), Err(Errno::EAGAIN), "still on the device");
    // Linux's softirq would have run before the call: enter feeds it in first.
    let now = b.enter(&mut g);
    assert_eq!(g.k.recv(now, r, &mut buf, 0), Ok(3));
    assert_eq!(&buf[..3], b"two");
    drop(g);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_device_is_reported_with_its_line() {
    let cfg =
        Config::parse("interface nosuchif0\n\taddress 10.0.0.1\n\tnetmask 255.0.0.0\n").unwrap();
    let e = Nuse::start(&cfg).map(|_| ()).unwrap_err().to_string();
    assert!(e.starts_with("line 1: cannot open device nosuchif0"), "{e}");
}

#[test]
fn frames_are_stamped_with_their_arrival_not_the_read() {
    // Read at now = 10 ms; the frame reached the host 3 ms before (realtime 5 s).
    assert_eq!(arrival(10_000_000, 5_000_000_000, Some(4_997_000_000), 0), 7_000_000);
    // Never before what the kernel has already seen, never after now.
    assert_eq!(arrival(10_000_000, 5_000_000_000, Some(4_997_000_000), 8_000_000), 8_000_000);
    assert_eq!(arrival(10_000_000, 5_000_000_000, Some(5_001_000_000), 0), 10_000_000);
    // A stamp older than the instance (a realtime step) is clamped, not wrapped.
    assert_eq!(arrival(10_000_000, 5_000_000_000, Some(1), 2_000_000), 2_000_000);
    // No stamp (TAP, PIPE): the read time.
    assert_eq!(arrival(10_000_000, 5_000_000_000, None, 0), 10_000_000);
}
