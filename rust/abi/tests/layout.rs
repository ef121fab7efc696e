//! Keeps include/sim-init.h and sim-types.h from drifting from the Rust mirrors in
//! src/types.rs: a C program compiled against the headers prints the size of every ABI
//! struct and the offset of every field, by name, and each must equal the Rust side.
//! A field missing, added or reordered on either side fails (or fails to compile).

use libos_abi::types::*;
use std::mem::{offset_of, size_of};
use std::process::Command;

macro_rules! fields {
    ($t:ident, $c:literal: $($f:ident),* $(,)?) => {
        (
            $c,
            stringify!($t),
            size_of::<$t>(),
            vec![$((stringify!($f), offset_of!($t, $f))),*],
        )
    };
}

type Layout = (&'static str, &'static str, usize, Vec<(&'static str, usize)>);

fn layouts() -> Vec<Layout> {
    vec![
        fields!(SimExported, "struct SimExported":
            task_create, task_destroy, task_get_private, sock_socket, sock_close, sock_recvmsg,
            sock_sendmsg, sock_getsockname, sock_getpeername, sock_bind, sock_connect,
            sock_listen, sock_shutdown, sock_accept, sock_ioctl, sock_setsockopt,
            sock_getsockopt, sock_poll, sock_pollfreewait, dev_create, dev_destroy,
            dev_get_private, dev_set_address, dev_set_mtu, dev_create_packet, dev_rx,
            sys_iterate_files, sys_file_read, sys_file_write),
        fields!(SimImported, "struct SimImported":
            vprintf, malloc, free, memcpy, memset, atexit, access, getenv, mkdir, open,
            __fxstat, fseek, setbuf, fdopen, ftell, fclose, fread, fwrite, random,
            event_schedule_ns, event_cancel, current_ns, task_start, task_wait, task_current,
            task_wakeup, task_yield, dev_xmit, signal_raised, poll_event),
        fields!(SimDevicePacket, "struct SimDevicePacket": buffer, token),
        fields!(SimSysIterator, "struct SimSysIterator":
            report_start_dir, report_end_dir, report_file),
        fields!(PollTableRef, "struct poll_table_ref": ret, opaque),
        fields!(MsgHdr, "struct msghdr":
            msg_name, msg_namelen, msg_iov, msg_iovlen, msg_control, msg_controllen, msg_flags),
        fields!(IoVec, "struct iovec": iov_base, iov_len),
    ]
}

#[test]
fn header_and_rust_tables_agree() {
    let ls = layouts();
    assert_eq!(ls[0].3.len(), 29, "SimExported has 29 slots in API v2");
    assert_eq!(ls[1].3.len(), 30, "SimImported has 30 slots in API v2");
    let mut c = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include <sys/uio.h>\n#include \"sim.h\"\n\
         int main(void) {\n",
    );
    c.push_str("  printf(\"api %d\\n\", LIBOS_API_VERSION);\n");
    for (cname, _, _, fs) in &ls {
        c.push_str(&format!("  printf(\"{cname} size %zu\\n\", sizeof({cname}));\n"));
        for (f, _) in fs {
            c.push_str(&format!("  printf(\"{cname} {f} %zu\\n\", offsetof({cname}, {f}));\n"));
        }
    }
    c.push_str("  return 0;\n}\n");
    let dir = std::env::temp_dir().join(format!("libos-abi-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&src, c).unwrap();
    let inc = concat!(env!("CARGO_MANIFEST_DIR"), "/include");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-std=gnu11", "-Wall", "-Werror", "-I", inc, "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("a C compiler (cc) is needed for the layout check");
    assert!(
        out.status.success(),
        "header does not compile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    let text = String::from_utf8(run.stdout).unwrap();
    let mut want = vec!["api 2".to_string()];
    for (cname, _, size, fs) in &ls {
        want.push(format!("{cname} size {size}"));
        for (f, off) in fs {
            want.push(format!("{cname} {f} {off}"));
        }
    }
    let got: Vec<&str> = text.lines().collect();
    assert_eq!(got, want);
    let _ = std::fs::remove_dir_all(&dir);
}
