//! A check's options and the flags that set them. A check's folder defines `Options`
//! ([`CheckOptions`]) and its [`Flag`]s; the table of [`super`] gathers every check's into
//! [`super::AllOptions`], and the binary derives its command-line flags from them (clap
//! stays out of this crate). No code outside a check's folder reads its options.

/// A command-line flag that sets a check's options.
#[derive(Debug)]
pub struct Flag {
    /// Its long name, without `--`: `allowed-registries`.
    pub long: &'static str,
    /// What the value is called in help: `LIST`, `PATH` (empty for a switch).
    pub value_name: &'static str,
    /// One paragraph of help, without a final period (as clap prints doc comments).
    pub help: &'static str,
    /// How often it is given.
    pub takes: Takes,
    /// Whether the value is a file the binary reads (a missing or bad file is a usage error
    /// naming the flag and the file; the check gets the bytes).
    pub file: Option<FileLimit>,
    /// The group it belongs to, if any: the flags of a group exclude one another, and a
    /// flag may require a group (one of its flags).
    pub group: Option<&'static str>,
    /// Flags (long names) or groups it needs, all of them.
    pub requires: &'static [&'static str],
}

/// How often a flag is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// At most once.
    Once,
    /// Any number of times, each value taken in order.
    Repeated,
    /// Given or not, with no value ([`Value::Switch`] when given).
    Switch,
}

/// The largest file a flag reads, and what it is called in errors (`a public key file`).
#[derive(Debug, Clone, Copy)]
pub struct FileLimit {
    pub max_bytes: u64,
    pub what: &'static str,
}

/// One value given to a flag.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Text(&'a str),
    /// A [`Flag::file`] flag: the path as given, and the file's bytes.
    File {
        path: &'a str,
        bytes: &'a [u8],
    },
    /// A [`Takes::Switch`] flag, given.
    Switch,
}

impl<'a> Value<'a> {
    /// The text given (a file flag's path; empty for a switch).
    pub fn text(&self) -> &'a str {
        match self {
            Value::Text(s) | Value::File { path: s, .. } => s,
            Value::Switch => "",
        }
    }
}

/// A check's options: set flag by flag, in the order given, then finished. Every method is
/// required, so a new check declares its flags (none: [`NoOptions`]).
pub trait CheckOptions: Default + Clone + std::fmt::Debug + Send + Sync {
    /// The flags that set it.
    const FLAGS: &'static [Flag];
    /// Takes one value of `flag` (one of [`CheckOptions::FLAGS`], by long name). An error
    /// says what is wrong with the value (the caller names the flag).
    fn set(&mut self, flag: &str, value: Value<'_>) -> Result<(), String>;
    /// After every value: puts together what several flags say.
    fn finish(&mut self) -> Result<(), String>;
}

/// The options of a check that has none.
#[derive(Debug, Clone, Default)]
pub struct NoOptions;

impl CheckOptions for NoOptions {
    const FLAGS: &'static [Flag] = &[];

    fn set(&mut self, flag: &str, _: Value<'_>) -> Result<(), String> {
        Err(format!("no such option: --{flag}"))
    }

    fn finish(&mut self) -> Result<(), String> {
        Ok(())
    }
}
