//! `-k DIR`: what `kubectl kustomize DIR` renders, from the user's own kubectl (the real
//! renderer, with the plugins and load restrictions it is set up with), run as a
//! subprocess.

use std::path::Path;
use std::process::{Command, Stdio};

/// The program run: `$SECFIX_KUBECTL` when set (tests, or a kubectl outside `PATH`), else
/// `kubectl` from `PATH`.
fn kubectl() -> std::ffi::OsString {
    std::env::var_os("SECFIX_KUBECTL").unwrap_or_else(|| "kubectl".into())
}

pub use secfix_core::model::names::KUSTOMIZE_SUFFIX as SUFFIX;

/// How a `-k DIR` source is named in findings and messages: `DIR (kustomization)`.
pub fn display_name(dir: &Path) -> String {
    format!("{}{SUFFIX}", dir.display())
}

/// Why `-k DIR` could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// The input is wrong (no such folder, the render fails): a usage error.
    Input(String),
    /// kubectl could not be run.
    Tool(String),
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenderError::Input(m) | RenderError::Tool(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for RenderError {}

/// Runs `kubectl kustomize DIR` and returns what it printed. An error says what went wrong
/// in the user's terms: kubectl missing, DIR not a kustomization, the render failing (with
/// kubectl's own message).
pub fn render(dir: &Path) -> Result<Vec<u8>, RenderError> {
    let shown = dir.display();
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(RenderError::Input(format!(
                "-k {shown}: not a directory (-k takes a kustomization's folder; use -f for a file)"
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RenderError::Input(format!("-k {shown}: no such directory")));
        }
        Err(e) => return Err(RenderError::Input(format!("-k {shown}: {e}"))),
    }
    let program = kubectl();
    let out = Command::new(&program)
        .arg("kustomize")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => RenderError::Tool(format!(
                "-k {shown}: {} not found: -k runs `kubectl kustomize {shown}`; install kubectl \
                 (or render it yourself: `kustomize build {shown} | kubectl secfix ... -f -`)",
                program.to_string_lossy()
            )),
            _ => RenderError::Tool(format!(
                "-k {shown}: cannot run {}: {e}",
                program.to_string_lossy()
            )),
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let message = stderr.trim().trim_start_matches("error: ");
        return Err(RenderError::Input(format!(
            "-k {shown}: `kubectl kustomize {shown}` failed ({}): {}",
            out.status,
            secfix_core::model::text::printable(message)
        )));
    }
    Ok(out.stdout)
}
