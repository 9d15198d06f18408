//! Source files for the command line: finding them under the given paths
//! (honouring `.gitignore`, never leaving the roots through a symlink),
//! reading them as UTF-8, and writing every changed file once, atomically.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::syntax::Language;

/// A file to work on.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path as the user would write it (under one of the given roots).
    pub path: PathBuf,
    /// The file that is read and written: `path` with symlinks resolved.
    pub real_path: PathBuf,
    pub language: Language,
    pub text: String,
}

/// A file that was found but is left alone, with the reason.
#[derive(Debug, Error)]
pub enum Skipped {
    #[error("{0}: skipped, it looks binary (it contains a NUL byte)")]
    Binary(PathBuf),
    #[error("{0}: skipped, it is not valid UTF-8")]
    NotUtf8(PathBuf),
    #[error("{0}: skipped, it is a symlink to {1}, outside the given paths")]
    SymlinkOutside(PathBuf, PathBuf),
    #[error("{0}: skipped, it cannot be read: {1}")]
    Unreadable(PathBuf, io::Error),
    #[error("{0}: skipped, no rules exist for this kind of file (supported: .rs)")]
    Unsupported(PathBuf),
    #[error("{0}: skipped, it is not a regular file")]
    NotAFile(PathBuf),
}

/// Errors that stop the command before anything is written.
#[derive(Debug, Error)]
pub enum FilesError {
    #[error("{path}: not found; pass existing files or directories")]
    NotFound { path: PathBuf },
    #[error("{path}: cannot be read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("walking {path} failed: {message}")]
    Walk { path: PathBuf, message: String },
}

/// Errors of writing results; when one is returned, no file was changed.
#[derive(Debug, Error)]
pub enum WriteError {
    #[error(
        "{path}: the file is read-only; make it writable or leave it out, nothing was written"
    )]
    ReadOnly { path: PathBuf },
    #[error(
        "{path}: the file changed on disk while concur ran; rerun concur, nothing was written"
    )]
    ChangedOnDisk { path: PathBuf },
    #[error("{path}: writing failed: {source}; nothing was written")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path}: writing failed: {source}; these files were already rewritten and could not be \
         restored: {}", changed.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    PartlyWritten {
        path: PathBuf,
        #[source]
        source: io::Error,
        changed: Vec<PathBuf>,
    },
}

/// Finds the supported files under `roots` (files or directories), in a
/// stable order, and lists what was skipped.
///
/// # Errors
/// `NotFound` for a root that does not exist, `Walk` when a directory
/// cannot be listed.
pub fn collect(roots: &[PathBuf]) -> Result<(Vec<SourceFile>, Vec<Skipped>), FilesError> {
    let mut canonical_roots = Vec::new();
    for root in roots {
        let canonical = fs::canonicalize(root).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => FilesError::NotFound { path: root.clone() },
            _ => FilesError::Io {
                path: root.clone(),
                source,
            },
        })?;
        canonical_roots.push(canonical);
    }

    // Keyed by the resolved path so a file reached twice is read once.
    let mut found: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut skipped = Vec::new();
    for root in roots {
        let metadata = fs::symlink_metadata(root).map_err(|source| FilesError::Io {
            path: root.clone(),
            source,
        })?;
        if !metadata.is_dir() && !fs::metadata(root).is_ok_and(|target| target.is_dir()) {
            // A file named on the command line is taken even when ignored.
            let real = fs::canonicalize(root).map_err(|source| FilesError::Io {
                path: root.clone(),
                source,
            })?;
            if !real.is_file() {
                skipped.push(Skipped::NotAFile(root.clone()));
            } else if Language::from_path(&real).is_some() || Language::from_path(root).is_some() {
                found.entry(real).or_insert_with(|| root.clone());
            } else {
                skipped.push(Skipped::Unsupported(root.clone()));
            }
            continue;
        }
        let walker = ignore::WalkBuilder::new(root)
            .follow_links(false)
            .require_git(false)
            .sort_by_file_name(|a, b| a.cmp(b))
            .build();
        for entry in walker {
            let entry = entry.map_err(|error| FilesError::Walk {
                path: root.clone(),
                message: error.to_string(),
            })?;
            let path = entry.path();
            let Some(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_dir() || Language::from_path(path).is_none() {
                continue;
            }
            let real = match fs::canonicalize(path) {
                Ok(real) => real,
                Err(error) => {
                    skipped.push(Skipped::Unreadable(path.to_owned(), error));
                    continue;
                }
            };
            if file_type.is_symlink() && !canonical_roots.iter().any(|root| real.starts_with(root))
            {
                skipped.push(Skipped::SymlinkOutside(path.to_owned(), real));
                continue;
            }
            if real.is_file() {
                found.entry(real).or_insert_with(|| path.to_owned());
            }
        }
    }

    let mut files = Vec::new();
    for (real_path, path) in found {
        match read_source(&real_path) {
            Ok(text) => {
                let language = Language::from_path(&real_path)
                    .or_else(|| Language::from_path(&path))
                    .unwrap_or(Language::Rust);
                files.push(SourceFile {
                    path,
                    real_path,
                    language,
                    text,
                });
            }
            Err(ReadFailure::Binary) => skipped.push(Skipped::Binary(path)),
            Err(ReadFailure::NotUtf8) => skipped.push(Skipped::NotUtf8(path)),
            Err(ReadFailure::Io(error)) => skipped.push(Skipped::Unreadable(path, error)),
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((files, skipped))
}

enum ReadFailure {
    Binary,
    NotUtf8,
    Io(io::Error),
}

fn read_source(path: &Path) -> Result<String, ReadFailure> {
    let bytes = fs::read(path).map_err(ReadFailure::Io)?;
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return Err(ReadFailure::Binary);
    }
    String::from_utf8(bytes).map_err(|_| ReadFailure::NotUtf8)
}

/// One file to replace: its new text and the text it had when read.
pub struct FileWrite<'a> {
    pub path: &'a Path,
    pub real_path: &'a Path,
    pub original: &'a str,
    pub contents: &'a str,
}

/// Writes every file in two phases: first each new text goes to a temporary
/// file beside its target (with the target's permissions), and only when
/// all of them are ready are they renamed over their targets. Any failure
/// in the first phase removes the temporary files and changes nothing.
///
/// # Errors
/// `ReadOnly`, `ChangedOnDisk` or `Io`, naming the file; no file changed.
pub fn write_all_atomically(writes: &[FileWrite<'_>]) -> Result<(), WriteError> {
    let mut prepared = Vec::with_capacity(writes.len());
    for write in writes {
        prepared.push(prepare(write)?);
    }
    for (temp, write) in prepared.into_iter().zip(writes) {
        temp.persist(write.real_path)
            .map_err(|error| WriteError::Io {
                path: write.path.to_owned(),
                source: error.error,
            })?;
    }
    Ok(())
}

/// Creates `path` with `contents` through a temporary file and a rename, so
/// a reader never sees it half-written.
///
/// # Errors
/// `Io` naming the file.
pub fn create_atomically(path: &Path, contents: &str) -> Result<(), WriteError> {
    let io_error = |source| WriteError::Io {
        path: path.to_owned(),
        source,
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".concur-")
        .suffix(".tmp")
        .tempfile_in(directory)
        .map_err(io_error)?;
    temp.write_all(contents.as_bytes()).map_err(io_error)?;
    temp.as_file().sync_all().map_err(io_error)?;
    temp.persist(path).map_err(|error| io_error(error.error))?;
    Ok(())
}

fn prepare(write: &FileWrite<'_>) -> Result<tempfile::NamedTempFile, WriteError> {
    let io_error = |source| WriteError::Io {
        path: write.path.to_owned(),
        source,
    };
    let metadata = fs::metadata(write.real_path).map_err(io_error)?;
    if metadata.permissions().readonly() {
        return Err(WriteError::ReadOnly {
            path: write.path.to_owned(),
        });
    }
    let current = fs::read(write.real_path).map_err(io_error)?;
    if current != write.original.as_bytes() {
        return Err(WriteError::ChangedOnDisk {
            path: write.path.to_owned(),
        });
    }
    let directory = write.real_path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".concur-")
        .suffix(".tmp")
        .tempfile_in(directory)
        .map_err(io_error)?;
    temp.write_all(write.contents.as_bytes())
        .map_err(io_error)?;
    temp.as_file().sync_all().map_err(io_error)?;
    fs::set_permissions(temp.path(), metadata.permissions()).map_err(io_error)?;
    keep_owner(temp.as_file(), &metadata);
    Ok(temp)
}

/// Gives the new file the old file's owner and group. Only root may give a
/// file away, so for anyone else this keeps what the system allows: the
/// file then belongs to the user who runs concur, as any editor's save does.
fn keep_owner(file: &fs::File, metadata: &fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    if let Err(error) = std::os::unix::fs::fchown(file, Some(metadata.uid()), Some(metadata.gid()))
    {
        tracing::debug!(%error, "could not keep the file's owner");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn collect_honours_gitignore_and_skips() {
        let dir = scratch();
        let root = dir.path();
        fs::create_dir_all(root.join("src/generated")).unwrap();
        fs::write(root.join(".gitignore"), "generated/\n").unwrap();
        fs::write(root.join("src/lib.rs"), "fn a() {}\n").unwrap();
        fs::write(root.join("src/generated/out.rs"), "fn b() {}\n").unwrap();
        fs::write(root.join("src/blob.rs"), b"fn c() {}\0\x01").unwrap();
        fs::write(root.join("src/latin1.rs"), b"// caf\xe9\n").unwrap();
        fs::write(root.join("README.md"), "# x\n").unwrap();

        let (files, skipped) = collect(&[root.to_owned()]).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|file| file.path.strip_prefix(root).unwrap().to_owned())
            .collect();
        assert_eq!(names, vec![PathBuf::from("src/lib.rs")]);
        let reasons: Vec<String> = skipped.iter().map(ToString::to_string).collect();
        assert!(
            reasons
                .iter()
                .any(|reason| reason.contains("blob.rs") && reason.contains("binary")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|reason| reason.contains("latin1.rs") && reason.contains("UTF-8")),
            "{reasons:?}"
        );
    }

    #[test]
    fn symlink_outside_roots_skipped() {
        let outside = scratch();
        fs::write(outside.path().join("secret.rs"), "fn s() {}\n").unwrap();
        let dir = scratch();
        fs::write(dir.path().join("inside.rs"), "fn i() {}\n").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.rs"), dir.path().join("link.rs"))
            .unwrap();
        std::os::unix::fs::symlink(dir.path().join("inside.rs"), dir.path().join("alias.rs"))
            .unwrap();

        let (files, skipped) = collect(&[dir.path().to_owned()]).unwrap();
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(files[0].real_path.ends_with("inside.rs"));
        assert!(skipped
            .iter()
            .any(|skip| matches!(skip, Skipped::SymlinkOutside(..))));
    }

    #[test]
    fn missing_root_is_an_error() {
        let err = collect(&[PathBuf::from("/nonexistent/concur-test")]).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/concur-test"),
            "{err}"
        );
    }

    #[test]
    fn atomic_write_keeps_permissions() {
        let dir = scratch();
        let path = dir.path().join("a.rs");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_all_atomically(&[FileWrite {
            path: &path,
            real_path: &path,
            original: "old",
            contents: "new",
        }])
        .unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1);
    }

    #[test]
    fn read_only_file_changes_nothing() {
        let dir = scratch();
        let first = dir.path().join("a.rs");
        let second = dir.path().join("b.rs");
        fs::write(&first, "a").unwrap();
        fs::write(&second, "b").unwrap();
        fs::set_permissions(&second, fs::Permissions::from_mode(0o444)).unwrap();
        let err = write_all_atomically(&[
            FileWrite {
                path: &first,
                real_path: &first,
                original: "a",
                contents: "A",
            },
            FileWrite {
                path: &second,
                real_path: &second,
                original: "b",
                contents: "B",
            },
        ])
        .unwrap_err();
        assert!(err.to_string().contains("b.rs"), "{err}");
        assert!(err.to_string().contains("read-only"), "{err}");
        assert_eq!(fs::read_to_string(&first).unwrap(), "a");
        assert_eq!(fs::read_to_string(&second).unwrap(), "b");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn write_keeps_owner() {
        use std::os::unix::fs::MetadataExt;
        let dir = scratch();
        let path = dir.path().join("a.rs");
        fs::write(&path, "old").unwrap();
        // Changing the owner needs root; elsewhere the test checks that the
        // owner stays the current user.
        let _ = std::os::unix::fs::chown(&path, Some(1234), Some(2345));
        let before = fs::metadata(&path).unwrap();
        write_all_atomically(&[FileWrite {
            path: &path,
            real_path: &path,
            original: "old",
            contents: "new",
        }])
        .unwrap();
        let after = fs::metadata(&path).unwrap();
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    }

    #[test]
    fn fifo_named_on_command_line_skipped() {
        let dir = scratch();
        let fifo = dir.path().join("pipe.rs");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let (files, skipped) = collect(std::slice::from_ref(&fifo)).unwrap();
        assert!(files.is_empty());
        assert!(matches!(skipped.as_slice(), [Skipped::NotAFile(path)] if *path == fifo));
    }

    #[test]
    fn changed_on_disk_changes_nothing() {
        let dir = scratch();
        let path = dir.path().join("a.rs");
        fs::write(&path, "edited meanwhile").unwrap();
        let err = write_all_atomically(&[FileWrite {
            path: &path,
            real_path: &path,
            original: "as read",
            contents: "new",
        }])
        .unwrap_err();
        assert!(matches!(err, WriteError::ChangedOnDisk { .. }));
        assert_eq!(fs::read_to_string(&path).unwrap(), "edited meanwhile");
    }
}
