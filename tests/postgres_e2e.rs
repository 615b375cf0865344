//! Analysts connect to `spotcheck up` with a real Postgres client (tokio-postgres, the library
//! behind many Rust tools; psql speaks the same protocol): user = token subject, password =
//! token. Queries run, trend views answer, and nothing that writes or reads files gets through,
//! over both the simple and the extended protocol.

mod support;

use std::time::{Duration, Instant};
use support::Up;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

async fn connect(up: &Up, user: &str, password: &str) -> Result<Client, tokio_postgres::Error> {
    let (host, port) = up.pg.split_once(':').unwrap();
    let config =
        format!("host={host} port={port} user={user} password={password} dbname=spotcheck");
    let (client, connection) = tokio_postgres::connect(&config, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// The rows of a simple query, each as its columns' text.
async fn simple_rows(
    client: &Client,
    sql: &str,
) -> Result<Vec<Vec<String>>, tokio_postgres::Error> {
    let messages = client.simple_query(sql).await?;
    Ok(messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).unwrap_or("NULL").to_owned())
                    .collect(),
            ),
            _ => None,
        })
        .collect())
}

fn post_results(up: &Up, reports: &[&str]) {
    let client = reqwest::blocking::Client::new();
    let body: String = reports
        .iter()
        .map(|r| format!("{}\n", support::result(r)))
        .collect();
    let response = client
        .post(up.url("/v1/results"))
        .bearer_auth(up.token("lab"))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
}

#[tokio::test(flavor = "multi_thread")]
async fn analysts_query_the_lake_over_the_postgres_protocol_and_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let up = tokio::task::block_in_place(|| {
        let up = Up::start(&dir.path().join("spotcheck"));
        post_results(&up, &["TJ-PG-1", "TJ-PG-2"]);
        up
    });
    let analyst = up.token("analyst");

    // The wrong password, or another role's token, is refused at login.
    assert!(connect(&up, "dev-analyst", "sc_not_a_token").await.is_err());
    assert!(connect(&up, "dev-lab", &up.token("lab")).await.is_err());
    assert!(
        connect(&up, "someone-else", &analyst).await.is_err(),
        "the user must be the token's subject"
    );

    let client = connect(&up, "dev-analyst", &analyst).await.unwrap();
    let started = Instant::now();
    loop {
        let rows = simple_rows(&client, "SELECT count(*) FROM results")
            .await
            .unwrap();
        if rows == [["2"]] {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{rows:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // A trend view over the simple protocol (what psql -c sends).
    let trend = simple_rows(
        &client,
        "SELECT category, results, failures FROM failure_rate_by_category_quarter",
    )
    .await
    .unwrap();
    assert_eq!(trend, [["gas_appliance", "2", "2"]]);

    // The extended protocol with a parameter (what drivers such as JDBC and tokio-postgres use).
    let rows = client
        .query(
            "SELECT report_no FROM results WHERE report_no = $1",
            &[&"TJ-PG-2"],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(0), "TJ-PG-2");

    for escape in [
        "CREATE EXTERNAL TABLE etc STORED AS CSV LOCATION '/etc/passwd'",
        "COPY (SELECT 1) TO '/tmp/spotcheck-pg-escape.csv'",
        "INSERT INTO results SELECT * FROM results",
        "DROP VIEW lab_volume",
        "CREATE TABLE t AS SELECT 1",
        "SET datafusion.runtime.memory_limit = '100G'",
        "SELECT * FROM '/etc/passwd'",
    ] {
        let simple = client.simple_query(escape).await;
        assert!(simple.is_err(), "{escape} passed the simple protocol");
        let extended = client.execute(escape, &[]).await;
        assert!(extended.is_err(), "{escape} passed the extended protocol");
    }
    assert!(!std::path::Path::new("/tmp/spotcheck-pg-escape.csv").exists());
    // Still two rows, and the view is still there.
    assert_eq!(
        simple_rows(&client, "SELECT count(*) FROM results")
            .await
            .unwrap(),
        [["2"]]
    );
    assert_eq!(
        simple_rows(&client, "SELECT sum(results) FROM lab_volume")
            .await
            .unwrap(),
        [["2"]]
    );
    drop(client);
    tokio::task::block_in_place(move || drop(up));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_over_the_limit_is_refused_as_too_many_and_a_freed_slot_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let up = tokio::task::block_in_place(|| {
        Up::start_configured(&data, "[sql]\nmax_connections = 2\n", &[])
    });
    let analyst = up.token("analyst");

    let first = connect(&up, "dev-analyst", &analyst).await.unwrap();
    let second = connect(&up, "dev-analyst", &analyst).await.unwrap();
    let refused = connect(&up, "dev-analyst", &analyst).await.err().unwrap();
    let reason = refused
        .as_db_error()
        .map(|e| (e.code().code().to_owned(), e.message().to_owned()));
    assert_eq!(
        reason.as_ref().map(|(code, _)| code.as_str()),
        Some("53300"),
        "{refused:?}"
    );
    // The two open connections still answer; closing one frees its slot.
    assert_eq!(simple_rows(&second, "SELECT 1").await.unwrap(), [["1"]]);
    drop(first);
    let started = Instant::now();
    loop {
        match connect(&up, "dev-analyst", &analyst).await {
            Ok(client) => {
                assert_eq!(simple_rows(&client, "SELECT 2").await.unwrap(), [["2"]]);
                break;
            }
            Err(error) => assert!(
                started.elapsed() < Duration::from_secs(10),
                "the freed slot was not reused: {error}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_logs_in_is_closed_and_its_slot_freed_while_sessions_stay_open() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let up = tokio::task::block_in_place(|| {
        Up::start_configured(
            &data,
            "[sql]\nmax_connections = 2\nlogin_timeout_secs = 1\n",
            &[],
        )
    });
    let analyst = up.token("analyst");
    let session = connect(&up, "dev-analyst", &analyst).await.unwrap();

    // A client that connects and says nothing holds the other slot ...
    let mut silent = tokio::net::TcpStream::connect(&up.pg).await.unwrap();
    let started = Instant::now();
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), silent.read(&mut buffer))
        .await
        .expect("the silent client was not closed within 10 s");
    // ... until the server closes it (end of stream, or a reset).
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "closed after {waited:?}"
    );

    // Its slot is free again, and the logged-in session, idle for longer than the login
    // timeout, still answers.
    let another = connect(&up, "dev-analyst", &analyst).await.unwrap();
    assert_eq!(simple_rows(&another, "SELECT 1").await.unwrap(), [["1"]]);
    assert_eq!(simple_rows(&session, "SELECT 2").await.unwrap(), [["2"]]);
    tokio::task::block_in_place(move || drop(up));
}
