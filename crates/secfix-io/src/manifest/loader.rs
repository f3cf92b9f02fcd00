//! Which sources `-f` names, and opening them safely.
//!
//! - `-` is standard input.
//! - A directory is walked recursively in name order for `.yaml`, `.yml` and `.json` files.
//!   Symbolic links (to files and to directories) are followed; a link that leads back into
//!   a directory being walked is reported instead of followed again, and a file reached twice
//!   (through links, or named twice) is read once.
//! - A path that cannot be read (missing, permission denied, a dangling link, a loop) is an
//!   error naming it; the other paths are still read.
//! - Only regular files are read. A FIFO, socket or device is refused without being opened
//!   for a blocking read (opening a FIFO nobody writes to would wait forever): use `-f -` to
//!   read a stream.

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// What a source is, for reading and for rewriting it.
#[derive(Debug, Clone)]
pub(crate) enum SourceKind {
    Stdin,
    File(PathBuf),
}

/// One source to read, as `-f` named it (or as found in a directory).
#[derive(Debug, Clone)]
pub(crate) struct SourceSpec {
    /// The path as shown to the user (`-` for stdin).
    pub display: String,
    pub kind: SourceKind,
}

/// A path `-f` named that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathError {
    pub path: String,
    pub message: String,
}

/// The identity and attributes of a file when it was read: a rewrite checks that it did not
/// change since, and keeps its owner and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: i64,
    pub mtime_nsec: i64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u64,
}

impl FileStamp {
    pub fn of(m: &std::fs::Metadata) -> FileStamp {
        FileStamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
            nlink: m.nlink(),
        }
    }

    /// Same file, same size and modification time.
    pub fn unchanged(&self, other: &FileStamp) -> bool {
        (self.dev, self.ino, self.size, self.mtime, self.mtime_nsec)
            == (
                other.dev,
                other.ino,
                other.size,
                other.mtime,
                other.mtime_nsec,
            )
    }
}

/// Whether a directory entry is a manifest by its name.
pub(crate) fn is_manifest_name(p: &Path) -> bool {
    p.extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| matches!(x, "yaml" | "yml" | "json"))
}

/// Expands `-f` paths into sources, in order. Problems are returned beside the sources: a
/// bad path never hides the others.
pub(crate) fn expand(paths: &[PathBuf]) -> (Vec<SourceSpec>, Vec<PathError>) {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stdin = false;
    for path in paths {
        if path.as_os_str() == "-" {
            if !stdin {
                stdin = true;
                specs.push(SourceSpec {
                    display: "-".into(),
                    kind: SourceKind::Stdin,
                });
            }
            continue;
        }
        let display = path.display().to_string();
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                errors.push(PathError {
                    path: display,
                    message: describe_io(&e, path),
                });
                continue;
            }
        };
        if meta.is_dir() {
            walk(path, &mut specs, &mut errors, &mut seen);
        } else if seen.insert((meta.dev(), meta.ino())) {
            specs.push(SourceSpec {
                display,
                kind: SourceKind::File(path.clone()),
            });
        }
    }
    (specs, errors)
}

fn walk(
    dir: &Path,
    specs: &mut Vec<SourceSpec>,
    errors: &mut Vec<PathError>,
    seen: &mut std::collections::HashSet<(u64, u64)>,
) {
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walker {
        match entry {
            Ok(e) => {
                let ft = e.file_type();
                if ft.is_dir() || !is_manifest_name(e.path()) {
                    continue;
                }
                // Files (and FIFOs, sockets, devices, refused when opened) named like
                // manifests, each once.
                let key = e.metadata().map(|m| (m.dev(), m.ino())).ok();
                if key.is_some_and(|k| !seen.insert(k)) {
                    continue;
                }
                specs.push(SourceSpec {
                    display: e.path().display().to_string(),
                    kind: SourceKind::File(e.path().to_path_buf()),
                });
            }
            Err(e) => {
                let path = e.path().unwrap_or(dir).to_path_buf();
                // A dangling link that is not named like a manifest is not one.
                let dangling = e
                    .io_error()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound);
                if dangling && !is_manifest_name(&path) {
                    continue;
                }
                let message = if e.loop_ancestor().is_some() {
                    format!(
                        "symbolic link loop (leads back to {}): not followed",
                        e.loop_ancestor()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    )
                } else if let Some(io) = e.io_error() {
                    describe_io(io, &path)
                } else {
                    e.to_string()
                };
                errors.push(PathError {
                    path: path.display().to_string(),
                    message,
                });
            }
        }
    }
}

fn describe_io(e: &std::io::Error, path: &Path) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            if path.symlink_metadata().is_ok() {
                "dangling symbolic link".into()
            } else {
                "no such file or directory".into()
            }
        }
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ if e.raw_os_error() == Some(libc::ELOOP) => "too many levels of symbolic links".into(),
        _ => e.to_string(),
    }
}

/// Opens a regular file for reading without ever blocking on a FIFO, and stamps it.
pub fn open(path: &Path) -> Result<(File, FileStamp), String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| describe_io(&e, path))?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    let ft = meta.file_type();
    if !ft.is_file() {
        use std::os::unix::fs::FileTypeExt as _;
        let what = if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_socket() {
            "a socket"
        } else if ft.is_char_device() || ft.is_block_device() {
            "a device"
        } else {
            "not a regular file"
        };
        return Err(format!(
            "{what}, not a regular file: pipe a stream to -f - instead"
        ));
    }
    Ok((file, FileStamp::of(&meta)))
}

/// Reads a whole regular file (for rewriting it later).
pub(crate) fn read_all(path: &Path) -> Result<(Vec<u8>, FileStamp), String> {
    let (mut file, stamp) = open(path)?;
    let mut bytes = Vec::with_capacity(stamp.size as usize);
    file.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    Ok((bytes, stamp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn directories_follow_links_once_and_report_loops_and_dangling_manifests() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/one.yaml"), "kind: X\n").unwrap();
        std::fs::write(root.join("a/b/two.yml"), "kind: X\n").unwrap();
        std::fs::write(root.join("a/notes.txt"), "x").unwrap();
        symlink(root.join("a/one.yaml"), root.join("a/link.yaml")).unwrap();
        symlink(root.join("a"), root.join("a/b/loop")).unwrap();
        symlink(root.join("missing.yaml"), root.join("a/dangling.yaml")).unwrap();
        symlink(root.join("missing.md"), root.join("a/README.md")).unwrap();
        let (specs, errors) = expand(&[root.join("a"), root.join("a/one.yaml")]);
        let names: Vec<String> = specs
            .iter()
            .map(|s| {
                s.display
                    .trim_start_matches(&root.display().to_string())
                    .to_string()
            })
            .collect();
        // link.yaml is one.yaml (read once, under the first name found); loop not followed.
        assert_eq!(names, ["/a/b/two.yml", "/a/link.yaml"]);
        let problems: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|m| m.contains("loop")), "{problems:?}");
        assert!(
            problems.iter().any(|m| m.contains("dangling")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f.yaml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = open(&fifo).unwrap_err();
        assert!(err.contains("FIFO"), "{err}");
    }

    #[test]
    fn missing_and_unreadable_paths_are_named() {
        let (specs, errors) = expand(&[PathBuf::from("/nonexistent/x.yaml")]);
        assert!(specs.is_empty());
        assert_eq!(errors[0].message, "no such file or directory");
    }
}
