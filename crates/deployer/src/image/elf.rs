//! Just enough of the ELF header to tell whether an executable can run from an empty root file
//! system: a static executable names no program interpreter (`PT_INTERP`), since the kernel loads it
//! directly and it opens no shared library.

/// CPU architecture, spelled as OCI image configs spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Amd64,
    Arm64,
}

impl Arch {
    pub fn as_oci(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }
}

/// What the header says about an executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elf {
    pub arch: Arch,
    /// The dynamic loader it asks for, e.g. `/lib64/ld-linux-x86-64.so.2`; `None` when static.
    pub interpreter: Option<String>,
}

const PT_INTERP: u32 = 3;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

/// Read the header of a 64-bit little-endian ELF executable (Linux on x86_64 or arm64).
pub fn inspect(bytes: &[u8]) -> Result<Elf, String> {
    if bytes.get(..4) != Some(b"\x7fELF") {
        return Err("not an ELF executable (a Linux build is needed)".into());
    }
    if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        return Err("not a 64-bit little-endian ELF executable".into());
    }
    let arch = match u16_at(bytes, 18)? {
        EM_X86_64 => Arch::Amd64,
        EM_AARCH64 => Arch::Arm64,
        other => {
            return Err(format!(
                "built for ELF machine {other}, not x86_64 or arm64"
            ));
        }
    };
    let phoff = u64_at(bytes, 32)? as usize;
    let phentsize = u16_at(bytes, 54)? as usize;
    let phnum = u16_at(bytes, 56)? as usize;
    let mut interpreter = None;
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        if u32_at(bytes, at)? != PT_INTERP {
            continue;
        }
        let offset = u64_at(bytes, at + 8)? as usize;
        let size = u64_at(bytes, at + 32)? as usize;
        let raw = bytes
            .get(offset..offset.saturating_add(size))
            .ok_or("truncated program interpreter")?;
        let text = String::from_utf8_lossy(raw);
        interpreter = Some(text.trim_end_matches('\0').to_string());
    }
    Ok(Elf { arch, interpreter })
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], String> {
    bytes
        .get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| "truncated ELF header".to_string())
}

fn u16_at(bytes: &[u8], at: usize) -> Result<u16, String> {
    field(bytes, at).map(u16::from_le_bytes)
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, String> {
    field(bytes, at).map(u32::from_le_bytes)
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64, String> {
    field(bytes, at).map(u64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 header with one program header, optionally PT_INTERP.
    fn elf(machine: u16, interp: Option<&str>) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 56];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&1u16.to_le_bytes());
        if let Some(path) = interp {
            let offset = b.len() as u64;
            b[64..68].copy_from_slice(&PT_INTERP.to_le_bytes());
            b[72..80].copy_from_slice(&offset.to_le_bytes());
            b[96..104].copy_from_slice(&(path.len() as u64 + 1).to_le_bytes());
            b.extend_from_slice(path.as_bytes());
            b.push(0);
        } else {
            b[64..68].copy_from_slice(&1u32.to_le_bytes());
        }
        b
    }

    #[test]
    fn a_static_executable_names_no_interpreter() {
        let got = inspect(&elf(EM_X86_64, None)).unwrap();
        assert_eq!(
            got,
            Elf {
                arch: Arch::Amd64,
                interpreter: None
            }
        );
        let dynamic = inspect(&elf(EM_AARCH64, Some("/lib/ld-linux-aarch64.so.1"))).unwrap();
        assert_eq!(dynamic.arch, Arch::Arm64);
        assert_eq!(
            dynamic.interpreter.as_deref(),
            Some("/lib/ld-linux-aarch64.so.1")
        );
    }

    #[test]
    fn what_is_not_a_linux_executable_is_refused() {
        assert!(inspect(b"\xcf\xfa\xed\xfe rest of a Mach-O").is_err());
        assert!(inspect(&elf(EM_X86_64, None)[..40]).is_err());
        assert!(inspect(&elf(40, None)).unwrap_err().contains("machine 40"));
    }

    #[test]
    fn the_test_binary_itself_is_read() {
        // Whatever this test runs as on Linux, its header must parse.
        if cfg!(target_os = "linux") {
            let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
            inspect(&me).unwrap();
        }
    }
}
