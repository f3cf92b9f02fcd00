//! The HTML report (`-o html`) in a real browser: Debian's `chromium`, headless, opens the
//! page from a file with nothing else around it (no server, no network), under the page's
//! own Content-Security-Policy, and we read back the DOM after its script ran, a
//! screenshot, and the browser's console (CSP violations and script errors are logged
//! there).
//!
//! `tests/cluster/setup.sh` installs chromium. These tests are ignored in a plain
//! `cargo test` (they need the browser); `tests/run.sh` runs them, and there a missing
//! chromium is a failure, never a skip (`SECFIX_REQUIRE_LIVE=1`). `SECFIX_CHROMIUM` names
//! another binary.
//!
//! covers issue #12: the HTML report tested in a real browser.

mod sample;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kubectl_secfix::model::CheckId;
use kubectl_secfix::report::{Report, content_security_policy, render_html};
use regex::Regex;

/// Generous: a loaded CI machine with 2 cores. Not a timing assertion, a hang guard.
const TIMEOUT: Duration = Duration::from_secs(180);

/// The flags chromium needs on these machines: headless as root, no GPU, and no background
/// connections (this machine's network refuses them, many at a time).
const FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
];

struct Browser {
    bin: PathBuf,
    dir: tempfile::TempDir,
}

/// What a headless run left: the DOM (for `--dump-dom`) and the console log.
struct Run {
    stdout: String,
    log: String,
}

impl Browser {
    /// Chromium, or `None` (with a message) when it is missing outside `tests/run.sh`.
    fn get() -> Option<Browser> {
        let bin = std::env::var_os("SECFIX_CHROMIUM")
            .map(PathBuf::from)
            .or_else(|| on_path("chromium"));
        let Some(bin) = bin else {
            if std::env::var("SECFIX_REQUIRE_LIVE").as_deref() == Ok("1") {
                panic!(
                    "chromium is missing: tests/cluster/setup.sh installs it (apt-get install chromium)"
                );
            }
            eprintln!("skipped: browser test needs chromium; run tests/run.sh");
            return None;
        };
        Some(Browser {
            bin,
            dir: tempfile::tempdir().unwrap(),
        })
    }

    /// Writes `html` as a file and returns its `file://` URL.
    fn page(&self, name: &str, html: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, html).unwrap();
        format!("file://{}", path.display())
    }

    /// Runs chromium once with a fresh profile, `args` after the standard flags, killing it
    /// (and everything it started) after [`TIMEOUT`].
    fn run(&self, args: &[&str]) -> Run {
        use std::os::unix::process::CommandExt as _;
        let profile = tempfile::tempdir_in(self.dir.path()).unwrap();
        let log_path = self.dir.path().join(format!(
            "chromium-{}.log",
            profile.path().file_name().unwrap().to_string_lossy()
        ));
        let mut child = Command::new(&self.bin)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--enable-logging=stderr", "--v=0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).map(|_| s)
        });
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > TIMEOUT {
                kill_group(child.id());
                let _ = child.wait();
                panic!(
                    "chromium did not finish within {TIMEOUT:?}: {args:?}\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // Helpers it left behind, if any, go with the group.
        kill_group(child.id());
        let stdout = reader.join().unwrap().unwrap();
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        assert!(
            status.success(),
            "chromium failed ({status}): {args:?}\n{log}"
        );
        Run { stdout, log }
    }

    /// The DOM after the page's scripts ran.
    fn dom(&self, url: &str) -> Run {
        let run = self.run(&["--dump-dom", url]);
        assert!(
            run.stdout.contains("</html>"),
            "no DOM dumped for {url}:\n{}",
            run.log
        );
        run
    }
}

fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The findings rows of a dumped DOM: `(check, hidden)` in document order.
fn rows(dom: &str) -> Vec<(String, bool)> {
    let tr = Regex::new(r#"<tr data-check="([^"]+)"([^>]*)>"#).unwrap();
    tr.captures_iter(dom)
        .map(|c| (c[1].to_string(), c[2].contains("hidden")))
        .collect()
}

fn visible(dom: &str) -> Vec<String> {
    rows(dom)
        .into_iter()
        .filter(|(_, hidden)| !hidden)
        .map(|(c, _)| c)
        .collect()
}

/// The console must be quiet: no policy violation, no script error.
fn assert_clean_console(run: &Run) {
    let console: Vec<&str> = run.log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "the page logged to the console:\n{}",
        console.join("\n")
    );
}

fn shown(dom: &str) -> (usize, String) {
    let re = Regex::new(r#"<p id="shown"[^>]*data-shown="(\d+)"[^>]*>([^<]*)</p>"#).unwrap();
    let c = re
        .captures(dom)
        .unwrap_or_else(|| panic!("no #shown in:\n{dom}"));
    (c[1].parse().unwrap(), c[2].to_string())
}

#[test]
#[ignore = "browser: needs chromium (tests/cluster/setup.sh); tests/run.sh runs it"]
fn the_page_runs_its_script_under_its_own_policy_and_shows_rows_totals_and_filters() {
    let Some(b) = Browser::get() else { return };
    let report = sample::sample();
    let html = render_html(&report);
    let run = b.dom(&b.page("report.html", &html));
    let dom = &run.stdout;
    assert_clean_console(&run);
    // The script ran: it marks the document and shows the filters.
    assert!(dom.contains(r#"<html lang="en" class="js">"#), "{dom}");
    assert!(
        dom.contains(r#"<form id="filters">"#),
        "filters still hidden:\n{dom}"
    );
    for select in ["check", "severity", "namespace", "fixable"] {
        assert!(
            dom.contains(&format!(r#"<select name="{select}">"#)),
            "{select}"
        );
    }
    assert!(dom.contains(r#"<option value="mutable-image-tag">mutable-image-tag (2)</option>"#));
    // Every finding is a visible row, in report order.
    let expected: Vec<&str> = report.findings.iter().map(|f| f.check.as_str()).collect();
    assert_eq!(visible(dom), expected);
    assert_eq!(shown(dom), (7, "7 findings".to_string()));
    // Totals, suppressed count, where the scan came from and when.
    for (key, n) in [
        ("total", 7),
        ("high", 4),
        ("medium", 3),
        ("fixable", 6),
        ("suppressed", 1),
        ("scanned", 12),
    ] {
        assert!(
            dom.contains(&format!(r#"<dd data-total="{key}">{n}</dd>"#)),
            "{key} {n}"
        );
    }
    assert!(dom.contains("context admin (cluster prod), all namespaces"));
    assert!(dom.contains(r#"<time datetime="2026-11-27T10:15:00Z">"#));
    // The charts: one bar group per check and per namespace, and fix commands.
    assert_eq!(
        dom.matches(r#"data-filter="check""#).count(),
        CheckId::ALL.len()
    );
    assert_eq!(dom.matches(r#"data-filter="namespace""#).count(), 3);
    assert!(
        dom.contains("<code>kubectl secfix fix --context admin -n shop --checks env-secret</code>")
    );
    // The policy the page ran under is the strict one, with hashes and nothing unsafe.
    assert!(dom.contains(content_security_policy()));
}

#[test]
#[ignore = "browser: needs chromium (tests/cluster/setup.sh); tests/run.sh runs it"]
fn a_filter_in_the_url_hash_shows_only_the_chosen_check() {
    let Some(b) = Browser::get() else { return };
    let url = b.page("report.html", &render_html(&sample::sample()));

    let run = b.dom(&format!("{url}#check=mutable-image-tag"));
    assert_clean_console(&run);
    assert_eq!(visible(&run.stdout), ["mutable-image-tag"; 2]);
    assert_eq!(
        rows(&run.stdout).len(),
        7,
        "the other rows are hidden, not gone"
    );
    assert_eq!(
        shown(&run.stdout),
        (2, "Showing 2 of 7 findings".to_string())
    );

    // Several filters, and sorting by namespace (descending), all from the hash.
    let run = b.dom(&format!("{url}#severity=high&sort=namespace&dir=desc"));
    let dom = &run.stdout;
    assert_eq!(
        visible(dom),
        [
            "env-secret",
            "env-secret",
            "env-literal-secret",
            "mutable-image-tag"
        ]
    );
    let ns = Regex::new(
        r#"<tr data-check="[^"]+"[^>]*><td[^>]*>[a-z]+</td><td>[^<]*</td><td>([^<]*)</td>"#,
    )
    .unwrap();
    let order: Vec<String> = ns.captures_iter(dom).map(|c| c[1].to_string()).collect();
    let mut sorted = order.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, sorted, "rows sorted by namespace, descending");
    assert!(dom.contains(r#"<th scope="col" data-key="namespace" aria-sort="descending">"#));

    // A filter matching nothing shows nothing, and says so.
    let run = b.dom(&format!("{url}#namespace=nowhere"));
    assert!(visible(&run.stdout).is_empty());
    assert_eq!(shown(&run.stdout).0, 0);
}

#[test]
#[ignore = "browser: needs chromium (tests/cluster/setup.sh); tests/run.sh runs it"]
fn a_screenshot_of_the_page_has_the_window_size() {
    let Some(b) = Browser::get() else { return };
    let url = b.page("report.html", &render_html(&sample::sample()));
    let png = b.dir.path().join("shot.png");
    b.run(&[
        &format!("--screenshot={}", png.display()),
        "--window-size=1280,900",
        &url,
    ]);
    let bytes = std::fs::read(&png).expect("a screenshot was written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 900));
    // A blank page compresses to a few KiB; this one has text, tables and charts.
    assert!(bytes.len() > 30_000, "{} bytes: a blank page?", bytes.len());
}

#[test]
#[ignore = "browser: needs chromium (tests/cluster/setup.sh); tests/run.sh runs it"]
fn ten_thousand_findings_open_and_filter() {
    let Some(b) = Browser::get() else { return };
    let report: Report = sample::large(10_000);
    let html = render_html(&report);
    let url = b.page("large.html", &html);

    // Opens with every row (within TIMEOUT; a hang fails the test).
    let run = b.dom(&url);
    assert_clean_console(&run);
    assert_eq!(rows(&run.stdout).len(), 10_000);
    assert_eq!(shown(&run.stdout).0, 10_000);

    // Filters by check and namespace, through the hash state.
    let expected = report
        .findings
        .iter()
        .filter(|f| f.check == CheckId::EnvSecret && f.namespace == "team-05")
        .count();
    assert!(expected > 0);
    let run = b.dom(&format!("{url}#check=env-secret&namespace=team-05"));
    assert_clean_console(&run);
    let seen = visible(&run.stdout);
    assert_eq!(seen.len(), expected);
    assert!(seen.iter().all(|c| c == "env-secret"));
    assert_eq!(shown(&run.stdout).0, expected);
}

#[test]
#[ignore = "browser: needs chromium (tests/cluster/setup.sh); tests/run.sh runs it"]
fn under_a_policy_that_allows_no_inline_code_the_page_still_shows_everything() {
    let Some(b) = Browser::get() else { return };
    let html = render_html(&sample::sample()).replace(
        content_security_policy(),
        "default-src 'none'; base-uri 'none'; form-action 'none'",
    );
    let run = b.dom(&b.page("strict.html", &html));
    let dom = &run.stdout;
    // The browser did block the inline script and style...
    assert!(run.log.contains("Content Security Policy"), "{}", run.log);
    assert!(
        dom.contains(r#"<html lang="en">"#),
        "the script did not run"
    );
    assert!(dom.contains(r#"<form id="filters" hidden="">"#));
    // ...and every row, total and chart bar is still there.
    assert_eq!(visible(dom).len(), 7);
    assert!(dom.contains(r#"<dd data-total="total">7</dd>"#));
    assert!(
        dom.contains(r##"fill="#c62828""##),
        "bars keep their colours"
    );
}
