//! `#[repr(C)]` mirrors of include/sim-types.h and sim-init.h (API v2), field for field.
//! tests/layout.rs compiles the header and compares every offset and size.

use std::ffi::{c_char, c_int, c_long, c_ulong, c_void};

macro_rules! opaque {
    ($($name:ident),*) => {$(
        /// Opaque to the other side of the ABI.
        #[repr(C)]
        pub struct $name {
            _private: [u8; 0],
        }
    )*};
}
opaque!(SimKernel, SimTask, SimSocket, SimDevice, SimSysFile);

pub const SIM_DEV_NOARP: u32 = 1 << 0;
pub const SIM_DEV_POINTTOPOINT: u32 = 1 << 1;
pub const SIM_DEV_MULTICAST: u32 = 1 << 2;
pub const SIM_DEV_BROADCAST: u32 = 1 << 3;
pub const SIM_SYS_FILE_READ: c_int = 1 << 0;
pub const SIM_SYS_FILE_WRITE: c_int = 1 << 1;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SimDevicePacket {
    pub buffer: *mut c_void,
    pub token: *mut c_void,
}

impl SimDevicePacket {
    pub const NULL: SimDevicePacket =
        SimDevicePacket { buffer: std::ptr::null_mut(), token: std::ptr::null_mut() };
}

#[repr(C)]
pub struct SimSysIterator {
    pub report_start_dir: Option<unsafe extern "C" fn(*const SimSysIterator, *const c_char)>,
    pub report_end_dir: Option<unsafe extern "C" fn(*const SimSysIterator)>,
    pub report_file:
        Option<unsafe extern "C" fn(*const SimSysIterator, *const c_char, c_int, *mut SimSysFile)>,
}

/// sim.h `struct poll_table_ref`.
#[repr(C)]
pub struct PollTableRef {
    pub ret: c_int,
    pub opaque: *mut c_void,
}

/// The user `struct msghdr` (glibc, x86-64: the lengths are `size_t`).
#[repr(C)]
pub struct MsgHdr {
    pub msg_name: *mut c_void,
    pub msg_namelen: u32,
    pub msg_iov: *mut IoVec,
    pub msg_iovlen: usize,
    pub msg_control: *mut c_void,
    pub msg_controllen: usize,
    pub msg_flags: c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct IoVec {
    pub iov_base: *mut c_void,
    pub iov_len: usize,
}

type K = *mut SimKernel;
type File = *mut c_void;
pub type EventFn = unsafe extern "C" fn(*mut c_void);
pub type PreFn = unsafe extern "C" fn();

/// What the library gives the host (29 slots).
#[repr(C)]
pub struct SimExported {
    pub task_create: Option<unsafe extern "C" fn(*mut c_void, c_ulong) -> *mut SimTask>,
    pub task_destroy: Option<unsafe extern "C" fn(*mut SimTask)>,
    pub task_get_private: Option<unsafe extern "C" fn(*mut SimTask) -> *mut c_void>,
    pub sock_socket:
        Option<unsafe extern "C" fn(c_int, c_int, c_int, *mut *mut SimSocket) -> c_int>,
    pub sock_close: Option<unsafe extern "C" fn(*mut SimSocket) -> c_int>,
    pub sock_recvmsg: Option<unsafe extern "C" fn(*mut SimSocket, *mut MsgHdr, c_int) -> isize>,
    pub sock_sendmsg: Option<unsafe extern "C" fn(*mut SimSocket, *const MsgHdr, c_int) -> isize>,
    pub sock_getsockname:
        Option<unsafe extern "C" fn(*mut SimSocket, *mut c_void, *mut c_int) -> c_int>,
    pub sock_getpeername:
        Option<unsafe extern "C" fn(*mut SimSocket, *mut c_void, *mut c_int) -> c_int>,
    pub sock_bind: Option<unsafe extern "C" fn(*mut SimSocket, *const c_void, c_int) -> c_int>,
    pub sock_connect:
        Option<unsafe extern "C" fn(*mut SimSocket, *const c_void, c_int, c_int) -> c_int>,
    pub sock_listen: Option<unsafe extern "C" fn(*mut SimSocket, c_int) -> c_int>,
    pub sock_shutdown: Option<unsafe extern "C" fn(*mut SimSocket, c_int) -> c_int>,
    pub sock_accept:
        Option<unsafe extern "C" fn(*mut SimSocket, *mut *mut SimSocket, c_int) -> c_int>,
    pub sock_ioctl: Option<unsafe extern "C" fn(*mut SimSocket, c_int, *mut c_char) -> c_int>,
    pub sock_setsockopt:
        Option<unsafe extern "C" fn(*mut SimSocket, c_int, c_int, *const c_void, c_int) -> c_int>,
    pub sock_getsockopt: Option<
        unsafe extern "C" fn(*mut SimSocket, c_int, c_int, *mut c_void, *mut c_int) -> c_int,
    >,
    pub sock_poll: Option<unsafe extern "C" fn(*mut SimSocket, *mut c_void)>,
    pub sock_pollfreewait: Option<unsafe extern "C" fn(*mut c_void)>,
    pub dev_create: Option<unsafe extern "C" fn(*const c_char, *mut c_void, u32) -> *mut SimDevice>,
    pub dev_destroy: Option<unsafe extern "C" fn(*mut SimDevice)>,
    pub dev_get_private: Option<unsafe extern "C" fn(*mut SimDevice) -> *mut c_void>,
    pub dev_set_address: Option<unsafe extern "C" fn(*mut SimDevice, *mut u8)>,
    pub dev_set_mtu: Option<unsafe extern "C" fn(*mut SimDevice, c_int)>,
    pub dev_create_packet: Option<unsafe extern "C" fn(*mut SimDevice, c_int) -> SimDevicePacket>,
    pub dev_rx: Option<unsafe extern "C" fn(*mut SimDevice, SimDevicePacket)>,
    pub sys_iterate_files: Option<unsafe extern "C" fn(*const SimSysIterator)>,
    pub sys_file_read:
        Option<unsafe extern "C" fn(*const SimSysFile, *mut c_char, c_int, c_int) -> c_int>,
    pub sys_file_write:
        Option<unsafe extern "C" fn(*const SimSysFile, *const c_char, c_int, c_int) -> c_int>,
}

/// What the host gives the library (30 slots); any may be NULL.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SimImported {
    pub vprintf: Option<unsafe extern "C" fn(K, *const c_char, *mut c_void) -> c_int>,
    pub malloc: Option<unsafe extern "C" fn(K, c_ulong) -> *mut c_void>,
    pub free: Option<unsafe extern "C" fn(K, *mut c_void)>,
    pub memcpy: Option<unsafe extern "C" fn(K, *mut c_void, *const c_void, c_ulong) -> *mut c_void>,
    pub memset: Option<unsafe extern "C" fn(K, *mut c_void, c_char, c_ulong) -> *mut c_void>,
    pub atexit: Option<unsafe extern "C" fn(K, Option<unsafe extern "C" fn()>) -> c_int>,
    pub access: Option<unsafe extern "C" fn(K, *const c_char, c_int) -> c_int>,
    pub getenv: Option<unsafe extern "C" fn(K, *const c_char) -> *mut c_char>,
    pub mkdir: Option<unsafe extern "C" fn(K, *const c_char, u32) -> c_int>,
    pub open: Option<unsafe extern "C" fn(K, *const c_char, c_int) -> c_int>,
    pub __fxstat: Option<unsafe extern "C" fn(K, c_int, c_int, *mut c_void) -> c_int>,
    pub fseek: Option<unsafe extern "C" fn(K, File, c_long, c_int) -> c_int>,
    pub setbuf: Option<unsafe extern "C" fn(K, File, *mut c_char)>,
    pub fdopen: Option<unsafe extern "C" fn(K, c_int, *const c_char) -> File>,
    pub ftell: Option<unsafe extern "C" fn(K, File) -> c_long>,
    pub fclose: Option<unsafe extern "C" fn(K, File) -> c_int>,
    pub fread: Option<unsafe extern "C" fn(K, *mut c_void, usize, usize, File) -> usize>,
    pub fwrite: Option<unsafe extern "C" fn(K, *const c_void, usize, usize, File) -> usize>,
    pub random: Option<unsafe extern "C" fn(K) -> c_ulong>,
    pub event_schedule_ns: Option<
        unsafe extern "C" fn(K, u64, Option<EventFn>, *mut c_void, Option<PreFn>) -> *mut c_void,
    >,
    pub event_cancel: Option<unsafe extern "C" fn(K, *mut c_void)>,
    pub current_ns: Option<unsafe extern "C" fn(K) -> u64>,
    pub task_start: Option<unsafe extern "C" fn(K, Option<EventFn>, *mut c_void) -> *mut SimTask>,
    pub task_wait: Option<unsafe extern "C" fn(K)>,
    pub task_current: Option<unsafe extern "C" fn(K) -> *mut SimTask>,
    pub task_wakeup: Option<unsafe extern "C" fn(K, *mut SimTask) -> c_int>,
    pub task_yield: Option<unsafe extern "C" fn(K)>,
    pub dev_xmit: Option<unsafe extern "C" fn(K, *mut SimDevice, *mut u8, c_int)>,
    pub signal_raised: Option<unsafe extern "C" fn(K, *mut SimTask, c_int)>,
    pub poll_event: Option<unsafe extern "C" fn(c_int, *mut c_void)>,
}
