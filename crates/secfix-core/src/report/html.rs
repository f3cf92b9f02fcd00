//! `-o html`: one self-contained page for people who would rather look than read.
//!
//! The page holds everything it shows: no external script, style sheet, font or image, so
//! it opens offline and from a CI artifact. It has a header (where the scan came from,
//! when, the totals and the suppressed count), a bar chart per check and one of the top
//! namespaces (inline SVG, split by severity; a bar filters the table), the commands to run
//! next, and the findings table, sortable and filterable by check, severity, namespace,
//! fixability and text, with the `fix` command of each fixable finding.
//!
//! **Content-Security-Policy.** The page carries its own policy in a `<meta>` element
//! ([`content_security_policy`]): `default-src 'none'`, its one inline `<style>` and one
//! inline `<script>` allowed by their SHA-256 hashes, no other script, style, font, image,
//! frame or connection, `base-uri 'none'`, `form-action 'none'`. So the page runs under a
//! strict policy without `'unsafe-inline'`, and nothing in it can load or send anything.
//! Served under a stricter policy still (one that allows no inline style or script at
//! all), it degrades instead of breaking: every row, count and chart is in the HTML itself
//! (the charts use SVG presentation attributes, not CSS), only sorting and filtering need
//! the script.
//!
//! **Size.** All rows are written into the page (so it is complete without its script);
//! the script hides and reorders them and lists at most 500 matching rows at a time, with
//! "Show more" and "Show all" buttons, so layout stays bounded and 10,000 findings open and
//! filter without freezing (checked in a real browser by `tests/html_browser.rs`).
//!
//! **Escaping.** Every text from the cluster or the manifests is HTML-escaped (and control
//! characters shown escaped); nothing from the report reaches an attribute unescaped or the
//! script or style. The page never holds a secret value, because findings never do.

use std::fmt::Write as _;
use std::sync::LazyLock;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::overview::APP_CHANGE_NOTE;
use super::overview::{Counts, Overview, fix_command_for, needs_app_change};
use super::{Report, plural};
use crate::checks::Finding;
use crate::model::text::printable;

/// The page's style sheet, inlined.
const STYLE: &str = include_str!("html/report.css");
/// The page's script (filters, sorting, URL hash state), inlined.
const SCRIPT: &str = include_str!("html/report.js");

/// Namespaces in the per-namespace chart.
pub(crate) const CHART_NAMESPACES: usize = 15;

/// Chart geometry, in SVG user units (pixels at 100 %).
const CHART_WIDTH: f64 = 640.0;
const LABEL_WIDTH: f64 = 210.0;
const COUNT_WIDTH: f64 = 60.0;
const ROW: f64 = 24.0;
const BAR: f64 = 16.0;
/// Longest chart label, in characters (the full name is in the bar's tooltip).
const LABEL_CHARS: usize = 30;

/// Default colours of the severities: the SVG bars carry them as presentation attributes,
/// so the charts keep their colours where a policy blocks the style sheet.
const HIGH: &str = "#c62828";
const MEDIUM: &str = "#b26a00";
const LOW: &str = "#1565c0";
const TEXT: &str = "#1b1f24";

static CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; style-src '{}'; script-src '{}'; base-uri 'none'; form-action 'none'",
        hash(STYLE),
        hash(SCRIPT)
    )
});

/// The Content-Security-Policy that the page declares in its `<meta>` element (and that a
/// server may send as a header): `default-src 'none'` plus the hashes of the page's inline
/// style and script.
pub fn content_security_policy() -> &'static str {
    &CSP
}

/// `sha256-<base64>` of an inline element's text, as CSP hash sources spell it.
fn hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The HTML page for `report` (a complete document, ending without a newline).
pub fn render_html(report: &Report) -> String {
    let o = Overview::of(report);
    let mut out = String::with_capacity(4096 + report.findings.len() * 420);
    head(&mut out, report, &o);
    header(&mut out, report, &o);
    charts(&mut out, &o);
    next_steps(&mut out, &o);
    findings_table(&mut out, report, &o);
    checks_and_footer(&mut out, &o);
    out
}

/// The document head: title, Content-Security-Policy, the style.
fn head(out: &mut String, report: &Report, o: &Overview) {
    let s = &o.summary;
    let origin = report.origin.describe();
    let title = if origin.is_empty() {
        format!(
            "kubectl secfix scan: {}",
            plural(s.total, "finding", "findings")
        )
    } else {
        format!(
            "kubectl secfix scan: {} ({origin})",
            plural(s.total, "finding", "findings")
        )
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"kubectl-secfix {version}\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        // Our own text: base64 hashes and quoted keywords, no `"`, `&` or `<` (tested).
        csp = content_security_policy(),
        version = env!("CARGO_PKG_VERSION"),
        title = esc(&title),
    );
}

/// Where from, when, totals, warnings.
fn header(out: &mut String, report: &Report, o: &Overview) {
    let s = &o.summary;
    let origin = report.origin.describe();
    out.push_str("<header>\n<h1>kubectl secfix scan</h1>\n");
    let mut about = Vec::new();
    if !origin.is_empty() {
        about.push(esc(&origin));
    }
    if let Some(t) = report.time {
        about.push(format!(
            "<time datetime=\"{}\">{}</time>",
            t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            t.strftime("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
    if !about.is_empty() {
        let _ = writeln!(out, "<p class=\"origin\">{}</p>", about.join(" · "));
    }
    out.push_str("<dl class=\"totals\" id=\"totals\">\n");
    for (class, label, n) in [
        ("total", "findings", s.total),
        ("high", "high", s.high),
        ("medium", "medium", s.medium),
        ("low", "low", s.low),
        ("fixable", "fixable", s.fixable),
        ("suppressed", "suppressed", s.suppressed),
        ("scanned", "objects scanned", s.scanned),
    ] {
        let _ = writeln!(
            out,
            "<div class=\"{class}\"><dt>{label}</dt><dd data-total=\"{class}\">{n}</dd></div>"
        );
    }
    out.push_str("</dl>\n");
    if s.suppressed > 0 {
        let _ = writeln!(
            out,
            "<p class=\"muted\">{} suppressed by a <code>secfix.dev/ignore</code> annotation (counted, not listed).</p>",
            plural(s.suppressed, "finding", "findings")
        );
    }
    if s.baseline > 0 {
        let _ = writeln!(
            out,
            "<p class=\"muted\" id=\"baseline\">{} in the baseline ({} new): marked <span class=\"baseline\">baseline</span>, they do not fail the run.</p>",
            plural(s.baseline, "finding", "findings"),
            s.total - s.baseline
        );
    }
    if !report.warnings.is_empty() || !report.errors.is_empty() {
        out.push_str("<ul class=\"warnings\">\n");
        for e in &report.errors {
            let _ = writeln!(out, "<li>Error: {}</li>", esc(&e.to_string()));
        }
        for w in &report.warnings {
            let _ = writeln!(out, "<li>Warning: {}</li>", esc(w));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</header>\n<main>\n");
}

/// Findings per check and per namespace.
fn charts(out: &mut String, o: &Overview) {
    out.push_str("<section class=\"charts\" aria-label=\"charts\">\n");
    let check_bars: Vec<Bar> = o
        .checks
        .iter()
        .map(|r| Bar {
            label: r.check.as_str().to_string(),
            tooltip: format!(
                "{}: {} ({}), {} fixable, in {} and {}",
                r.check.as_str(),
                plural(r.counts.findings, "finding", "findings"),
                r.counts.split(),
                r.counts.fixable,
                plural(r.objects, "object", "objects"),
                plural(r.namespaces, "namespace", "namespaces"),
            ),
            counts: r.counts,
            filter: ("check", r.check.as_str().to_string()),
        })
        .collect();
    chart(out, "chart-checks", "Findings per check", &check_bars);
    if !o.namespaces.is_empty() {
        let ns_bars: Vec<Bar> = o
            .namespaces
            .iter()
            .take(CHART_NAMESPACES)
            .map(|n| Bar {
                label: n.label(),
                tooltip: format!(
                    "{}: {} ({}), {} fixable",
                    n.label(),
                    plural(n.counts.findings, "finding", "findings"),
                    n.counts.split(),
                    n.counts.fixable
                ),
                counts: n.counts,
                filter: ("namespace", n.namespace.clone()),
            })
            .collect();
        let caption = if o.namespaces.len() > CHART_NAMESPACES {
            format!(
                "Top {CHART_NAMESPACES} namespaces by findings (of {})",
                o.namespaces.len()
            )
        } else {
            "Findings per namespace".to_string()
        };
        chart(out, "chart-namespaces", &caption, &ns_bars);
    }
    out.push_str("</section>\n<p class=\"legend\"><span class=\"high\">high</span><span class=\"medium\">medium</span><span class=\"low\">low</span></p>\n");
}

/// The suggested commands.
fn next_steps(out: &mut String, o: &Overview) {
    if !o.next.is_empty() || o.not_fixable > 0 {
        out.push_str("<section class=\"next\" id=\"next\">\n<h2>Where to start</h2>\n");
        if !o.next.is_empty() {
            out.push_str("<ol>\n");
            for step in &o.next {
                let _ = writeln!(
                    out,
                    "<li><code>{}</code><span>{}</span></li>",
                    esc(&step.command),
                    esc(&step.describe())
                );
            }
            out.push_str("</ol>\n");
            if o.app_change > 0 {
                let _ = writeln!(out, "<p class=\"muted\">{}</p>", with_code(APP_CHANGE_NOTE));
            }
        }
        if o.not_fixable > 0 {
            let _ = writeln!(
                out,
                "<p class=\"muted\">{} cannot be fixed automatically; the <b>fix</b> column says why.</p>",
                plural(o.not_fixable, "finding", "findings")
            );
        }
        out.push_str("</section>\n");
    }
}

/// The findings table, worst first.
fn findings_table(out: &mut String, report: &Report, o: &Overview) {
    let s = &o.summary;
    out.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n");
    filters(out, o);
    let _ = writeln!(
        out,
        "<p id=\"shown\" aria-live=\"polite\" data-shown=\"{}\">{}</p>",
        s.total,
        if s.total == 0 {
            "No findings.".to_string()
        } else {
            plural(s.total, "finding", "findings")
        }
    );
    out.push_str(
        "<table id=\"findings-table\">\n<colgroup><col class=\"c-sev\"><col class=\"c-check\">\
         <col class=\"c-ns\"><col class=\"c-obj\"><col class=\"c-ctr\"><col class=\"c-msg\">\
         <col class=\"c-fix\"></colgroup>\n<thead><tr>",
    );
    for (key, label) in [
        ("severity", "Severity"),
        ("check", "Check"),
        ("namespace", "Namespace"),
        ("object", "Object"),
        ("container", "Container"),
        ("message", "Message"),
        ("fix", "Fix"),
    ] {
        let _ = write!(
            out,
            "<th scope=\"col\" data-key=\"{key}\"><button type=\"button\">{label}</button></th>"
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    // Worst first: high findings are not buried among medium ones.
    for f in report.worst_first() {
        row(out, report, f);
    }
    out.push_str(
        "</tbody>\n</table>\n<p class=\"more\"><button type=\"button\" id=\"more\" hidden>Show more</button> \
         <button type=\"button\" id=\"all\" hidden>Show all</button></p>\n</section>\n",
    );
}

/// What the checks are, and the footer with the script.
fn checks_and_footer(out: &mut String, o: &Overview) {
    out.push_str("<section id=\"checks\">\n<h2>The checks</h2>\n<dl>\n");
    for r in &o.checks {
        let _ = writeln!(
            out,
            "<dt><code>{}</code>: {}</dt><dd>{}</dd>",
            r.check.as_str(),
            esc(r.check.title()),
            esc(r.check.help())
        );
    }
    out.push_str("</dl>\n</section>\n</main>\n");
    let _ = write!(
        out,
        "<footer>kubectl-secfix {}. Findings name variables, Secrets and keys; this page holds no secret value.</footer>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION")
    );
}

fn filters(out: &mut String, o: &Overview) {
    // Hidden until the script runs: without it the table is complete but static.
    out.push_str(
        "<form id=\"filters\" hidden>\n<label>Check<select name=\"check\"><option value=\"\">all</option>",
    );
    for r in o.checks.iter().filter(|r| r.counts.findings > 0) {
        let _ = write!(
            out,
            "<option value=\"{id}\">{id} ({n})</option>",
            id = r.check.as_str(),
            n = r.counts.findings
        );
    }
    out.push_str("</select></label>\n<label>Severity<select name=\"severity\"><option value=\"\">all</option>");
    let s = &o.summary;
    for (sev, n) in [("high", s.high), ("medium", s.medium), ("low", s.low)] {
        if n > 0 {
            let _ = write!(out, "<option value=\"{sev}\">{sev} ({n})</option>");
        }
    }
    out.push_str("</select></label>\n<label>Namespace<select name=\"namespace\"><option value=\"\">all</option>");
    let mut namespaces: Vec<(&str, usize)> = o
        .namespaces
        .iter()
        .map(|n| (n.namespace.as_str(), n.counts.findings))
        .collect();
    namespaces.sort();
    // Several contexts may share a namespace name: one option filters them all.
    namespaces.dedup_by(|b, a| {
        if a.0 == b.0 {
            a.1 += b.1;
            true
        } else {
            false
        }
    });
    for (ns, n) in namespaces {
        let _ = write!(out, "<option value=\"{v}\">{v} ({n})</option>", v = esc(ns));
    }
    out.push_str(
        "</select></label>\n<label>Fixable<select name=\"fixable\"><option value=\"\">any</option>\
         <option value=\"yes\">yes</option><option value=\"no\">no</option></select></label>\n\
         <label>Search<input type=\"search\" name=\"q\" placeholder=\"object, message, …\"></label>\n\
         <button type=\"reset\">Clear filters</button>\n</form>\n",
    );
}

fn row(out: &mut String, report: &Report, f: &Finding) {
    let sev = f.severity.as_str();
    let fix = match fix_command_for(&report.origin, f) {
        Some(cmd) if needs_app_change(f) => format!(
            "<code>{}</code><br><span class=\"muted\">app change: the app must be changed to read the file</span>",
            esc(&cmd)
        ),
        Some(cmd) => format!("<code>{}</code>", esc(&cmd)),
        None => format!(
            "<span class=\"muted\">{}</span>",
            esc(f.not_fixable_reason.as_deref().unwrap_or("not fixable"))
        ),
    };
    let _ = writeln!(
        out,
        "<tr data-check=\"{check}\"{fixable}><td class=\"sev {sev}\">{sev}</td><td>{check}</td>\
         <td>{ns}</td><td>{object}</td><td>{container}</td><td>{message}</td><td class=\"fix\">{fix}</td></tr>",
        check = f.check.as_str(),
        fixable = if f.fixable { " class=\"fixable\"" } else { "" },
        ns = esc(crate::model::names::namespace_label(&f.namespace)),
        // In a scan of several contexts the object's context comes first (the namespace
        // cell stays the namespace alone: the namespace filter matches it exactly).
        object = match f.context() {
            Some(c) => format!(
                "<span class=\"muted\">{}</span> {}",
                esc(c),
                esc(&f.object())
            ),
            None => esc(&f.object()),
        },
        container = esc(f.container.as_deref().unwrap_or("")),
        message = if f.baseline {
            format!(
                "<span class=\"baseline\">baseline</span> {}",
                esc(&f.message)
            )
        } else {
            esc(&f.message)
        },
    );
}

/// One bar of a chart.
struct Bar {
    label: String,
    tooltip: String,
    counts: Counts,
    /// The table filter the bar sets: `(key, value)` of the URL hash state.
    filter: (&'static str, String),
}

/// A horizontal bar chart, one bar per row split into high, medium and low, as inline SVG.
fn chart(out: &mut String, id: &str, caption: &str, bars: &[Bar]) {
    let height = ROW * bars.len() as f64 + 4.0;
    let max = bars.iter().map(|b| b.counts.findings).max().unwrap_or(0);
    let scale = if max == 0 {
        0.0
    } else {
        (CHART_WIDTH - LABEL_WIDTH - COUNT_WIDTH) / max as f64
    };
    let _ = write!(
        out,
        "<figure id=\"{id}\">\n<figcaption>{caption}</figcaption>\n\
         <svg role=\"img\" aria-label=\"{caption}\" \
         width=\"{CHART_WIDTH}\" height=\"{height}\" viewBox=\"0 0 {CHART_WIDTH} {height}\" \
         font-family=\"system-ui, sans-serif\" font-size=\"12\">\n",
        caption = esc(caption),
    );
    for (i, b) in bars.iter().enumerate() {
        let y = ROW * i as f64 + 4.0;
        let text_y = y + BAR - 4.0;
        let (key, value) = (&b.filter.0, esc(&b.filter.1));
        let _ = write!(
            out,
            "<a href=\"#{key}={href}\" data-filter=\"{key}\" data-value=\"{value}\">\
             <title>{tooltip}</title>\
             <text x=\"{lx}\" y=\"{text_y}\" text-anchor=\"end\" fill=\"{TEXT}\">{label}</text>",
            href = esc(&url_component(&b.filter.1)),
            tooltip = esc(&b.tooltip),
            lx = LABEL_WIDTH - 8.0,
            label = esc(&clip_label(&b.label)),
        );
        let mut x = LABEL_WIDTH;
        for (n, class, fill) in [
            (b.counts.high, "bar-high", HIGH),
            (b.counts.medium, "bar-medium", MEDIUM),
            (b.counts.low, "bar-low", LOW),
        ] {
            if n == 0 {
                continue;
            }
            let w = (n as f64 * scale).max(1.0);
            let _ = write!(
                out,
                "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{BAR}\" fill=\"{fill}\"/>"
            );
            x += w;
        }
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{text_y}\" fill=\"{TEXT}\">{}</text></a>",
            x + 6.0,
            b.counts.findings
        );
    }
    out.push_str("</svg>\n</figure>\n");
}

fn clip_label(s: &str) -> String {
    if s.chars().count() <= LABEL_CHARS {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Percent-encodes what `URLSearchParams` would not read back as itself.
fn url_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Our own text with `code spans` (Markdown style) as HTML `<code>`.
fn with_code(s: &str) -> String {
    s.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{}</code>", esc(part))
            } else {
                esc(part)
            }
        })
        .collect()
}

/// `s` escaped for HTML text and double-quoted attributes, control characters shown escaped.
fn esc(s: &str) -> String {
    let s = printable(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::CheckId;

    #[test]
    fn policy_hashes_the_inline_style_and_script() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'; "), "{csp}");
        assert!(csp.contains(&format!("script-src '{}'", hash(SCRIPT))));
        assert!(csp.contains(&format!("style-src '{}'", hash(STYLE))));
        assert!(!csp.contains("unsafe"));
        assert!(
            !csp.contains(['"', '&', '<', '>']),
            "written into the attribute as is"
        );
        // A known vector: sha256 of the empty string (`openssl dgst -sha256 -binary | base64`).
        assert_eq!(
            hash(""),
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn the_page_inlines_exactly_the_hashed_texts() {
        let page = render_html(&Report::default());
        assert!(page.contains(&format!("<style>{STYLE}</style>")));
        assert!(page.contains(&format!("<script>{SCRIPT}</script>")));
        assert_eq!(page.matches("<script").count(), 1);
        assert_eq!(page.matches("<style").count(), 1);
        assert!(
            !page.contains(" style="),
            "no style attributes: the policy blocks them"
        );
        for external in ["src=", "<link", "url(", "@import", "http://", "https://"] {
            assert!(!page.contains(external), "{external} in the page");
        }
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<script>\"a\" & 'b'\x1b"),
            r"&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;\u{1b}"
        );
        assert_eq!(url_component("a b/ü"), "a%20b%2F%C3%BC");
        assert_eq!(with_code("run `a<b` now"), "run <code>a&lt;b</code> now");
    }

    #[test]
    fn charts_scale_bars_to_the_largest() {
        let mut out = String::new();
        let bar = |n: usize| Bar {
            label: "x".repeat(40),
            tooltip: "t".into(),
            counts: Counts {
                findings: n,
                high: n,
                ..Counts::default()
            },
            filter: ("check", "env-secret".into()),
        };
        chart(&mut out, "c", "cap", &[bar(10), bar(5)]);
        assert!(out.contains("width=\"370.0\""), "{out}");
        assert!(out.contains("width=\"185.0\""), "{out}");
        assert!(out.contains(&format!("{}…", "x".repeat(29))));
        assert!(out.contains("href=\"#check=env-secret\""));
    }

    #[test]
    fn check_ids_need_no_escaping() {
        for c in CheckId::ALL {
            assert_eq!(esc(c.as_str()), c.as_str());
        }
    }
}
