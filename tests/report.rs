//! Scan output formats: snapshots of a fixed sample report, SARIF validated against the
//! official SARIF 2.1.0 schema, JSON/YAML agreement, and no secret value in any format.

mod sample;

use kubectl_secfix::model::REDACTED;

use kubectl_secfix::checks::{CheckId, Detail, Severity};
use kubectl_secfix::report::{
    API_VERSION, FINGERPRINT_KEY, MARKDOWN_LIMIT, Report, ScanReport, render_html, render_markdown,
    to_json, to_sarif, to_yaml,
};
use kubectl_secfix::report::{Origin, Target};
use kubectl_secfix::ui::summary::render_summary;
use kubectl_secfix::ui::table::{render_table, render_table_sized};
use sample::{finding, sample, source};
use serde_json::Value;

/// The official SARIF 2.1.0 JSON schema (draft-07), vendored so the test needs no network.
///
/// Source: OASIS SARIF TC repository, <https://github.com/oasis-tcs/sarif-spec>, file
/// `Documents/CommitteeSpecifications/2.1.0/sarif-schema-2.1.0.json` at commit
/// 3682e9ee648f2f3e11ba1fcd47fc390a0b8f9dab, copied byte for byte (112318 bytes).
/// It differs from the later OASIS Standard / errata 01 text only in descriptions and in
/// `suppression.state` (renamed `status`), which this tool never writes.
const SARIF_SCHEMA: &str = include_str!("fixtures/sarif-schema-2.1.0.json");

/// The SARIF with the crate version masked, so snapshots survive version bumps.
fn sarif_for_snapshot(report: &Report) -> String {
    to_sarif(report).replace(
        &format!("\"{}\"", env!("CARGO_PKG_VERSION")),
        "\"[version]\"",
    )
}

#[test]
fn table_snapshot() {
    insta::assert_snapshot!("table", render_table(&sample(), false));
}

#[test]
fn table_without_findings_snapshot() {
    let report = Report {
        scanned: 4,
        ..Report::default()
    };
    insta::assert_snapshot!("table_empty", render_table(&report, false));
}

// covers issue #12: the grouped summary, per check and per namespace, with next commands.
#[test]
fn summary_snapshot() {
    insta::assert_snapshot!("summary", render_summary(&sample(), false));
}

#[test]
fn summary_of_manifests_suggests_fixing_their_files() {
    let mut report = sample();
    report.origin = Origin {
        target: Target::Files(vec!["deploy/".into(), "manifests/".into()]),
        ran: report.origin.ran.clone(),
        ..Origin::default()
    };
    report.time = None;
    insta::assert_snapshot!("summary_files", render_summary(&report, false));
}

#[test]
fn summary_without_findings_snapshot() {
    let report = Report {
        scanned: 4,
        suppressed: 2,
        ..Report::default()
    };
    insta::assert_snapshot!("summary_empty", render_summary(&report, false));
}

#[test]
fn summary_colours_only_severity_counts_and_keeps_columns_aligned() {
    let report = sample();
    let plain = render_summary(&report, false);
    let coloured = render_summary(&report, true);
    assert!(coloured.contains("\x1b["));
    assert_eq!(console::strip_ansi_codes(&coloured), plain);
    assert!(!plain.contains('\x1b'));
}

#[test]
fn summary_of_a_large_scan_fits_one_screen() {
    let out = render_summary(&sample::large(10_000), false);
    let lines = out.lines().count();
    assert!(lines <= 30, "{lines} lines:\n{out}");
    assert!(out.contains("… and 87 more namespaces with "), "{out}");
    assert!(
        out.contains("kubectl secfix fix --context admin -A "),
        "{out}"
    );
}

#[test]
fn table_longer_than_the_screen_snapshot() {
    insta::assert_snapshot!("table_long", render_table_sized(&sample(), false, Some(5)));
}

// covers issue #12: Markdown for $GITHUB_STEP_SUMMARY and pull-request comments.
#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("markdown", render_markdown(&sample()));
}

#[test]
fn markdown_lists_a_capped_number_of_findings_per_check_and_stays_under_64_kib() {
    let out = render_markdown(&sample::large(10_000));
    assert!(out.len() < MARKDOWN_LIMIT, "{} bytes", out.len());
    // `large` deals the findings out to the checks in turn: the first `10_000 % checks`
    // checks get one more.
    let checks = CheckId::ALL.len();
    let mut expected = std::collections::BTreeMap::new();
    for k in 0..checks {
        let per_check = 10_000 / checks + usize::from(k < 10_000 % checks);
        *expected
            .entry(format!(
                "… and {} more (`-o json` lists them all)",
                per_check - 25
            ))
            .or_insert(0) += 1;
    }
    for (more, n) in expected {
        assert_eq!(out.matches(&more).count(), n, "{out}");
    }
    assert!(out.contains("… and 87 more namespaces"), "{out}");
    // Long texts everywhere: the budget, not the per-check cap, limits the rows.
    let mut report = sample::large(10_000);
    for f in &mut report.findings {
        f.message = "m".repeat(2_000);
        f.namespace = "n".repeat(63);
    }
    report.warnings = vec!["w".repeat(5_000); 50];
    let out = render_markdown(&report);
    assert!(out.len() < MARKDOWN_LIMIT, "{} bytes", out.len());
    let shown = out
        .lines()
        .filter(|l| {
            l.starts_with("| high ") || l.starts_with("| medium ") || l.starts_with("| low ")
        })
        .count();
    let more: usize = out
        .lines()
        .filter_map(|l| {
            l.strip_prefix("… and ")?
                .strip_suffix(" more (`-o json` lists them all)")
        })
        .map(|n| n.parse::<usize>().unwrap())
        .sum();
    assert_eq!(shown + more, 10_000, "every finding is listed or counted");
}

#[test]
fn markdown_escapes_what_the_cluster_names() {
    let mut report = sample();
    report.findings.truncate(1);
    report.findings[0].message =
        "<img src=x onerror=alert(1)> | *bold* [link](http://x) $x$".into();
    report.findings[0].name = "a`b|c".into();
    let out = render_markdown(&report);
    assert!(
        out.contains(r"\<img src=x onerror=alert(1)\> \| \*bold\* \[link\](http://x) \$x\$"),
        "{out}"
    );
    assert!(out.contains(r"``deployment/a`b\|c``"), "{out}");
}

/// Parses Markdown as GitHub does (GFM tables, strikethrough, math) and returns the text
/// of every table cell of every table, and whether anything but plain text, code, and our
/// own headings, bold and lists was produced.
fn parse_markdown(md: &str) -> (Vec<Vec<Vec<String>>>, Vec<String>) {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_MATH
        | Options::ENABLE_GFM
        | Options::ENABLE_TASKLISTS;
    let mut tables: Vec<Vec<Vec<String>>> = Vec::new();
    let mut unexpected = Vec::new();
    for event in Parser::new_ext(md, options) {
        match event {
            Event::Start(Tag::Table(_)) => tables.push(Vec::new()),
            Event::Start(Tag::TableHead | Tag::TableRow) => {
                tables.last_mut().unwrap().push(Vec::new())
            }
            Event::Start(Tag::TableCell) => tables
                .last_mut()
                .unwrap()
                .last_mut()
                .unwrap()
                .push(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(cell) = tables
                    .last_mut()
                    .and_then(|t| t.last_mut())
                    .and_then(|r| r.last_mut())
                {
                    cell.push_str(&t);
                }
            }
            Event::End(TagEnd::Table) => {}
            Event::Start(
                Tag::Paragraph
                | Tag::Heading { .. }
                | Tag::Strong
                | Tag::List(_)
                | Tag::Item
                | Tag::CodeBlock(_),
            )
            | Event::End(_)
            | Event::SoftBreak => {}
            other => unexpected.push(format!("{other:?}")),
        }
    }
    // Cells are collected until the table ends; text outside tables is not needed.
    (tables, unexpected)
}

#[test]
fn markdown_renders_cluster_text_as_itself_in_a_gfm_parser() {
    let hostile = [
        "<img src=x onerror=alert(1)>",
        "*em* **strong** ~~strike~~ `code` [link](https://x) ![i](y) <https://z>",
        "$math$ and $$display$$ | pipe \\ backslash & amp &amp; &#64;",
        "# not a heading",
        "tab\tand newline\nhere",
    ];
    let mut report = sample();
    for (f, h) in report.findings.iter_mut().zip(hostile) {
        f.message = h.to_string();
    }
    // The oracle does see markup where there is some.
    let (_, seen) = parse_markdown("| a |\n|---|\n| <b>x</b> *e* [l](u) $m$ |");
    assert_eq!(seen.len(), 5, "{seen:?}");
    let md = render_markdown(&report);
    let (tables, unexpected) = parse_markdown(&md);
    assert!(unexpected.is_empty(), "{unexpected:#?}\n{md}");
    // The finding tables: a header and one row per finding, six cells each.
    let rows: Vec<&Vec<String>> = tables
        .iter()
        .filter(|t| t[0][0] == "severity")
        .flat_map(|t| t.iter().skip(1))
        .collect();
    assert_eq!(rows.len(), report.findings.len());
    for (row, f) in rows.iter().zip(&report.findings) {
        assert_eq!(row.len(), 6, "{row:?}");
        assert_eq!(row[2], f.object());
        let expected = f.message.replace('\t', "\\t").replace('\n', "\\n");
        assert_eq!(row[4], expected, "the message renders as itself");
    }
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!("json", to_json(&sample()));
}

#[test]
fn yaml_snapshot() {
    insta::assert_snapshot!("yaml", to_yaml(&sample()).unwrap());
}

#[test]
fn sarif_snapshot() {
    insta::assert_snapshot!("sarif", sarif_for_snapshot(&sample()));
}

fn sarif_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SARIF_SCHEMA).expect("vendored schema is JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    // No resolver features are compiled in: the draft-07 meta-schema is bundled, and every
    // `$ref` in the SARIF schema is local, so this works offline.
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("SARIF schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, log: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF is invalid:\n{}",
        errors.join("\n")
    );
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let validator = sarif_validator();
    for report in [sample(), Report::default()] {
        let log: Value = serde_json::from_str(&to_sarif(&report)).unwrap();
        assert_valid(&validator, &log);
    }
    // The validator does reject what the schema forbids (a level outside the enum, a
    // malformed URI), so passing above means something.
    let mut log: Value = serde_json::from_str(&to_sarif(&sample())).unwrap();
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&log));
    let mut log: Value = serde_json::from_str(&to_sarif(&sample())).unwrap();
    log["runs"][0]["tool"]["driver"]["informationUri"] = "not a uri".into();
    assert!(!validator.is_valid(&log));
}

#[test]
fn sarif_content() {
    let report = sample();
    let log: Value = serde_json::from_str(&to_sarif(&report)).unwrap();
    let run = &log["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "kubectl-secfix");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        driver["informationUri"],
        "https://github.com/secfix-dev/kubectl-secfix"
    );

    let rules = driver["rules"].as_array().unwrap();
    let expected_levels = ["error", "error", "warning", "warning"];
    for ((rule, check), level) in rules.iter().zip(CheckId::ALL).zip(expected_levels) {
        assert_eq!(rule["id"], check.as_str());
        assert_eq!(rule["shortDescription"]["text"], check.title());
        assert_eq!(rule["fullDescription"]["text"], check.help());
        assert_eq!(rule["help"]["text"], check.help());
        assert_eq!(rule["defaultConfiguration"]["level"], level);
    }

    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len());
    for (r, f) in results.iter().zip(&report.findings) {
        assert_eq!(r["ruleId"], f.check.as_str());
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], f.check.as_str());
        let level = match f.severity {
            Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low => "note",
        };
        assert_eq!(r["level"], level);
        assert_eq!(r["message"]["text"], f.message.as_str());
        let loc = &r["locations"][0];
        let object = format!("{}/{}/{}", f.namespace, f.kind, f.name);
        assert_eq!(loc["logicalLocations"][0]["fullyQualifiedName"], object);
        assert_eq!(loc["logicalLocations"][0]["kind"], "object");
        if !f.path.is_empty() {
            assert_eq!(loc["logicalLocations"][1]["name"], f.path.as_str());
            assert_eq!(
                loc["logicalLocations"][1]["fullyQualifiedName"],
                format!("{object}{}", f.path)
            );
        }
        match &f.source {
            Some(s) if s.file != "-" => {
                let p = &loc["physicalLocation"];
                assert_eq!(
                    p["artifactLocation"]["uri"],
                    s.file.replace(' ', "%20").as_str()
                );
                assert_eq!(p["region"]["startLine"], s.line);
            }
            _ => assert!(loc.get("physicalLocation").is_none(), "{loc}"),
        }
    }

    // Fingerprints: present, unique per finding, and stable when a message or line changes.
    let prints: Vec<&str> = results
        .iter()
        .map(|r| r["partialFingerprints"][FINGERPRINT_KEY].as_str().unwrap())
        .collect();
    let mut unique = prints.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), prints.len(), "{prints:?}");
    assert_eq!(
        prints[0],
        "env-secret:shop/Deployment/api:container=app:env=DB_PASSWORD"
    );
    let mut moved = sample();
    moved.findings[0].message = "reworded".into();
    moved.findings[0].source = source("elsewhere.yaml", 40);
    let again: Value = serde_json::from_str(&to_sarif(&moved)).unwrap();
    assert_eq!(
        again["runs"][0]["results"][0]["partialFingerprints"][FINGERPRINT_KEY],
        prints[0]
    );

    // Warnings travel as tool execution notifications.
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0]["level"], "warning");
    assert_eq!(notes[0]["message"]["text"], report.warnings[0].as_str());
}

#[test]
fn json_document_shape_and_round_trip() {
    let report = sample();
    let json = to_json(&report);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["apiVersion"], API_VERSION);
    assert_eq!(v["kind"], "ScanReport");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["apiVersion", "kind", "findings", "summary", "warnings"]
    );
    assert_eq!(v["summary"]["total"], 7);
    assert_eq!(v["summary"]["high"], 4);
    assert_eq!(v["summary"]["medium"], 3);
    assert_eq!(v["summary"]["fixable"], 6);
    assert_eq!(v["summary"]["suppressed"], 1);
    assert_eq!(v["summary"]["scanned"], 12);
    assert_eq!(v["summary"]["byCheck"]["default-allow-namespace"], 2);

    let back: ScanReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.findings, report.findings.as_slice());
    assert_eq!(back.summary, report.summary());
    assert_eq!(back.warnings, report.warnings);
}

#[test]
fn yaml_is_the_same_document_as_json() {
    let report = sample();
    let from_yaml: Value = serde_saphyr::from_str(&to_yaml(&report).unwrap()).unwrap();
    let from_json: Value = serde_json::from_str(&to_json(&report)).unwrap();
    assert_eq!(from_yaml, from_json);
}

#[test]
fn literal_secret_value_never_appears() {
    // The manifest had `env: [{name: API_TOKEN, value: <this>}]`; the check records only
    // the variable's name and why the value looks secret.
    let value = "ghp_Zx9Qm2Lk7Vb4Nc1Rt8Yw5Ue3Io6Pa0Sd2Fg";
    let mut report = sample();
    report.findings = vec![finding(
        CheckId::EnvLiteralSecret,
        Severity::High,
        ("shop", "Deployment", "apps/v1", "api"),
        Some("app"),
        "/spec/template/spec/containers/0/env/0",
        "env API_TOKEN holds a literal that looks like a GitHub token",
        Ok(()),
        source("deploy/api.yaml", 1),
        Detail::EnvLiteralSecret(
            kubectl_secfix::checks::env_literal_secret::Detail::LiteralSecret {
                env: "API_TOKEN".into(),
                reason: "looks like a GitHub token".into(),
                delivery: None,
            },
        ),
    )];
    // covers issue #12: the summary, Markdown and HTML never hold a secret either.
    let per_finding = [
        render_table(&report, false),
        render_table(&report, true),
        to_json(&report),
        to_yaml(&report).unwrap(),
        to_sarif(&report),
        render_markdown(&report).replace(r"API\_TOKEN", "API_TOKEN"),
        render_html(&report),
    ];
    let grouped = [
        render_summary(&report, false),
        render_summary(&report, true),
    ];
    for out in per_finding.iter().chain(&grouped) {
        assert!(!out.contains(value), "secret value leaked:\n{out}");
        assert!(!out.contains("ghp_"), "part of the secret leaked:\n{out}");
    }
    for out in &per_finding {
        assert!(out.contains("API_TOKEN"), "the variable is named:\n{out}");
    }
    // The detail can only ever carry the name and the reason.
    let v: Value = serde_json::from_str(&to_json(&report)).unwrap();
    let mut keys: Vec<&String> = v["findings"][0]["detail"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    keys.sort();
    assert_eq!(keys, ["env", "reason", "type"]);
    assert!(
        !to_json(&report).contains(REDACTED),
        "nothing to redact: no value is held"
    );
}

#[test]
fn docs_describe_every_field() {
    let doc = include_str!("../docs/scan-report.md");
    let v: Value = serde_json::from_str(&to_json(&sample())).unwrap();
    let mut missing = Vec::new();
    let mut check = |key: &str| {
        if !doc.contains(&format!("`{key}`")) {
            missing.push(key.to_string());
        }
    };
    for key in v.as_object().unwrap().keys() {
        check(key);
    }
    for key in v["summary"].as_object().unwrap().keys() {
        check(key);
    }
    for f in v["findings"].as_array().unwrap() {
        for (key, value) in f.as_object().unwrap() {
            check(key);
            if key == "detail" || key == "source" {
                for k in value.as_object().unwrap().keys() {
                    check(k);
                }
            }
        }
        check(f["detail"]["type"].as_str().unwrap());
    }
    for c in CheckId::ALL {
        check(c.as_str());
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "docs/scan-report.md lacks {missing:?}");
}

/// The sample as a scan of several contexts would report it: the first findings from
/// context `prod`, the rest from `staging`, and a third context that could not be reached.
fn multi_context_sample() -> Report {
    use kubectl_secfix::checks::ContextRef;
    use kubectl_secfix::report::{ContextState, ContextStatus};
    let mut report = sample();
    let split = 2;
    for (i, f) in report.findings.iter_mut().enumerate() {
        f.source = None;
        f.origin = Some(if i < split {
            ContextRef {
                context: "prod".into(),
                server: "https://prod.example.com:6443".into(),
            }
        } else {
            ContextRef {
                context: "staging".into(),
                server: "https://staging.example.com".into(),
            }
        });
    }
    let n = report.findings.len();
    report.contexts = vec![
        ContextStatus {
            context: "prod".into(),
            server: "https://prod.example.com:6443".into(),
            status: ContextState::Ok,
            findings: split,
            scanned: 5,
            errors: vec![],
        },
        ContextStatus {
            context: "staging".into(),
            server: "https://staging.example.com".into(),
            status: ContextState::Ok,
            findings: n - split,
            scanned: 7,
            errors: vec![],
        },
        ContextStatus {
            context: "edge".into(),
            server: "https://10.0.0.9:6443".into(),
            status: ContextState::Failed,
            findings: 0,
            scanned: 0,
            errors: vec!["cannot reach https://10.0.0.9:6443: connection refused".into()],
        },
    ];
    report
}

/// Covers issue #13: each finding carries its context in every format.
#[test]
fn table_of_several_contexts_snapshot() {
    insta::assert_snapshot!(
        "table_contexts",
        render_table(&multi_context_sample(), false)
    );
}

#[test]
fn json_of_several_contexts_snapshot() {
    let report = multi_context_sample();
    let json = to_json(&report);
    insta::assert_snapshot!("json_contexts", json);
    // YAML says the same, and the document reads back.
    let from_yaml: Value = serde_saphyr::from_str(&to_yaml(&report).unwrap()).unwrap();
    let from_json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(from_yaml, from_json);
    let back: ScanReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.findings, report.findings);
    assert_eq!(back.contexts, report.contexts);
}

#[test]
fn sarif_of_several_contexts_is_valid_and_carries_the_contexts() {
    let report = multi_context_sample();
    let log: Value = serde_json::from_str(&to_sarif(&report)).unwrap();
    assert_valid(&sarif_validator(), &log);
    let run = &log["runs"][0];
    for (r, f) in run["results"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&report.findings)
    {
        let o = f.origin.as_ref().unwrap();
        assert_eq!(r["properties"]["context"], o.context.as_str());
        assert_eq!(r["properties"]["server"], o.server.as_str());
        let fp = r["partialFingerprints"][FINGERPRINT_KEY].as_str().unwrap();
        assert!(fp.starts_with(&format!("{}@", o.context)), "{fp}");
    }
    assert_eq!(run["properties"]["contexts"][2]["status"], "failed");
}

/// Covers issue #13: the overviews of a scan of several contexts say which context each
/// namespace and finding is in, and suggest one `fix --context` per context, never one
/// `fix` for everything.
#[test]
fn overviews_of_several_contexts_name_each_context() {
    let mut report = multi_context_sample();
    report.origin = Origin {
        target: Target::Contexts {
            contexts: vec!["prod".into(), "staging".into(), "edge".into()],
            kubeconfig: None,
            default_namespaces: false,
        },
        ..Origin::default()
    };
    let summary = render_summary(&report, false);
    assert!(summary.contains("staging/shop"), "{summary}");
    assert!(
        summary.contains("kubectl secfix fix --context prod -n shop"),
        "{summary}"
    );
    assert!(
        summary.contains("kubectl secfix fix --context staging -n shop"),
        "{summary}"
    );
    assert!(
        !summary
            .lines()
            .any(|l| l.contains("fix -A") || l.contains("fix -n")),
        "no fix without a context: {summary}"
    );
    assert!(
        summary.contains("edge      https://10.0.0.9:6443           failed   0"),
        "how each context went: {summary}"
    );
    let markdown = render_markdown(&report);
    assert!(
        markdown.contains("contexts prod, staging, edge, all namespaces"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| `edge` | `https://10.0.0.9:6443` | failed | 0 |"),
        "{markdown}"
    );
    assert!(markdown.contains("`prod/shop`"), "{markdown}");
    let html = render_html(&report);
    assert!(html.contains("<span class=\"muted\">staging</span> deployment/api"));
}

/// Code scanning links each rule to its documentation: `helpUri` is the check's row of the
/// README's check table (an anchor that exists there), and `help.markdown` explains it.
#[test]
fn sarif_rules_link_to_their_readme_row() {
    let v: Value = serde_json::from_str(&to_sarif(&sample())).unwrap();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for rule in v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap() {
        let uri = rule["helpUri"].as_str().unwrap();
        let anchor = uri.split_once("README.md#").unwrap().1;
        assert!(
            readme.contains(&format!("<a id=\"{anchor}\"></a>")),
            "{uri}"
        );
        let md = rule["help"]["markdown"].as_str().unwrap();
        assert!(md.contains(uri), "{md}");
    }
}

/// `--baseline`: findings of the baseline are marked (SARIF `baselineState`, JSON
/// `baseline: true`, a table column, the summary line) and do not count for `--fail-on`.
#[test]
fn baseline_findings_are_reported_as_such_in_every_format() {
    use kubectl_secfix::report::Baseline;
    let old = sample();
    let mut base = old.clone();
    base.findings.truncate(3);
    let baseline = Baseline::parse(&to_json(&base)).unwrap();
    let mut report = old.clone();
    baseline.mark(&mut report);
    assert_eq!(report.in_baseline(), 3);
    let json: Value = serde_json::from_str(&to_json(&report)).unwrap();
    assert_eq!(json["findings"][0]["baseline"], true);
    assert!(json["findings"][3].get("baseline").is_none());
    assert_eq!(json["summary"]["baseline"], 3);
    let sarif: Value = serde_json::from_str(&to_sarif(&report)).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results[0]["baselineState"], "unchanged");
    assert_eq!(results[3]["baselineState"], "new");
    let table = render_table(&report, false);
    assert!(
        table.lines().next().unwrap().contains("BASELINE"),
        "{table}"
    );
    assert!(table.contains("3 in the baseline (4 new)"), "{table}");
    for text in [
        kubectl_secfix::report::render_html(&report),
        kubectl_secfix::report::render_markdown(&report),
        kubectl_secfix::ui::summary::render_summary(&report, false),
    ] {
        assert!(text.contains("in the baseline"), "{text}");
    }
    // All of the worst findings in the baseline: only the rest count.
    let worst_new = report.worst_new();
    assert!(worst_new <= report.worst());
    // A YAML report is a baseline too; anything else is refused with a reason.
    assert!(Baseline::parse(&kubectl_secfix::report::to_yaml(&base).unwrap()).is_ok());
    assert!(Baseline::parse("{}").is_err());
    assert!(Baseline::parse("not json").is_err());
}
