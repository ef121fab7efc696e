//! The sysctl tree through `sys_iterate_files`: the kernel's dotted names
//! (`net.ipv4.tcp_congestion_control`) become directories and files, so hosts build
//! `.net.ipv4.tcp_congestion_control` as DCE does (append "." + dir on start, pop on
//! end). A `SimSysFile*` is a stable per-name id; reads give "value\n", writes take
//! the value (trailing whitespace and NULs ignored).

use crate::types::{SIM_SYS_FILE_READ, SIM_SYS_FILE_WRITE, SimSysFile, SimSysIterator};
use crate::{guard, neg, with, with_r};
use libos_kernel::Errno;
use std::collections::BTreeMap;
use std::ffi::{CString, c_char, c_int};

#[derive(Debug, PartialEq, Eq)]
pub enum Op {
    StartDir(String),
    EndDir,
    /// (file name, full dotted name)
    File(String, String),
}

#[derive(Default)]
struct Dir {
    dirs: BTreeMap<String, Dir>,
    files: Vec<(String, String)>,
}

/// The walk over `names`: each directory before the files beside it.
pub fn walk(names: &[String]) -> Vec<Op> {
    let mut root = Dir::default();
    for full in names {
        let parts: Vec<&str> = full.split('.').collect();
        let Some((leaf, dirs)) = parts.split_last() else { continue };
        let mut d = &mut root;
        for p in dirs {
            d = d.dirs.entry((*p).to_string()).or_default();
        }
        d.files.push(((*leaf).to_string(), full.clone()));
    }
    let mut ops = Vec::new();
    emit(&root, &mut ops);
    ops
}

fn emit(d: &Dir, ops: &mut Vec<Op>) {
    for (name, sub) in &d.dirs {
        ops.push(Op::StartDir(name.clone()));
        emit(sub, ops);
        ops.push(Op::EndDir);
    }
    for (leaf, full) in &d.files {
        ops.push(Op::File(leaf.clone(), full.clone()));
    }
}

pub unsafe extern "C" fn sys_iterate_files(it: *const SimSysIterator) {
    guard((), || {
        if it.is_null() {
            return;
        }
        let Ok(ops) = with(|i| {
            let ops = walk(&i.k.sysctl_names());
            // Register every file's id before the host sees it.
            let mut out = Vec::with_capacity(ops.len());
            for op in ops {
                let id = match &op {
                    Op::File(_, full) => match i.sysfile_ids.get(full) {
                        Some(&id) => id,
                        None => {
                            i.sysfiles.push(full.clone());
                            let id = i.sysfiles.len();
                            i.sysfile_ids.insert(full.clone(), id);
                            id
                        }
                    },
                    _ => 0,
                };
                out.push((op, id));
            }
            out
        }) else {
            return;
        };
        // SAFETY: the host's iterator.
        let it_ref = unsafe { &*it };
        for (op, id) in ops {
            // SAFETY: the callbacks' contract; strings live across each call.
            unsafe {
                match op {
                    Op::StartDir(n) => {
                        if let (Some(f), Ok(c)) = (it_ref.report_start_dir, CString::new(n)) {
                            f(it, c.as_ptr());
                        }
                    }
                    Op::EndDir => {
                        if let Some(f) = it_ref.report_end_dir {
                            f(it);
                        }
                    }
                    Op::File(n, _) => {
                        if let (Some(f), Ok(c)) = (it_ref.report_file, CString::new(n)) {
                            let flags = SIM_SYS_FILE_READ | SIM_SYS_FILE_WRITE;
                            f(it, c.as_ptr(), flags, id as *mut SimSysFile);
                        }
                    }
                }
            }
        }
    })
}

fn name_of(i: &crate::instance::Instance, f: *const SimSysFile) -> Result<String, Errno> {
    let id = f as usize;
    id.checked_sub(1).and_then(|k| i.sysfiles.get(k)).cloned().ok_or(Errno::ENOENT)
}

pub unsafe extern "C" fn sys_file_read(
    f: *const SimSysFile,
    buf: *mut c_char,
    size: c_int,
    offset: c_int,
) -> c_int {
    guard(-5, || {
        let (Ok(size), Ok(offset)) = (usize::try_from(size), usize::try_from(offset)) else {
            return neg(Errno::EINVAL);
        };
        if buf.is_null() && size > 0 {
            return neg(Errno::EFAULT);
        }
        let r = with_r(|i| {
            let name = name_of(i, f)?;
            i.k.sysctl_get(&name)
        });
        match r {
            Ok(v) => {
                let text = format!("{v}\n");
                let b = text.as_bytes();
                let n = b.len().saturating_sub(offset).min(size);
                if n > 0 {
                    // SAFETY: `buf` holds `size` bytes; offset < len here.
                    unsafe {
                        std::ptr::copy_nonoverlapping(b[offset..].as_ptr(), buf as *mut u8, n)
                    };
                }
                n as c_int
            }
            Err(e) => neg(e),
        }
    })
}

pub unsafe extern "C" fn sys_file_write(
    f: *const SimSysFile,
    buf: *const c_char,
    size: c_int,
    offset: c_int,
) -> c_int {
    guard(-5, || {
        let Ok(n) = usize::try_from(size) else { return neg(Errno::EINVAL) };
        if offset != 0 {
            return neg(Errno::EINVAL);
        }
        if buf.is_null() && n > 0 {
            return neg(Errno::EFAULT);
        }
        let bytes: &[u8] = if n == 0 {
            &[]
        } else {
            // SAFETY: `buf` holds `size` bytes.
            unsafe { std::slice::from_raw_parts(buf as *const u8, n) }
        };
        let value = String::from_utf8_lossy(bytes);
        let value = value.trim_end_matches(|c: char| c == '\0' || c.is_whitespace());
        let r = with_r(|i| {
            let name = name_of(i, f)?;
            i.k.sysctl_set(&name, value)
        });
        crate::instance::flush();
        r.map_or_else(neg, |_| size)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_nests_dirs_before_files() {
        let names: Vec<String> =
            ["net.core.somaxconn", "net.ipv4.conf.all.forwarding", "net.ipv4.ip_forward"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let ops = walk(&names);
        let d = |s: &str| Op::StartDir(s.into());
        let f = |l: &str, full: &str| Op::File(l.into(), full.into());
        assert_eq!(
            ops,
            vec![
                d("net"),
                d("core"),
                f("somaxconn", "net.core.somaxconn"),
                Op::EndDir,
                d("ipv4"),
                d("conf"),
                d("all"),
                f("forwarding", "net.ipv4.conf.all.forwarding"),
                Op::EndDir,
                Op::EndDir,
                f("ip_forward", "net.ipv4.ip_forward"),
                Op::EndDir,
                Op::EndDir,
            ]
        );
    }

    #[test]
    fn the_kernel_tree_has_the_names_dce_uses() {
        let k = libos_kernel::Kernel::new(Default::default());
        let mut path = Vec::new();
        let mut found = Vec::new();
        for op in walk(&k.sysctl_names()) {
            match op {
                Op::StartDir(n) => path.push(n),
                Op::EndDir => {
                    path.pop();
                }
                Op::File(l, _) => found.push(format!(".{}.{l}", path.join("."))),
            }
        }
        assert!(path.is_empty());
        for want in [".net.ipv4.tcp_congestion_control", ".net.ipv4.conf.all.forwarding"] {
            assert!(found.iter().any(|f| f == want), "{want} missing");
        }
    }
}
