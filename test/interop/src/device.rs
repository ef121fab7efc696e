//! The host side of a device: a TAP interface (`/dev/net/tun`, IFF_TAP|IFF_NO_PI) or an
//! AF_PACKET socket bound to an existing interface (e.g. one end of a veth pair).
//! Frames are whole Ethernet frames in both directions.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub struct HostDevice {
    fd: OwnedFd,
    /// AF_PACKET also sees our own transmissions; those must not be fed back.
    packet: bool,
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

impl HostDevice {
    /// Attaches to (or creates) TAP interface `name` in the current network namespace.
    pub fn tap(name: &str) -> io::Result<HostDevice> {
        // SAFETY: plain libc calls with valid pointers; the fd is owned right away.
        unsafe {
            let fd = cvt(libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_NONBLOCK))?;
            let fd = OwnedFd::from_raw_fd(fd);
            let mut ifr: libc::ifreq = std::mem::zeroed();
            ifr.ifr_name = ifreq_name(name)?;
            ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
            cvt(libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &ifr))?;
            Ok(HostDevice { fd, packet: false })
        }
    }

    /// Opens an AF_PACKET socket bound to existing interface `name`.
    pub fn packet(name: &str) -> io::Result<HostDevice> {
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: as above; `sll` is fully initialised before bind.
        unsafe {
            let cname = std::ffi::CString::new(name)?;
            let ifindex = libc::if_nametoindex(cname.as_ptr());
            if ifindex == 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = cvt(libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK,
                i32::from(proto),
            ))?;
            let fd = OwnedFd::from_raw_fd(fd);
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = proto;
            sll.sll_ifindex = ifindex as i32;
            let len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            cvt(libc::bind(fd.as_raw_fd(), (&raw const sll).cast(), len))?;
            Ok(HostDevice { fd, packet: true })
        }
    }

    /// Waits up to `timeout_ms` for a frame to read.
    pub fn wait(&self, timeout_ms: i32) {
        let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    }

    /// Reads one frame into `buf`; `None` when nothing is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> Option<usize> {
        if !self.packet {
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            return (n > 0).then_some(n as usize);
        }
        loop {
            let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut flen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            // SAFETY: buffers are valid for their stated lengths.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    (&raw mut from).cast(),
                    &mut flen,
                )
            };
            if n <= 0 {
                return None;
            }
            if self.packet && from.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            return Some(n as usize);
        }
    }

    pub fn send(&self, frame: &[u8]) {
        // SAFETY: frame is a valid buffer. A full device queue drops the frame, as a NIC would.
        unsafe { libc::write(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len()) };
    }
}
