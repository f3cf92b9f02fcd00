//! A problem with `-f` input, by file and line.

/// A problem with the input, at a file and line (line 0: the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based; 0 when it is about the whole file.
    pub line: usize,
    pub message: String,
    /// `false` for a warning.
    #[serde(skip)]
    pub error: bool,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}
