//! The host's own libc functions, looked up with `dlsym(RTLD_NEXT)`.
//!
//! Inside `libnuse.so` the plain symbols (`read`, `poll`, ...) are the shim's own
//! interceptors, so host I/O done on behalf of libos (devices, reserved fds, host fds
//! passed through) must call the next definition in the search order: glibc's.
//! Each pointer is resolved once and cached.

use libc::{c_char, c_int, c_uint, c_ulong, c_void, size_t, sockaddr, socklen_t, ssize_t};
use std::sync::atomic::{AtomicPtr, Ordering};

/// Resolves `name` (NUL-terminated) in the objects after this one; aborts with a
/// message if glibc lacks it (a host that cannot work at all).
fn next(cache: &AtomicPtr<c_void>, name: &'static [u8]) -> *mut c_void {
    let p = cache.load(Ordering::Relaxed);
    if !p.is_null() {
        return p;
    }
    // SAFETY: name is NUL-terminated; dlsym is thread-safe.
    let p = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr().cast::<c_char>()) };
    if p.is_null() {
        let msg = b"libos-nuse: host libc lacks a required function\n";
        // SAFETY: raw syscall-level write of a static buffer, then exit.
        unsafe {
            libc::syscall(libc::SYS_write, 2, msg.as_ptr(), msg.len());
            libc::_exit(127);
        }
    }
    cache.store(p, Ordering::Relaxed);
    p
}

macro_rules! host_fns {
    ($( fn $name:ident($($a:ident: $t:ty),* $(,)?) -> $ret:ty; )*) => {$(
        /// The host libc function of the same name.
        ///
        /// # Safety
        /// Same contract as the libc function.
        pub unsafe fn $name($($a: $t),*) -> $ret {
            static CACHE: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
            let p = next(&CACHE, concat!(stringify!($name), "\0").as_bytes());
            // SAFETY: p is the libc function with this exact C signature.
            let f: unsafe extern "C" fn($($t),*) -> $ret = unsafe { std::mem::transmute(p) };
            unsafe { f($($a),*) }
        }
    )*};
}

host_fns! {
    fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
    fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    fn listen(fd: c_int, backlog: c_int) -> c_int;
    fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    fn accept4(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int;
    fn send(fd: c_int, buf: *const c_void, n: size_t, flags: c_int) -> ssize_t;
    fn sendto(fd: c_int, buf: *const c_void, n: size_t, flags: c_int,
              to: *const sockaddr, tolen: socklen_t) -> ssize_t;
    fn sendmsg(fd: c_int, msg: *const libc::msghdr, flags: c_int) -> ssize_t;
    fn sendmmsg(fd: c_int, v: *mut libc::mmsghdr, n: c_uint, flags: c_int) -> c_int;
    fn recv(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int) -> ssize_t;
    fn recvfrom(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int,
                from: *mut sockaddr, fromlen: *mut socklen_t) -> ssize_t;
    fn recvmsg(fd: c_int, msg: *mut libc::msghdr, flags: c_int) -> ssize_t;
    fn recvmmsg(fd: c_int, v: *mut libc::mmsghdr, n: c_uint, flags: c_int,
                t: *mut libc::timespec) -> c_int;
    fn read(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t;
    fn readv(fd: c_int, iov: *const libc::iovec, n: c_int) -> ssize_t;
    fn write(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t;
    fn writev(fd: c_int, iov: *const libc::iovec, n: c_int) -> ssize_t;
    fn close(fd: c_int) -> c_int;
    fn shutdown(fd: c_int, how: c_int) -> c_int;
    fn dup(fd: c_int) -> c_int;
    fn dup2(fd: c_int, to: c_int) -> c_int;
    fn dup3(fd: c_int, to: c_int, flags: c_int) -> c_int;
    fn setsockopt(fd: c_int, level: c_int, name: c_int, val: *const c_void,
                  len: socklen_t) -> c_int;
    fn getsockopt(fd: c_int, level: c_int, name: c_int, val: *mut c_void,
                  len: *mut socklen_t) -> c_int;
    fn getsockname(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    fn getpeername(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    fn poll(fds: *mut libc::pollfd, n: libc::nfds_t, timeout: c_int) -> c_int;
    fn ppoll(fds: *mut libc::pollfd, n: libc::nfds_t, t: *const libc::timespec,
             mask: *const libc::sigset_t) -> c_int;
    fn select(n: c_int, r: *mut libc::fd_set, w: *mut libc::fd_set, e: *mut libc::fd_set,
              t: *mut libc::timeval) -> c_int;
    fn pselect(n: c_int, r: *mut libc::fd_set, w: *mut libc::fd_set, e: *mut libc::fd_set,
               t: *const libc::timespec, mask: *const libc::sigset_t) -> c_int;
    fn epoll_create(size: c_int) -> c_int;
    fn epoll_create1(flags: c_int) -> c_int;
    fn epoll_ctl(ep: c_int, op: c_int, fd: c_int, ev: *mut libc::epoll_event) -> c_int;
    fn epoll_wait(ep: c_int, ev: *mut libc::epoll_event, n: c_int, timeout: c_int) -> c_int;
    fn epoll_pwait(ep: c_int, ev: *mut libc::epoll_event, n: c_int, timeout: c_int,
                   mask: *const libc::sigset_t) -> c_int;
    fn sendfile(out: c_int, input: c_int, off: *mut libc::off_t, n: size_t) -> ssize_t;
    fn sendfile64(out: c_int, input: c_int, off: *mut libc::off64_t, n: size_t) -> ssize_t;
    fn splice(a: c_int, ao: *mut libc::loff_t, b: c_int, bo: *mut libc::loff_t, n: size_t,
              flags: c_uint) -> ssize_t;
    fn __read_chk(fd: c_int, buf: *mut c_void, n: size_t, buflen: size_t) -> ssize_t;
    fn __recv_chk(fd: c_int, buf: *mut c_void, n: size_t, buflen: size_t, flags: c_int)
        -> ssize_t;
    fn __recvfrom_chk(fd: c_int, buf: *mut c_void, n: size_t, buflen: size_t, flags: c_int,
                      from: *mut sockaddr, fromlen: *mut socklen_t) -> ssize_t;
    fn __poll_chk(fds: *mut libc::pollfd, n: libc::nfds_t, timeout: c_int, fdslen: size_t)
        -> c_int;
    fn fork() -> libc::pid_t;
    fn open(path: *const c_char, flags: c_int, mode: c_uint) -> c_int;
    fn open64(path: *const c_char, flags: c_int, mode: c_uint) -> c_int;
    fn openat(dir: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int;
    fn openat64(dir: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int;
    fn __open_2(path: *const c_char, flags: c_int) -> c_int;
    fn __open64_2(path: *const c_char, flags: c_int) -> c_int;
    fn __openat_2(dir: c_int, path: *const c_char, flags: c_int) -> c_int;
    fn __openat64_2(dir: c_int, path: *const c_char, flags: c_int) -> c_int;
    fn fopen(path: *const c_char, mode: *const c_char) -> *mut libc::FILE;
    fn fopen64(path: *const c_char, mode: *const c_char) -> *mut libc::FILE;
    fn fdopen(fd: c_int, mode: *const c_char) -> *mut libc::FILE;
    fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int;
    fn pthread_sigmask(how: c_int, set: *const libc::sigset_t, old: *mut libc::sigset_t)
        -> c_int;
}

/// The host's fcntl(2) (variadic in C; the argument is an int or a pointer).
///
/// # Safety
/// Same contract as fcntl.
pub unsafe fn fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    static CACHE: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
    let p = next(&CACHE, b"fcntl\0");
    // SAFETY: glibc's fcntl has this variadic signature.
    let f: unsafe extern "C" fn(c_int, c_int, ...) -> c_int = unsafe { std::mem::transmute(p) };
    unsafe { f(fd, cmd, arg) }
}

/// The host's ioctl(2).
///
/// # Safety
/// Same contract as ioctl.
pub unsafe fn ioctl(fd: c_int, req: c_ulong, arg: usize) -> c_int {
    static CACHE: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
    let p = next(&CACHE, b"ioctl\0");
    // SAFETY: glibc's ioctl has this variadic signature.
    let f: unsafe extern "C" fn(c_int, c_ulong, ...) -> c_int = unsafe { std::mem::transmute(p) };
    unsafe { f(fd, req, arg) }
}

/// errno of the calling thread.
pub fn errno() -> c_int {
    // SAFETY: __errno_location is always valid for the calling thread.
    unsafe { *libc::__errno_location() }
}

pub fn set_errno(e: c_int) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = e };
}

/// Writes a diagnostic line to stderr with the host's write (no stdio locks, no
/// allocation in the write path, safe inside interceptors).
pub fn say(msg: &str) {
    let line = format!("libos-nuse: {msg}\n");
    // SAFETY: valid buffer; a failed diagnostic write is ignored.
    unsafe { write(2, line.as_ptr().cast(), line.len()) };
}

/// CLOCK_MONOTONIC in nanoseconds.
pub fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// CLOCK_REALTIME in ns: the clock of the host kernel's receive timestamps.
pub fn realtime_ns() -> u64 {
    clock_ns(libc::CLOCK_REALTIME)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out pointer.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
