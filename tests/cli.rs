//! The command line of docs/contract.md §1: gen, post, token, and clear errors for bad input.

mod support;

use std::process::Command;
use support::{BIN, Up};

fn spotcheck(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BIN).args(args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn line_count(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

#[test]
fn gen_then_post_takes_every_result_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = data.to_str().unwrap();
    let (ok, stdout, stderr) = spotcheck(&[
        "gen",
        "--out",
        out,
        "--results",
        "1500",
        "--shipments",
        "6000",
        "--seed",
        "5",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("6000 shipments, 1500 results"), "{stdout}");
    assert_eq!(line_count(&data.join("results.ndjson")), 1500);
    assert_eq!(line_count(&data.join("shipments.ndjson")), 6000);

    let up = Up::start(&dir.path().join("spotcheck"));
    let lab = up.token("lab");
    let results = data.join("results.ndjson");
    let post = |token: &str| {
        spotcheck(&[
            "post",
            "--url",
            &up.url(""),
            "--token",
            token,
            "--batch-size",
            "400",
            results.to_str().unwrap(),
        ])
    };
    let (ok, stdout, stderr) = post(&lab);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("1500 accepted, 0 duplicate, 0 rejected"),
        "{stdout}"
    );
    let (ok, stdout, _) = post(&lab);
    assert!(ok);
    assert!(
        stdout.contains("0 accepted, 1500 duplicate, 0 rejected"),
        "{stdout}"
    );
    let (ok, _, stderr) = post("sc_wrong");
    assert!(!ok);
    assert!(stderr.contains("401"), "{stderr}");
}

#[test]
fn post_reports_rejected_records_with_their_file_lines() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(&dir.path().join("spotcheck"));
    let file = dir.path().join("results.ndjson");
    let good = support::result("TJ-CLI-1").to_string();
    let mut bad = support::result("TJ-CLI-2");
    bad["tested_on"] = serde_json::json!("2026-01-01");
    std::fs::write(&file, format!("{good}\n\n{bad}\n")).unwrap();
    let (ok, stdout, _) = spotcheck(&[
        "post",
        "--url",
        &up.url(""),
        "--token",
        &up.token("lab"),
        "--batch-size",
        "1",
        file.to_str().unwrap(),
    ]);
    assert!(!ok, "a rejection makes the exit non-zero");
    assert!(
        stdout.contains("1 accepted, 0 duplicate, 1 rejected"),
        "{stdout}"
    );
    assert!(stdout.contains("results.ndjson:3: tested_on"), "{stdout}");
}

#[test]
fn gen_is_deterministic_per_seed() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: &str| {
        let out = dir.path().join(name);
        assert!(
            spotcheck(&[
                "gen",
                "--out",
                out.to_str().unwrap(),
                "--results",
                "50",
                "--shipments",
                "200",
                "--seed",
                seed
            ])
            .0
        );
        std::fs::read(out.join("results.ndjson")).unwrap()
    };
    assert_eq!(run("a", "9"), run("b", "9"));
    assert_ne!(run("a", "9"), run("c", "10"));
}

#[test]
fn token_new_prints_a_token_and_the_entry_with_its_hash() {
    let (ok, stdout, _) = spotcheck(&["token", "new", "--role", "lab", "--subject", "tj-lab-07"]);
    assert!(ok);
    let token = stdout
        .lines()
        .next()
        .unwrap()
        .strip_prefix("token: ")
        .unwrap();
    let entry = stdout.split_once("# Add").unwrap().1;
    let table: toml::Table = toml::from_str(entry.split_once('\n').unwrap().1).unwrap();
    let granted = &table["token"].as_array().unwrap()[0];
    use sha2::Digest;
    assert_eq!(
        granted["sha256"].as_str().unwrap(),
        hex::encode(sha2::Sha256::digest(token.as_bytes()))
    );
    assert_eq!(granted["role"].as_str().unwrap(), "lab");
    assert_eq!(granted["subject"].as_str().unwrap(), "tj-lab-07");
}

#[test]
fn bad_flags_and_input_give_one_line_errors_and_a_non_zero_exit() {
    let (ok, _, stderr) = spotcheck(&["token", "new", "--role", "chef", "--subject", "x"]);
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("unknown role 'chef'"), "{stderr}");

    let (ok, _, stderr) = spotcheck(&["gen", "--results", "ten", "--out", "x"]);
    assert!(!ok);
    assert!(stderr.contains("--results"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[[token]]\nsha256 = \"abc\"\nrole = \"lab\"\nsubject = \"x\"\n",
    )
    .unwrap();
    let (ok, _, stderr) = spotcheck(&[
        "up",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--brokers",
        "127.0.0.1:1",
    ]);
    assert!(!ok);
    assert!(stderr.contains("64 hex digits"), "{stderr}");
}

#[test]
fn every_command_has_help() {
    for command in [
        &["--help"][..],
        &["up", "--help"],
        &["ingest", "--help"],
        &["gen", "--help"],
        &["post", "--help"],
        &["token", "new", "--help"],
        &["broker", "--help"],
    ] {
        let (ok, stdout, _) = spotcheck(command);
        assert!(ok && stdout.contains("Usage"), "{command:?}");
    }
}
