//! `spotcheck post --url URL --token TOKEN FILE...`: sends files to the API in batches, with a
//! progress bar, retrying while the API answers 503, then prints what was accepted, what was a
//! duplicate and what was rejected (with file line numbers).

use crate::cli::PostArgs;
use anyhow::{Context, Result, bail};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use spotcheck_runtime::retry::{self, Retryable};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod chunks;
use chunks::Chunk;

/// Rejections printed in full; the rest are counted.
const SHOWN_REJECTIONS: usize = 20;
/// Attempts per chunk. While ingest cannot be reached the wait doubles from 0.5 s to 30 s, so 20
/// attempts wait about 7 minutes: long enough for an ingest restarting after a crash, which
/// catches its ledger up with the topics before it listens (10 attempts ran out during a
/// crash-harness restart at 100,000 results). A 503's `retry-after` sets the wait instead.
const MAX_ATTEMPTS: usize = 20;

#[derive(Default)]
struct Totals {
    accepted: u64,
    duplicate: u64,
    rejected: u64,
    rejections: Vec<String>,
}

pub async fn run(args: PostArgs) -> Result<ExitCode> {
    anyhow::ensure!(args.batch_size > 0, "--batch-size must be at least 1");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .context("cannot create the HTTP client")?;
    let mut totals = Totals::default();
    let started = Instant::now();
    let mut records = 0u64;
    for file in &args.files {
        let target = route_for(&args.url, file)?;
        // Units are upserted one by one (PUT /v1/units/{uscc}).
        let batch_size = match target {
            Target::Batch(_) => args.batch_size,
            Target::EachUnit(_) => 1,
        };
        let chunks = chunks::read(file, batch_size)?;
        records += chunks.iter().map(|c| c.lines.len() as u64).sum::<u64>();
        post_file(&client, &args, &target, file, chunks, &mut totals).await?;
    }
    // A workbook's records are counted by the server's answer.
    let answered = totals.accepted + totals.duplicate + totals.rejected;
    print_summary(&totals, records.max(answered), started.elapsed());
    Ok(if totals.rejected == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Where a file's records go.
enum Target {
    /// POSTed in batches to this route.
    Batch(reqwest::Url),
    /// PUT one by one to `<base>/v1/units/{uscc}`.
    EachUnit(reqwest::Url),
}

impl Target {
    /// One chunk's request: method, URL, content type and body.
    fn request(&self, chunk: &Chunk) -> Result<Request> {
        match self {
            Target::Batch(url) => Ok(Request {
                method: reqwest::Method::POST,
                url: url.clone(),
                content_type: chunk.content_type,
                body: chunk.body.clone(),
            }),
            Target::EachUnit(base) => {
                let unit = match serde_json::from_slice(&chunk.body)
                    .context("a unit must be a JSON object")?
                {
                    Value::Array(mut one) if one.len() == 1 => one.remove(0),
                    other => other,
                };
                let uscc = unit["uscc"].as_str().context("a unit has no \"uscc\"")?;
                let url = base
                    .join(&format!("v1/units/{uscc}"))
                    .context("cannot build the unit's URL")?;
                Ok(Request {
                    method: reqwest::Method::PUT,
                    url,
                    content_type: "application/json",
                    body: serde_json::to_vec(&unit)?,
                })
            }
        }
    }
}

struct Request {
    method: reqwest::Method,
    url: reqwest::Url,
    content_type: &'static str,
    body: Vec<u8>,
}

/// A full route is used as given; a base URL gets the route that fits the file's name.
fn route_for(url: &str, file: &Path) -> Result<Target> {
    let mut url = reqwest::Url::parse(url).with_context(|| format!("--url {url} is not a URL"))?;
    if url.path().contains("/v1/") {
        return Ok(Target::Batch(url));
    }
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let route = if name.contains("shipment") {
        "v1/shipments"
    } else if name.contains("disposition") {
        "v1/dispositions"
    } else if name.contains("unit") {
        return Ok(Target::EachUnit(url));
    } else {
        "v1/results"
    };
    Ok(Target::Batch(
        url.join(route).context("cannot build the route URL")?,
    ))
}

async fn post_file(
    client: &reqwest::Client,
    args: &PostArgs,
    target: &Target,
    file: &Path,
    chunks: Vec<Chunk>,
    totals: &mut Totals,
) -> Result<()> {
    let count: usize = chunks.iter().map(|c| c.lines.len()).sum();
    let bar = ProgressBar::new(count as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} records ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(file.display().to_string());
    let mut answers = futures::stream::iter(chunks)
        .map(|chunk| async move {
            let answer = send(client, target, &args.token, &chunk).await;
            (chunk, answer)
        })
        .buffer_unordered(args.concurrency.max(1));
    while let Some((chunk, answer)) = answers.next().await {
        let answer = answer.with_context(|| {
            format!(
                "{}: lines {}..",
                file.display(),
                chunk.lines.first().unwrap_or(&0)
            )
        })?;
        tally(&answer, &chunk, file, totals);
        bar.inc(chunk.lines.len() as u64);
    }
    bar.finish_and_clear();
    Ok(())
}

/// Why a send failed, and whether to send again.
enum Failure {
    /// 503: the API cannot take records now; `retry-after` may say when to come back.
    Unavailable(Option<Duration>),
    /// No connection, or a request cut off mid-way (the server restarted).
    Unreachable(reqwest::Error),
    /// Anything else: sending again would not help.
    Final(anyhow::Error),
}

/// Sends one chunk, retrying on 503 and failed connections or requests (re-sending is safe:
/// the API answers a record it already has as a duplicate).
async fn send(
    client: &reqwest::Client,
    target: &Target,
    token: &str,
    chunk: &Chunk,
) -> Result<Value> {
    let request = target.request(chunk)?;
    let attempt = || async {
        let response = client
            .request(request.method.clone(), request.url.clone())
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, request.content_type)
            .body(request.body.clone())
            .send()
            .await
            .map_err(|error| {
                if error.is_connect() || error.is_timeout() || error.is_request() {
                    Failure::Unreachable(error)
                } else {
                    Failure::Final(anyhow::Error::new(error).context("the request failed"))
                }
            })?;
        if response.status().as_u16() == 503 {
            return Err(Failure::Unavailable(retry_after(&response)));
        }
        answer_of(response).await.map_err(Failure::Final)
    };
    let answered = attempt
        .retry(
            retry::doubling(Duration::from_millis(500), Duration::from_secs(30))
                .with_max_times(MAX_ATTEMPTS - 1),
        )
        .when(|failure| !matches!(failure, Failure::Final(_)))
        .adjust(|failure, wait| match failure {
            Failure::Unavailable(Some(asked)) => wait.map(|_| *asked),
            _ => wait,
        })
        .notify(|failure, _| {
            if let Failure::Unreachable(error) = failure {
                tracing::warn!(%error, "cannot reach the API; retrying");
            }
        })
        .await;
    answered.or_else(|failure| match failure {
        Failure::Unavailable(_) => {
            bail!("the API stayed unavailable after {MAX_ATTEMPTS} attempts")
        }
        Failure::Unreachable(error) => Err(error).context("the request failed"),
        Failure::Final(error) => Err(error),
    })
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds.clamp(1, 60)))
}

/// The batch answer; a single-record 409/422 is turned into the batch shape.
async fn answer_of(response: reqwest::Response) -> Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match status.as_u16() {
        200..=299 => Ok(body),
        409 | 422 => Ok(
            serde_json::json!({"accepted": [], "rejected": [{"line": 1, "errors": body["errors"]}]}),
        ),
        _ => bail!(
            "the API answered {status}: {}",
            body["error"].as_str().unwrap_or("no explanation")
        ),
    }
}

fn tally(answer: &Value, chunk: &Chunk, file: &Path, totals: &mut Totals) {
    for entry in answer["accepted"].as_array().into_iter().flatten() {
        match entry["status"].as_str() {
            Some("duplicate") => totals.duplicate += 1,
            _ => totals.accepted += 1,
        }
    }
    for entry in answer["rejected"].as_array().into_iter().flatten() {
        totals.rejected += 1;
        if totals.rejections.len() < SHOWN_REJECTIONS {
            let line = entry["line"]
                .as_u64()
                .map_or(0, |l| chunk.file_line(l as usize));
            let errors: Vec<String> = entry["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    let field = e["field"].as_str().unwrap_or("");
                    let message = e["message"].as_str().unwrap_or("");
                    // A sheet's error names its column as the sheet writes it.
                    match e["column"].as_str() {
                        Some(column) => format!("{column} ({field}): {message}"),
                        None => format!("{field}: {message}"),
                    }
                })
                .collect();
            // A workbook with results on several sheets names the row's sheet.
            let sheet = entry["sheet"]
                .as_str()
                .map_or_else(String::new, |sheet| format!("{sheet}:"));
            totals.rejections.push(format!(
                "{}:{sheet}{line}: {}",
                file.display(),
                errors.join("; ")
            ));
        }
    }
}

fn print_summary(totals: &Totals, records: u64, elapsed: Duration) {
    let rate = records as f64 / elapsed.as_secs_f64().max(1e-9);
    println!(
        "posted {records} records in {:.1} s ({rate:.0}/s): {} accepted, {} duplicate, {} rejected",
        elapsed.as_secs_f64(),
        totals.accepted,
        totals.duplicate,
        totals.rejected
    );
    for rejection in &totals.rejections {
        println!("  rejected {rejection}");
    }
    if totals.rejected as usize > totals.rejections.len() {
        println!(
            "  ... and {} more",
            totals.rejected as usize - totals.rejections.len()
        );
    }
}
