//! The checks' own flags, derived from their definitions ([`AllOptions::flags`]): one clap
//! argument per [`Flag`], and the values handed back to the check that declared it. A new
//! check's flags need nothing here.

use std::collections::BTreeMap;

use clap::error::ErrorKind;
use clap::{Arg, ArgAction, ArgGroup, ArgMatches};
use secfix_core::checks::AllOptions;
use secfix_core::checks::options::{Flag, Takes, Value};

/// Every check's options, as the command line set them.
#[derive(Debug, Clone, Default)]
pub struct CheckFlags(pub AllOptions);

impl clap::Args for CheckFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let mut groups: BTreeMap<&'static str, Vec<&'static str>> = BTreeMap::new();
        let mut cmd = cmd;
        for flag in AllOptions::flags() {
            if let Some(g) = flag.group {
                groups.entry(g).or_default().push(flag.long);
            }
            cmd = cmd.arg(arg(flag));
        }
        for (name, members) in groups {
            cmd = cmd.group(ArgGroup::new(name).args(members).multiple(false));
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// The clap argument of `flag` (its id is its long name).
fn arg(flag: &'static Flag) -> Arg {
    let a = Arg::new(flag.long).long(flag.long).help(flag.help);
    let a = match flag.takes {
        Takes::Once => a.value_name(flag.value_name).action(ArgAction::Set),
        Takes::Repeated => a.value_name(flag.value_name).action(ArgAction::Append),
        Takes::Switch => a.action(ArgAction::SetTrue),
    };
    let a = match flag.file {
        Some(_) => a.value_hint(clap::ValueHint::FilePath),
        None => a,
    };
    flag.requires.iter().fold(a, |a, r| a.requires(*r))
}

impl clap::FromArgMatches for CheckFlags {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut options = AllOptions::default();
        for flag in AllOptions::flags() {
            if flag.takes == Takes::Switch {
                if m.get_flag(flag.long) {
                    let set = options.set(flag.long, Value::Switch);
                    set.map_err(|why| invalid(flag, "", &why))?;
                }
                continue;
            }
            let Some(values) = m.get_raw(flag.long) else {
                continue;
            };
            for raw in values {
                let given = raw.to_string_lossy();
                let taken = match flag.file {
                    Some(limit) => read(&given, limit.max_bytes, limit.what).and_then(|bytes| {
                        options.set(
                            flag.long,
                            Value::File {
                                path: &given,
                                bytes: &bytes,
                            },
                        )
                    }),
                    None => options.set(flag.long, Value::Text(&given)),
                };
                taken.map_err(|why| invalid(flag, &given, &why))?;
            }
        }
        options
            .finish()
            .map_err(|why| clap::Error::raw(ErrorKind::ArgumentConflict, format!("{why}\n")))?;
        Ok(CheckFlags(options))
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

/// A file a flag names, read whole: a usage error names the file (its content never).
fn read(path: &str, max_bytes: u64, what: &str) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if !meta.is_file() || meta.len() > max_bytes {
        return Err(format!("{path} is not {what}"));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
}

/// A value the check refused, as clap words a value its parser refuses.
fn invalid(flag: &Flag, given: &str, why: &str) -> clap::Error {
    clap::Error::raw(
        ErrorKind::ValueValidation,
        format!(
            "invalid value '{given}' for '--{} <{}>': {why}\n\nFor more information, try '--help'.\n",
            flag.long, flag.value_name
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Cli;
    use clap::CommandFactory as _;

    /// A check's flag needs nothing in the binary: each one it declares is a flag of `scan`
    /// and `fix`, with its help, and is repeated in the commands reports suggest.
    #[test]
    fn every_check_flag_is_a_flag_of_scan_and_fix() {
        let cli = Cli::command();
        for sub in ["scan", "fix"] {
            let cmd = cli.find_subcommand(sub).unwrap();
            for flag in AllOptions::flags() {
                let arg = cmd
                    .get_arguments()
                    .find(|a| a.get_long() == Some(flag.long))
                    .unwrap_or_else(|| panic!("{sub} has no --{}", flag.long));
                assert_eq!(
                    arg.get_help().map(ToString::to_string).as_deref(),
                    Some(flag.help)
                );
                if flag.takes != Takes::Switch {
                    assert_eq!(arg.get_value_names().unwrap()[0], flag.value_name);
                }
            }
        }
        let repeated: Vec<String> = crate::cli::args::repeated().map(|(_, f)| f).collect();
        for flag in AllOptions::flags() {
            assert!(
                repeated.contains(&format!("--{}", flag.long)),
                "{}",
                flag.long
            );
        }
    }

    /// A value the check refuses is a usage error naming the flag and the value.
    #[test]
    fn a_refused_value_names_the_flag() {
        use clap::Parser as _;
        let args = ["kubectl-secfix", "scan", "--allowed-registries", " , "];
        let e = Cli::try_parse_from(args).unwrap_err().to_string();
        assert!(
            e.contains("--allowed-registries <LIST>") && e.contains("empty"),
            "{e}"
        );
    }
}
