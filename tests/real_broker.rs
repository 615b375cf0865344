//! Production shape: a Kafka-protocol broker as its own process (`spotcheck broker`, Tansu on
//! SlateDB) and every spotcheck component as its own process against it — the flows of
//! the embedded-broker tests, and two lake writers splitting the partitions, one killed.

mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::flows::{
    PRODUCER, SELLER, failing_results, final_result, generate, lines, poll_json, post, post_all,
    settled_cases, start_ingest, wait_for_count, wait_until,
};
use support::{Broker, Component};

#[test]
fn every_component_as_its_own_process_carries_a_result_to_the_lake_the_case_and_the_feed() {
    let tmp = tempfile::tempdir().unwrap();
    let broker = Broker::start(&tmp.path().join("broker"));
    let data = tmp.path().join("data");
    let (ingest, config) = start_ingest(&data, &broker);
    let with_config = ["--config", config.as_str()];
    let components: Vec<Component> = ["lake", "traceback", "credit", "analytics"]
        .iter()
        .map(|name| Component::start(name, &data, &broker.bootstrap, &with_config))
        .collect();
    let [_lake, traceback, credit, analytics] = components.as_slice() else {
        unreachable!()
    };
    let token = |role| support::dev_token(&data, role);

    let client = reqwest::blocking::Client::new();
    for (report_no, verdict) in [("TJ-REAL-FAIL-1", "fail"), ("TJ-REAL-PASS-1", "pass")] {
        let response = client
            .post(ingest.url("/v1/results"))
            .bearer_auth(token("lab"))
            .json(&final_result(report_no, verdict))
            .send()
            .unwrap();
        assert_eq!(response.status(), 202, "{}", response.text().unwrap());
    }
    // A stage's own HTTP server serves its reads only: a record posted to it finds no route,
    // and says where to look.
    let refused = client
        .post(traceback.url("/v1/results"))
        .bearer_auth(token("lab"))
        .json(&final_result("TJ-REAL-FAIL-2", "fail"))
        .send()
        .unwrap();
    assert_eq!(refused.status(), 404);
    let message = refused.text().unwrap();
    assert!(
        message.contains("this process serves no such route"),
        "{message}"
    );
    // Its API description says what it serves, and nothing else.
    let described: Value = client
        .get(traceback.url("/openapi.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut paths: Vec<&str> = described["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "/healthz",
            "/metrics",
            "/openapi.json",
            "/readyz",
            "/v1/cases",
            "/v1/cases/{case_id}",
            "/v1/identifications"
        ]
    );

    // Lake → SQL, from the analytics process.
    wait_for_count(
        analytics,
        &token("analyst"),
        "SELECT count(*) AS n FROM results",
        2,
    );
    // Traceback: one case, for the failing batch only.
    let cases = poll_json(&traceback.url("/v1/cases"), &token("admin"), |body| {
        !body["items"].as_array().unwrap().is_empty()
    });
    let items = cases["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{cases}");
    assert_eq!(items[0]["report_no"], "TJ-REAL-FAIL-1", "{cases}");
    // Credit: a publish for the seller and one for the producer, nothing for the pass.
    let feed = poll_json(
        &credit.url("/v1/disclosures?after="),
        &token("feed"),
        |body| body["items"].as_array().unwrap().len() >= 2,
    );
    let mut subjects: Vec<(String, String)> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["report_no"], "TJ-REAL-FAIL-1", "{d}");
            (
                d["action"].as_str().unwrap().to_owned(),
                d["subject"]["uscc"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            ("publish".to_owned(), SELLER.to_owned()),
            ("publish".to_owned(), PRODUCER.to_owned())
        ]
    );
    // Every process exports its stage's metrics.
    for (component, stage) in [(traceback, "traceback"), (credit, "credit")] {
        let metrics = client.get(component.url("/metrics")).send().unwrap();
        let text = metrics.text().unwrap();
        assert!(
            text.contains(&format!(
                "spotcheck_records_consumed_total{{stage=\"{stage}\""
            )),
            "{stage} metrics: {text}"
        );
    }
}

#[test]
fn two_lake_writers_split_the_partitions_and_one_killed_hands_over_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let broker = Broker::start(&tmp.join("broker"));
    let data = tmp.join("data");
    let (ingest, _) = start_ingest(&data, &broker);
    let generated = generate(tmp, 3000, 6000);
    let mut first = Component::start("lake", &data, &broker.bootstrap, &[]);
    let second = Component::start("lake", &data, &broker.bootstrap, &[]);
    let analytics = Component::start("analytics", &data, &broker.bootstrap, &[]);

    let shipments = generated.join("shipments.ndjson");
    let results = generated.join("results.ndjson");
    let posted = post(&ingest, &support::dev_token(&data, "ledger"), &shipments)
        .wait()
        .unwrap();
    assert!(posted.success());
    let mut posting = post(&ingest, &support::dev_token(&data, "lab"), &results);
    // Both members write part of the lake before one of them dies mid-load.
    let started = Instant::now();
    while !(first.log_text().contains("partitions rebalanced")
        && second.log_text().contains("partitions rebalanced"))
    {
        assert!(started.elapsed() < Duration::from_secs(60), "no split");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    first.kill();
    assert!(posting.wait().unwrap().success());

    let token = support::dev_token(&data, "analyst");
    let expected = lines(&results);
    wait_for_count(
        &analytics,
        &token,
        "SELECT count(*) AS n FROM results",
        expected,
    );
    wait_for_count(
        &analytics,
        &token,
        "SELECT count(DISTINCT report_no) AS n FROM results",
        expected,
    );
    wait_for_count(
        &analytics,
        &token,
        "SELECT count(*) AS n FROM result_items",
        support::items_in(&results),
    );
    wait_for_count(
        &analytics,
        &token,
        "SELECT count(*) AS n FROM shipments",
        lines(&shipments),
    );
    drop(second);
}

#[test]
fn two_traceback_instances_give_the_cases_one_gives_and_one_killed_hands_over() {
    let tmp = tempfile::tempdir().unwrap();
    let generated = generate(tmp.path(), 1500, 6000);
    let failing = failing_results(&generated.join("results.ndjson"));

    // One instance, undisturbed: the reference.
    let alone = {
        let broker = Broker::start(&tmp.path().join("broker-alone"));
        let data = tmp.path().join("alone");
        let (ingest, config) = start_ingest(&data, &broker);
        let _traceback = Component::start(
            "traceback",
            &data,
            &broker.bootstrap,
            &["--config", &config],
        );
        assert!(
            post_all(&ingest, &data, &generated)
                .wait()
                .unwrap()
                .success()
        );
        settled_cases(&broker.bootstrap, failing)
    };

    // Two instances sharing the batches; one killed while results are coming in.
    let broker = Broker::start(&tmp.path().join("broker-pair"));
    let data = tmp.path().join("pair");
    let (ingest, config) = start_ingest(&data, &broker);
    let with_config = ["--config", config.as_str()];
    let mut first = Component::start(
        "traceback",
        &data.join("first"),
        &broker.bootstrap,
        &with_config,
    );
    let second = Component::start(
        "traceback",
        &data.join("second"),
        &broker.bootstrap,
        &with_config,
    );
    let mut posting = post_all(&ingest, &data, &generated);
    let started = Instant::now();
    while !(first.log_text().contains("took results partitions over")
        && second.log_text().contains("took results partitions over"))
    {
        assert!(started.elapsed() < Duration::from_secs(60), "no split");
        std::thread::sleep(Duration::from_millis(200));
    }
    first.kill();
    assert!(posting.wait().unwrap().success());
    // The survivor takes the killed instance's partitions once the roster shows it gone;
    // only then is every partition applied by a live instance.
    wait_until(
        "the survivor takes the killed instance's partitions",
        || {
            second
                .log_text()
                .matches("took results partitions over")
                .count()
                >= 2
        },
    );
    let pair = settled_cases(&broker.bootstrap, failing);
    assert_eq!(pair.len(), alone.len());
    for (case_id, case) in &alone {
        assert_eq!(pair.get(case_id), Some(case), "{case_id} differs");
    }
}
