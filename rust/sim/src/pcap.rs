//! Pcap writer: classic libpcap format with nanosecond timestamps (magic 0xa1b23c4d),
//! link type DLT_EN10MB, timestamps in virtual time. One file per captured device.

use std::io::{self, Write};

/// Nanosecond-resolution pcap magic (libpcap `NSEC_TCPDUMP_MAGIC`).
pub const MAGIC_NSEC: u32 = 0xa1b2_3c4d;
/// `LINKTYPE_ETHERNET`.
pub const LINKTYPE_ETHERNET: u32 = 1;
pub const SNAPLEN: u32 = 262_144;

/// Writes records to any sink (a file, or a `Vec<u8>` in tests).
pub struct PcapWriter {
    out: Box<dyn Write + Send>,
    /// First I/O error; later writes are skipped and the error is reported at flush.
    error: Option<io::Error>,
    pub packets: u64,
}

impl PcapWriter {
    pub fn new(mut out: Box<dyn Write + Send>) -> io::Result<PcapWriter> {
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&MAGIC_NSEC.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs stay 0.
        h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter { out, error: None, packets: 0 })
    }

    pub fn create(path: &std::path::Path) -> io::Result<PcapWriter> {
        let f = std::fs::File::create(path)?;
        PcapWriter::new(Box::new(io::BufWriter::with_capacity(1 << 16, f)))
    }

    /// Appends one frame captured at virtual time `now` (ns).
    pub fn write(&mut self, now: u64, frame: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let caplen = frame.len().min(SNAPLEN as usize);
        let mut r = [0u8; 16];
        r[0..4].copy_from_slice(&((now / 1_000_000_000) as u32).to_le_bytes());
        r[4..8].copy_from_slice(&((now % 1_000_000_000) as u32).to_le_bytes());
        r[8..12].copy_from_slice(&(caplen as u32).to_le_bytes());
        r[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        let res = self.out.write_all(&r).and_then(|_| self.out.write_all(&frame[..caplen]));
        match res {
            Ok(()) => self.packets += 1,
            Err(e) => self.error = Some(e),
        }
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn header_and_record_layout() {
        let buf = Shared::default();
        let mut w = PcapWriter::new(Box::new(buf.clone())).unwrap();
        w.write(1_500_000_123, &[0xaa; 60]);
        w.flush().unwrap();
        let b = buf.0.lock().unwrap();
        assert_eq!(&b[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(u32::from_le_bytes(b[20..24].try_into().unwrap()), 1);
        let rec = &b[24..40];
        assert_eq!(u32::from_le_bytes(rec[0..4].try_into().unwrap()), 1);
        assert_eq!(u32::from_le_bytes(rec[4..8].try_into().unwrap()), 500_000_123);
        assert_eq!(u32::from_le_bytes(rec[8..12].try_into().unwrap()), 60);
        assert_eq!(b.len(), 24 + 16 + 60);
    }
}
