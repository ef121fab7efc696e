//! `SimExported` device calls: host NetDevices become kernel devices named from a
//! pattern (`sim%d`), MAC and MTU set by the host, frames in through
//! `dev_create_packet` + `dev_rx` (whole Ethernet frames), out through the imported
//! `dev_xmit` (in `instance::flush`).

use crate::instance::{self, Dev};
use crate::types::{
    SIM_DEV_BROADCAST, SIM_DEV_MULTICAST, SIM_DEV_NOARP, SIM_DEV_POINTTOPOINT, SimDevice,
    SimDevicePacket,
};
use crate::{guard, with_r};
use libos_kernel::dev::IFNAMSIZ;
use libos_kernel::{DevFlags, DeviceConfig, Errno, EthernetAddress, SysResult};
use std::ffi::{CStr, c_char, c_int, c_void};

const RTM_NEWLINK: u16 = 16;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const IFLA_ADDRESS: u16 = 1;
const NLMSG_ERROR: u16 = 2;

fn did(d: *mut SimDevice) -> usize {
    d as usize
}

/// `sim%d` -> the first free `sim0`, `sim1`, ...; a plain name is taken as is.
pub fn pick_name(pattern: &str, taken: impl Fn(&str) -> bool) -> Option<String> {
    let ok = |n: &str| n.len() < IFNAMSIZ && !n.is_empty() && !taken(n);
    if !pattern.contains("%d") {
        return ok(pattern).then(|| pattern.to_string());
    }
    (0..4096).map(|k| pattern.replacen("%d", &k.to_string(), 1)).find(|n| ok(n))
}

pub fn dev_flags(sim: u32) -> DevFlags {
    let mut f = DevFlags(0);
    for (s, d) in [
        (SIM_DEV_NOARP, DevFlags::NOARP),
        (SIM_DEV_POINTTOPOINT, DevFlags::POINTOPOINT),
        (SIM_DEV_MULTICAST, DevFlags::MULTICAST),
        (SIM_DEV_BROADCAST, DevFlags::BROADCAST),
    ] {
        if sim & s != 0 {
            f.insert(d);
        }
    }
    f
}

/// API v2 `dev_create(ifname, priv, flags)`: a down Ethernet device, MTU 1500, MAC
/// 00:00:00:00:00:00 until `dev_set_address`. NULL on a bad or exhausted name.
pub unsafe extern "C" fn dev_create(
    ifname: *const c_char,
    private: *mut c_void,
    flags: u32,
) -> *mut SimDevice {
    guard(std::ptr::null_mut(), || {
        let pattern = if ifname.is_null() {
            "sim%d".to_string()
        } else {
            // SAFETY: the host's NUL-terminated name.
            unsafe { CStr::from_ptr(ifname) }.to_string_lossy().into_owned()
        };
        let r = with_r(|i| {
            let name = pick_name(&pattern, |n| i.k.dev_index(n).is_some()).ok_or(Errno::EINVAL)?;
            let cfg = DeviceConfig {
                name,
                mac: EthernetAddress::ZERO,
                mtu: 1500,
                flags: dev_flags(flags),
            };
            let ifindex = i.k.dev_add(cfg)?;
            let h = i.id();
            i.devs.insert(h, Dev { ifindex, private });
            i.if_dev.insert(ifindex, h);
            Ok(h)
        });
        r.map_or(std::ptr::null_mut(), |h| h as *mut SimDevice)
    })
}

/// The kernel has no device removal yet: the device goes down and its handle dies
/// (its frames are no longer transmitted).
pub unsafe extern "C" fn dev_destroy(d: *mut SimDevice) {
    guard((), || {
        let _ = with_r(|i| {
            let dev = i.devs.remove(&did(d)).ok_or(Errno::ENODEV)?;
            i.if_dev.remove(&dev.ifindex);
            let now = i.now();
            i.k.dev_set_up(now, dev.ifindex, false)
        });
        instance::flush();
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_dev_get_private(d: *mut SimDevice) -> *mut c_void {
    guard(std::ptr::null_mut(), || {
        with_r(|i| Ok(i.dev(did(d))?.private)).unwrap_or(std::ptr::null_mut())
    })
}

/// RTM_NEWLINK { ifindex, IFLA_ADDRESS = mac } with an ack.
pub fn setlink_mac(ifindex: u32, mac: [u8; 6]) -> Vec<u8> {
    let mut m = Vec::with_capacity(44);
    m.extend_from_slice(&44u32.to_ne_bytes());
    m.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(&(ifindex as i32).to_ne_bytes());
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&10u16.to_ne_bytes());
    m.extend_from_slice(&IFLA_ADDRESS.to_ne_bytes());
    m.extend_from_slice(&mac);
    m.extend_from_slice(&[0, 0]);
    m
}

/// The errno of a netlink ack (0 on success).
pub fn ack_errno(reply: &[u8]) -> SysResult<()> {
    if reply.len() >= 20 && u16::from_ne_bytes([reply[4], reply[5]]) == NLMSG_ERROR {
        let e = i32::from_ne_bytes([reply[16], reply[17], reply[18], reply[19]]);
        return if e == 0 { Ok(()) } else { Err(Errno(-e)) };
    }
    Err(Errno::EIO)
}

pub unsafe extern "C" fn dev_set_address(d: *mut SimDevice, buf: *mut u8) {
    guard((), || {
        if buf.is_null() {
            return;
        }
        let mut mac = [0u8; 6];
        // SAFETY: the host passes 6 bytes.
        unsafe { std::ptr::copy_nonoverlapping(buf, mac.as_mut_ptr(), 6) };
        let _ = with_r(|i| {
            let ifindex = i.dev(did(d))?.ifindex;
            let now = i.now();
            ack_errno(&i.k.netlink(now, &setlink_mac(ifindex, mac)))
        });
        instance::flush();
    })
}

pub unsafe extern "C" fn dev_set_mtu(d: *mut SimDevice, mtu: c_int) {
    guard((), || {
        let _ = with_r(|i| {
            let ifindex = i.dev(did(d))?.ifindex;
            let now = i.now();
            i.k.dev_set_mtu(now, ifindex, u32::try_from(mtu).map_err(|_| Errno::EINVAL)?)
        });
        instance::flush();
    })
}

/// A zeroed receive buffer of `size` bytes; {NULL, NULL} on a bad size or device.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_dev_create_packet(d: *mut SimDevice, size: c_int) -> SimDevicePacket {
    guard(SimDevicePacket::NULL, || {
        let Ok(n) = usize::try_from(size) else { return SimDevicePacket::NULL };
        if n > 1 << 20 {
            return SimDevicePacket::NULL;
        }
        let r = with_r(|i| {
            i.dev(did(d))?;
            let mut buf = vec![0u8; n];
            let p = buf.as_mut_ptr();
            let t = i.add_packet(buf).ok_or(Errno::ENOBUFS)?;
            Ok(SimDevicePacket { buffer: p as *mut c_void, token: t as *mut c_void })
        });
        r.unwrap_or(SimDevicePacket::NULL)
    })
}

/// Consumes a packet from `dev_create_packet` holding a whole Ethernet frame.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lib_dev_rx(d: *mut SimDevice, p: SimDevicePacket) {
    guard((), || {
        let _ = with_r(|i| {
            let buf = i.packets.remove(&(p.token as usize)).ok_or(Errno::EINVAL)?;
            let ifindex = i.dev(did(d))?.ifindex;
            let now = i.now();
            i.k.dev_rx(now, ifindex, &buf);
            Ok(())
        });
        instance::flush();
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_patterns() {
        let taken = |n: &str| n == "sim0" || n == "sim2";
        assert_eq!(pick_name("sim%d", taken).as_deref(), Some("sim1"));
        assert_eq!(pick_name("eth7", taken).as_deref(), Some("eth7"));
        assert_eq!(pick_name("sim0", taken), None);
        assert_eq!(pick_name("averyveryverylongname%d", taken), None);
    }

    #[test]
    fn flags_map_to_iff() {
        let f = dev_flags(SIM_DEV_NOARP | SIM_DEV_BROADCAST | SIM_DEV_MULTICAST);
        assert_eq!(f.0, 0x80 | 0x2 | 0x1000);
        assert_eq!(dev_flags(SIM_DEV_POINTTOPOINT).0, 0x10);
    }

    #[test]
    fn setlink_sets_the_mac() {
        let mut k = libos_kernel::Kernel::new(Default::default());
        let cfg = DeviceConfig {
            name: "sim0".into(),
            mac: EthernetAddress::ZERO,
            mtu: 1500,
            flags: DevFlags(0),
        };
        let i = k.dev_add(cfg).unwrap();
        let mac = [2, 0, 0, 0, 0, 9];
        ack_errno(&k.netlink(0, &setlink_mac(i, mac))).unwrap();
        assert_eq!(k.dev(i).unwrap().mac.0, mac);
        assert_eq!(ack_errno(&k.netlink(0, &setlink_mac(99, mac))), Err(Errno::ENODEV));
    }
}
