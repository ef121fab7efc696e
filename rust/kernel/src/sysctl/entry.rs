//! One row of the sysctl name table and the value conversions, modelled on Linux's
//! `proc_dointvec_minmax` (integers with bounds) and `proc_dostring`.

use super::Sysctl;
use crate::Errno;

pub struct Entry {
    pub name: &'static str,
    pub kind: Kind,
}

pub enum Kind {
    /// One integer in `min..=max` (`proc_dointvec_minmax`).
    Int { get: fn(&Sysctl) -> i64, set: fn(&mut Sysctl, i64), min: i64, max: i64 },
    /// Three integers, as `tcp_rmem`/`tcp_wmem`/`tcp_mem`, each at least `min`.
    Triple { get: fn(&Sysctl) -> [i64; 3], set: fn(&mut Sysctl, [i64; 3]), min: i64 },
    /// Two integers, as `ip_local_port_range`; `check` validates the pair.
    Pair {
        get: fn(&Sysctl) -> [i64; 2],
        set: fn(&mut Sysctl, [i64; 2]),
        check: fn([i64; 2]) -> bool,
    },
    /// A string with its own validation (e.g. a congestion control name).
    Str { get: fn(&Sysctl) -> String, set: fn(&mut Sysctl, &str) -> Result<(), Errno> },
    /// Read-only text (e.g. `tcp_available_congestion_control`): writes give EPERM.
    ReadOnly { get: fn(&Sysctl) -> String },
}

fn parse_ints<const N: usize>(value: &str) -> Result<[i64; N], Errno> {
    let mut out = [0; N];
    let mut it = value.split_whitespace();
    for slot in &mut out {
        *slot = it.next().ok_or(Errno::EINVAL)?.parse().map_err(|_| Errno::EINVAL)?;
    }
    if it.next().is_some() {
        return Err(Errno::EINVAL);
    }
    Ok(out)
}

impl Kind {
    pub fn get(&self, s: &Sysctl) -> String {
        match self {
            Kind::Int { get, .. } => get(s).to_string(),
            Kind::Triple { get, .. } => {
                let v = get(s);
                format!("{}\t{}\t{}", v[0], v[1], v[2])
            }
            Kind::Pair { get, .. } => {
                let v = get(s);
                format!("{}\t{}", v[0], v[1])
            }
            Kind::Str { get, .. } | Kind::ReadOnly { get } => get(s),
        }
    }

    pub fn set(&self, s: &mut Sysctl, value: &str) -> Result<(), Errno> {
        match self {
            Kind::Int { set, min, max, .. } => {
                let [v] = parse_ints::<1>(value)?;
                if v < *min || v > *max {
                    return Err(Errno::EINVAL);
                }
                set(s, v);
            }
            Kind::Triple { set, min, .. } => {
                let v = parse_ints::<3>(value)?;
                if v.iter().any(|x| x < min) {
                    return Err(Errno::EINVAL);
                }
                set(s, v);
            }
            Kind::Pair { set, check, .. } => {
                let v = parse_ints::<2>(value)?;
                if !check(v) {
                    return Err(Errno::EINVAL);
                }
                set(s, v);
            }
            Kind::Str { set, .. } => set(s, value.trim())?,
            Kind::ReadOnly { .. } => return Err(Errno::EPERM),
        }
        Ok(())
    }
}

/// Field types a sysctl integer may be stored in.
pub trait SysVal: Copy {
    fn to_i64(self) -> i64;
    fn from_i64(v: i64) -> Self;
}

impl SysVal for bool {
    fn to_i64(self) -> i64 {
        i64::from(self)
    }
    fn from_i64(v: i64) -> Self {
        v != 0
    }
}

macro_rules! sysval_int {
    ($($t:ty),*) => {$(
        impl SysVal for $t {
            fn to_i64(self) -> i64 { self as i64 }
            fn from_i64(v: i64) -> Self { v as $t }
        }
    )*};
}
sysval_int!(u8, u16, u32, i32, u64);

/// Declares an integer entry bound to a field path of `Sysctl`.
#[macro_export]
#[doc(hidden)]
macro_rules! sysctl_int {
    ($name:expr, $($field:ident).+, $min:expr, $max:expr) => {
        $crate::sysctl::Entry {
            name: $name,
            kind: $crate::sysctl::Kind::Int {
                get: |s| $crate::sysctl::SysVal::to_i64(s.$($field).+),
                set: |s, v| s.$($field).+ = $crate::sysctl::SysVal::from_i64(v),
                min: $min as i64,
                max: $max as i64,
            },
        }
    };
}
