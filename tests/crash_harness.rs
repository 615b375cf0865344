//! The crash harness: every component its own process on the real broker (`spotcheck broker`,
//! SlateDB), a generated load posted while a random process — a component or the broker itself —
//! is SIGKILLed every few seconds and started again, then the invariants a regulator relies on:
//! - the lake holds every accepted record exactly once (results, their items, shipments), with
//!   kills during its appends, optimizes and vacuums;
//! - the cases equal those of an undisturbed run (newest revision of each);
//! - each disclosure (case, subject, action) is on the credit topic once, the same set as the
//!   undisturbed run's;
//! - nothing valid reached the dead-letter topic;
//! - (through the lake's counts) no record the broker acknowledged was lost by its kills.
//!
//! CI runs it small; the size is set by `CRASH_RESULTS` (default 2,000; shipments twice that),
//! `CRASH_KILL_EVERY_SECS` (default 5), `CRASH_KILLS` (at least this many, default 8: the stages
//! work on for a while after the last record is posted), `CRASH_SEED` and `CRASH_BROKER_STORAGE`
//! (`slatedb` by default, or `sqlite`). The full run:
//! `CRASH_RESULTS=100000 cargo test --release --test crash_harness -- --nocapture`.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::flows::{
    failing_results, generate, lines, post_all, settled_cases, start_ingest, wait_for_count,
};
use support::{Broker, Component, read_topic};

const CREDIT: &str = "spotcheck.credit.v1";
const DLQ: &str = "spotcheck.dlq.v1";

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small xorshift generator: the harness needs no more than a reproducible pick.
struct Pick(u64);

impl Pick {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }
}

/// (case, subject, action) of every disclosure on the credit topic, and how often each is there.
fn disclosures(brokers: &str) -> BTreeMap<(String, String, String), usize> {
    let mut seen = BTreeMap::new();
    for record in read_topic(brokers, CREDIT) {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let key = (
            text(&record.value["case_id"]),
            text(&record.value["subject"]["uscc"]),
            text(&record.value["action"]),
        );
        *seen.entry(key).or_default() += 1;
    }
    seen
}

/// The disclosures on the credit topic once no further one can come.
fn settled_disclosures(brokers: &str) -> BTreeMap<(String, String, String), usize> {
    support::wait_until_disclosed(brokers);
    disclosures(brokers)
}

/// The undisturbed run: broker, ingest, traceback and credit, nobody killed.
fn reference(tmp: &Path, generated: &Path, failing: usize) -> (BTreeMap<String, Value>, usize) {
    let broker = Broker::start(&tmp.join("broker-reference"));
    let data = tmp.join("reference");
    let (ingest, config) = start_ingest(&data, &broker);
    let with_config = ["--config", config.as_str()];
    let _traceback = Component::start("traceback", &data, &broker.bootstrap, &with_config);
    let _credit = Component::start("credit", &data, &broker.bootstrap, &with_config);
    assert!(
        post_all(&ingest, &data, generated)
            .wait()
            .unwrap()
            .success()
    );
    let cases = settled_cases(&broker.bootstrap, failing);
    let published = settled_disclosures(&broker.bootstrap);
    assert!(!published.is_empty(), "the undisturbed run discloses");
    (cases, published.len())
}

#[test]
fn random_sigkills_across_every_component_lose_nothing_and_invent_nothing() {
    let results = setting("CRASH_RESULTS", 2000) as usize;
    let kill_every = Duration::from_secs(setting("CRASH_KILL_EVERY_SECS", 5));
    let seed = setting("CRASH_SEED", 0x5eed_cafe);
    let min_kills = setting("CRASH_KILLS", 8) as usize;
    let tmp = tempfile::tempdir().unwrap();
    let generated = generate(tmp.path(), results, 2 * results);
    let results_file = generated.join("results.ndjson");
    let failing = failing_results(&results_file);

    let started = Instant::now();
    let (expected_cases, expected_disclosures) = reference(tmp.path(), &generated, failing);
    let reference_took = started.elapsed();

    let storage = std::env::var("CRASH_BROKER_STORAGE").unwrap_or_else(|_| "slatedb".into());
    let mut broker = Broker::start_with(&tmp.path().join("broker"), &storage);
    let data = tmp.path().join("disturbed");
    let (ingest, config) = start_ingest(&data, &broker);
    // The lake writer optimizes (a Z-order every other round) and vacuums every few seconds, so
    // kills land during those too.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[lake]\noptimize_every_secs = 3\nzorder_every_secs = 6\n");
    std::fs::write(&config, text).unwrap();
    let with_config = ["--config", config.as_str()];
    let mut components = vec![("ingest", ingest)];
    for name in ["lake", "traceback", "credit", "analytics"] {
        let component = Component::start(name, &data, &broker.bootstrap, &with_config);
        components.push((name, component));
    }

    // Post everything from another thread while components die around it.
    let done = Arc::new(AtomicBool::new(false));
    let poster = {
        let ingest_url = components[0].1.url("");
        let (data, generated, done) = (data.clone(), generated.clone(), done.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            let ok = post_all_to(&ingest_url, &data, &generated);
            done.store(true, Ordering::Relaxed);
            (ok, started.elapsed())
        })
    };
    let mut pick = Pick(seed | 1);
    let mut kills: BTreeMap<&str, usize> = BTreeMap::new();
    let mut total_kills = 0;
    while !done.load(Ordering::Relaxed) || total_kills < min_kills {
        std::thread::sleep(kill_every);
        total_kills += 1;
        // The second kill, and every sixth after it, is the broker's (mid-load, whatever the
        // seed); the others a random component's.
        if total_kills % 6 == 2 {
            broker.kill();
            *kills.entry("broker").or_default() += 1;
            broker.restart();
            continue;
        }
        let index = pick.next(components.len());
        let (name, component) = &mut components[index];
        component.kill();
        *kills.entry(name).or_default() += 1;
        component.restart();
    }
    let (posted, load_took) = poster.join().unwrap();
    assert!(posted, "posting the load failed");

    // Invariants.
    let analytics = &components[4].1;
    let analyst = support::dev_token(&data, "analyst");
    for (query, expected) in [
        ("SELECT count(*) AS n FROM results", lines(&results_file)),
        (
            "SELECT count(DISTINCT report_no) AS n FROM results",
            lines(&results_file),
        ),
        (
            "SELECT count(*) AS n FROM result_items",
            support::items_in(&results_file),
        ),
        (
            "SELECT count(*) AS n FROM shipments",
            lines(&generated.join("shipments.ndjson")),
        ),
    ] {
        wait_for_count(analytics, &analyst, query, expected);
    }
    let cases = settled_cases(&broker.bootstrap, failing);
    let differing = expected_cases
        .iter()
        .filter(|(id, case)| cases.get(*id) != Some(case))
        .count();
    assert_eq!(cases.len(), expected_cases.len());
    assert_eq!(differing, 0, "cases differ from the undisturbed run");
    let published = settled_disclosures(&broker.bootstrap);
    let twice: Vec<_> = published.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "published more than once: {twice:?}");
    assert_eq!(published.len(), expected_disclosures);
    let dead_letters = read_topic(&broker.bootstrap, DLQ).len();
    assert_eq!(dead_letters, 0, "valid records were dead-lettered");

    eprintln!(
        "crash harness: {} results ({} items), {} shipments, {} units posted in {load_took:?}; \
         {total_kills} SIGKILLs, one every {kill_every:?}: {kills:?}; lake rows = accepted \
         records exactly; {} cases identical to the undisturbed run ({reference_took:?}); \
         {} disclosures, each once; 0 dead letters",
        lines(&results_file),
        support::items_in(&results_file),
        lines(&generated.join("shipments.ndjson")),
        lines(&generated.join("units.ndjson")),
        cases.len(),
        published.len(),
    );
}

/// `post_all` against an ingest URL (the component itself is owned by the kill loop).
fn post_all_to(ingest_url: &str, data: &Path, generated: &Path) -> bool {
    let runs = [
        ("units.ndjson", "admin"),
        ("shipments.ndjson", "ledger"),
        ("results.ndjson", "lab"),
    ];
    runs.iter().all(|(file, role)| {
        std::process::Command::new(support::BIN)
            .args(["post", "--url", ingest_url, "--token"])
            .arg(support::dev_token(data, role))
            .arg(generated.join(file))
            .args(["--batch-size", "500"])
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}
