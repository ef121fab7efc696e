//! The host side of a libos device: a TAP interface, an AF_PACKET socket bound to a host
//! interface (RAW), or a PIPE: a point-to-point link to one other process over unix
//! datagram sockets `<pipepath>.0` and `<pipepath>.1` (no root needed). Frames are whole
//! Ethernet frames in every case. All host I/O goes through `sys` (the real libc).

use crate::config::VifType;
use crate::sys;
use std::io;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

pub struct HostDevice {
    fd: RawFd,
    kind: VifType,
    /// PIPE: the peer's socket address and our own path (unlinked on drop).
    pipe: Option<(libc::sockaddr_un, PathBuf)>,
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r) }
}

fn ifreq_name(name: &str) -> io::Result<[libc::c_char; libc::IFNAMSIZ]> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad interface name"));
    }
    let mut out = [0 as libc::c_char; libc::IFNAMSIZ];
    for (o, b) in out.iter_mut().zip(name.bytes()) {
        *o = b as libc::c_char;
    }
    Ok(out)
}

fn sun(path: &Path) -> io::Result<libc::sockaddr_un> {
    // SAFETY: all-zero is a valid sockaddr_un.
    let mut a: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    a.sun_family = libc::AF_UNIX as u16;
    let b = path.as_os_str().as_encoded_bytes();
    if b.len() >= a.sun_path.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "pipepath too long"));
    }
    for (o, &c) in a.sun_path.iter_mut().zip(b) {
        *o = c as libc::c_char;
    }
    Ok(a)
}

const SUN_LEN: libc::socklen_t = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;

impl HostDevice {
    pub fn open(kind: VifType, name: &str, pipepath: Option<&Path>) -> io::Result<HostDevice> {
        match kind {
            VifType::Tap => Self::tap(name),
            VifType::Raw => Self::packet(name),
            VifType::Pipe => Self::pipe(pipepath.unwrap_or(Path::new(name))),
        }
    }

    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// Attaches to (or creates) TAP interface `name` in this network namespace.
    pub fn tap(name: &str) -> io::Result<HostDevice> {
        // SAFETY: plain libc calls with valid pointers; the fd is owned by the device.
        unsafe {
            let flags = libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC;
            let fd = cvt(libc::open(c"/dev/net/tun".as_ptr(), flags))?;
            let dev = HostDevice { fd, kind: VifType::Tap, pipe: None };
            let mut ifr: libc::ifreq = std::mem::zeroed();
            ifr.ifr_name = ifreq_name(name)?;
            ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
            cvt(sys::ioctl(fd, libc::TUNSETIFF as libc::c_ulong, (&raw const ifr) as usize))?;
            Ok(dev)
        }
    }

    /// An AF_PACKET socket bound to existing host interface `name`.
    pub fn packet(name: &str) -> io::Result<HostDevice> {
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: as above; `sll` is fully initialised before bind.
        unsafe {
            let cname = std::ffi::CString::new(name)?;
            let ifindex = libc::if_nametoindex(cname.as_ptr());
            if ifindex == 0 {
                return Err(io::Error::last_os_error());
            }
            let ty = libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
            let fd = cvt(sys::socket(libc::AF_PACKET, ty, i32::from(proto)))?;
            let dev = HostDevice { fd, kind: VifType::Raw, pipe: None };
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = proto;
            sll.sll_ifindex = ifindex as i32;
            let len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            cvt(sys::bind(fd, (&raw const sll).cast(), len))?;
            // Arrival times from the host kernel (its softirq clock), so that a receive
            // thread that runs late still hands libos the true ACK spacing.
            let one: libc::c_int = 1;
            let sz = std::mem::size_of::<libc::c_int>() as u32;
            cvt(sys::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&raw const one).cast(),
                sz,
            ))?;
            Ok(dev)
        }
    }

    /// One end of a PIPE link: binds `<path>.0`, or `<path>.1` when `.0` belongs to a
    /// live process; stale socket files of dead processes are replaced.
    pub fn pipe(path: &Path) -> io::Result<HostDevice> {
        let ty = libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: plain socket call.
        let fd = cvt(unsafe { sys::socket(libc::AF_UNIX, ty, 0) })?;
        let mut dev = HostDevice { fd, kind: VifType::Pipe, pipe: None };
        let ends = [0, 1].map(|i| PathBuf::from(format!("{}.{i}", path.display())));
        for (i, mine) in ends.iter().enumerate() {
            let a = sun(mine)?;
            // SAFETY: valid sockaddr_un.
            if unsafe { sys::bind(fd, (&raw const a).cast(), SUN_LEN) } == 0 {
                dev.pipe = Some((sun(&ends[1 - i])?, mine.clone()));
                return Ok(dev);
            }
            if sys::errno() != libc::EADDRINUSE || is_live(mine)? {
                continue;
            }
            let _ = std::fs::remove_file(mine);
            // SAFETY: as above.
            if unsafe { sys::bind(fd, (&raw const a).cast(), SUN_LEN) } == 0 {
                dev.pipe = Some((sun(&ends[1 - i])?, mine.clone()));
                return Ok(dev);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("both ends of PIPE {} are taken by live processes", path.display()),
        ))
    }

    /// Waits up to `timeout_ms` for a frame to read (for single-threaded hosts).
    pub fn wait(&self, timeout_ms: i32) {
        let mut pfd = libc::pollfd { fd: self.fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        unsafe { sys::poll(&mut pfd, 1, timeout_ms) };
    }

    /// Reads one frame into `buf`; `None` when nothing is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> Option<Received> {
        if self.kind != VifType::Raw {
            // SAFETY: buf is valid for its length.
            let n = unsafe { sys::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            return (n > 0).then_some(Received { len: n as usize, stamp: None });
        }
        loop {
            // SAFETY: zeroed sockaddr_ll and msghdr are valid; every pointer in the
            // msghdr refers to a live buffer of the stated length.
            let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
            let mut control = [0u64; 8];
            let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
            msg.msg_name = (&raw mut from).cast();
            msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            msg.msg_iov = &raw mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&control);
            let n = unsafe { sys::recvmsg(self.fd, &raw mut msg, 0) };
            if n <= 0 {
                return None;
            }
            // AF_PACKET also shows our own transmissions; never feed them back.
            if from.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            return Some(Received { len: n as usize, stamp: rx_stamp(&msg) });
        }
    }

    /// Sends one frame. A full queue (or an absent PIPE peer) drops it, as a NIC would.
    pub fn send(&self, frame: &[u8]) {
        // SAFETY: frame is a valid buffer; `to` a valid sockaddr_un.
        unsafe {
            match &self.pipe {
                Some((to, _)) => sys::sendto(
                    self.fd,
                    frame.as_ptr().cast(),
                    frame.len(),
                    0,
                    (to as *const libc::sockaddr_un).cast(),
                    SUN_LEN,
                ),
                None => sys::write(self.fd, frame.as_ptr().cast(), frame.len()),
            }
        };
    }
}

/// One frame read from a host device.
pub struct Received {
    pub len: usize,
    /// When the host kernel received it (CLOCK_REALTIME ns), where the device tells.
    pub stamp: Option<u64>,
}

/// The SCM_TIMESTAMPNS control message of a received frame.
fn rx_stamp(msg: &libc::msghdr) -> Option<u64> {
    // SAFETY: the CMSG macros walk the control buffer recvmsg filled, within
    // msg_controllen; the timespec is read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                return Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64);
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

/// Whether a process listens on unix socket `path` (connect succeeds or would block).
fn is_live(path: &Path) -> io::Result<bool> {
    let a = sun(path)?;
    // SAFETY: plain socket calls on a private fd.
    unsafe {
        let s = cvt(sys::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0))?;
        let r = sys::connect(s, (&raw const a).cast(), SUN_LEN);
        let e = sys::errno();
        sys::close(s);
        Ok(r == 0 || e != libc::ECONNREFUSED)
    }
}

impl Drop for HostDevice {
    fn drop(&mut self) {
        if let Some((_, mine)) = &self.pipe {
            let _ = std::fs::remove_file(mine);
        }
        // SAFETY: we own fd.
        unsafe { sys::close(self.fd) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame sent on `lo` comes back through a RAW device with the host kernel's
    /// receive timestamp (needs CAP_NET_RAW: CI runs as root).
    #[test]
    fn raw_frames_carry_the_host_receive_time() {
        // SAFETY: plain getter.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIPPED raw_frames_carry_the_host_receive_time: needs root (CI is root)");
            return;
        }
        let rx = HostDevice::packet("lo").expect("AF_PACKET on lo");
        let tx = HostDevice::packet("lo").expect("AF_PACKET on lo");
        let mut frame = [0u8; 60];
        frame[12..14].copy_from_slice(&0x88b5u16.to_be_bytes()); // local experimental type
        let before = sys::realtime_ns();
        tx.send(&frame);
        let mut buf = [0u8; 2048];
        rx.wait(1000);
        // lo shows the frame twice (outgoing, skipped, and incoming); other traffic on lo
        // may come first: look for ours.
        let stamp = loop {
            let got = rx.recv(&mut buf).expect("the frame comes back");
            if got.len == 60 && buf[12..14] == [0x88, 0xb5] {
                break got.stamp.expect("a receive timestamp");
            }
        };
        assert!(stamp >= before && stamp <= sys::realtime_ns(), "{before} {stamp}");
    }
}
