//! `libos-nuse [--config FILE] -- PROGRAM [ARGS...]`: runs PROGRAM with its AF_INET
//! sockets on libos (LD_PRELOAD=libnuse.so, NUSECONF=FILE). The config is checked first,
//! so a bad file fails here with the offending line named.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: libos-nuse [--config FILE] [--lib PATH] -- PROGRAM [ARGS...]\n\
    \x20      libos-nuse attach <PID|CONTROL-SOCKET> -- PROGRAM [ARGS...]\n\
    Runs PROGRAM with its AF_INET sockets on an in-process libos kernel configured by\n\
    FILE (NUSECONF format). --lib overrides the shim (default: libnuse.so beside this\n\
    binary, or $NUSE_LIB). `attach` runs PROGRAM with its sockets on the running instance\n\
    of process PID (control socket /tmp/libos-nuse.PID.ctl, or $NUSE_CONTROL there).";

fn shim_path(arg: Option<String>) -> Result<PathBuf, String> {
    if let Some(p) = arg.or_else(|| std::env::var("NUSE_LIB").ok()) {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own path: {e}"))?;
    let p = exe.with_file_name("libnuse.so");
    if !p.exists() {
        return Err(format!(
            "{} not found (build it: cargo build -p libos-nuse-shim)",
            p.display()
        ));
    }
    Ok(p)
}

/// `attach <pid|path>`: the control socket of a running instance.
fn control_path(target: &str) -> Result<PathBuf, String> {
    let p = match target.parse::<u32>() {
        Ok(pid) => PathBuf::from(format!("/tmp/libos-nuse.{pid}.ctl")),
        Err(_) => PathBuf::from(target),
    };
    let meta = std::fs::metadata(&p).map_err(|e| {
        format!(
            "no libos instance at {} ({e}); is the program running under libos-nuse?",
            p.display()
        )
    })?;
    use std::os::unix::fs::FileTypeExt;
    if !meta.file_type().is_socket() {
        return Err(format!("{} is not a control socket", p.display()));
    }
    // A killed instance leaves its socket file behind.
    if let Err(e) = std::os::unix::net::UnixStream::connect(&p) {
        return Err(format!("the libos instance at {} is not running ({e})", p.display()));
    }
    Ok(p)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let mut attach = None;
    if args.peek().map(String::as_str) == Some("attach") {
        args.next();
        let Some(target) = args.next() else {
            eprintln!("libos-nuse: attach needs a pid or a control socket path\n{USAGE}");
            return ExitCode::from(2);
        };
        match control_path(&target) {
            Ok(p) => attach = Some(p),
            Err(e) => {
                eprintln!("libos-nuse: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let (mut config, mut lib, mut prog) = (None, None, Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" | "-c" => config = args.next(),
            "--lib" => lib = args.next(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--" => {
                prog.extend(args.by_ref());
            }
            s if s.starts_with('-') && prog.is_empty() => {
                eprintln!("libos-nuse: unknown option {s}\n{USAGE}");
                return ExitCode::from(2);
            }
            _ => {
                prog.push(a);
                prog.extend(args.by_ref());
            }
        }
    }
    if prog.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let mut cmd = Command::new(&prog[0]);
    cmd.args(&prog[1..]);
    if let Some(c) = &config {
        if let Err(e) = libos_nuse::load_config(c) {
            eprintln!("libos-nuse: {e}");
            return ExitCode::from(2);
        }
        let abs = std::fs::canonicalize(c).unwrap_or_else(|_| PathBuf::from(c));
        cmd.env("NUSECONF", abs);
    }
    let shim = match shim_path(lib) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("libos-nuse: {e}");
            return ExitCode::from(2);
        }
    };
    let shim = std::fs::canonicalize(&shim).unwrap_or(shim);
    let preload = match std::env::var("LD_PRELOAD") {
        Ok(old) if !old.is_empty() => format!("{}:{old}", shim.display()),
        _ => shim.display().to_string(),
    };
    cmd.env("LD_PRELOAD", preload);
    if let Some(p) = attach {
        // Sockets go to the running instance; this program starts none of its own.
        cmd.env("NUSE_ATTACH", p).env_remove("NUSECONF").env_remove("NUSE_EAGER");
    } else {
        // exec keeps our pid: the shim starts the instance at load time in this process only.
        cmd.env("NUSE_EAGER", std::process::id().to_string());
    }
    let err = cmd.exec();
    eprintln!("libos-nuse: cannot run {}: {err}", prog[0]);
    ExitCode::from(127)
}
