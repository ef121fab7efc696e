//! fork(2). The instance (its devices, timer thread and lock) stays with the parent; the
//! child forwards its socket calls to it over the control socket, as `attach` does. So
//! that inherited sockets survive the parent closing its copies (an accept-and-fork
//! server does exactly that), the parent takes one extra reference (a dup) per libos fd
//! before forking; the child's fd N then names the parent's dup, and the parent releases
//! those references when the child's last control connection closes or the child dies.

use crate::{ffi, lib_fd, remote};
use libc::c_int;
use libos_nuse::sys;

#[unsafe(no_mangle)]
pub extern "C" fn fork() -> libc::pid_t {
    ffi!(-1, {
        let ctl = if remote::on() { None } else { remote::control_path() };
        // (child's fd, parent's extra reference)
        let mut held: Vec<(c_int, c_int)> = Vec::new();
        if ctl.is_some() {
            // Snapshot first: the dups are libos fds too.
            let fds: Vec<c_int> =
                (0..crate::MAX_FD as c_int).filter(|&fd| lib_fd(fd).is_some()).collect();
            for fd in fds {
                let d = crate::calls::dup(fd);
                if d >= 0 {
                    held.push((fd, d));
                }
            }
        }
        // SAFETY: plain fork.
        let pid = unsafe { sys::fork() };
        match (pid, ctl) {
            (0, Some(ctl)) => {
                crate::unfork();
                remote::become_child(ctl, &held);
            }
            (p, _) if p > 0 => {
                let ds: Vec<c_int> = held.iter().map(|&(_, d)| d).collect();
                remote::hand_to_child(i64::from(p), &ds);
            }
            (p, _) if p < 0 => {
                let e = sys::errno();
                for &(_, d) in &held {
                    crate::calls::close(d);
                }
                sys::set_errno(e);
            }
            _ => {}
        }
        pid
    })
}
