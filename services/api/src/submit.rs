//! The path every posted batch takes: parse each record, ask the ledger what it has seen, publish
//! the new ones and wait for the broker, record them, and answer per record.
//!
//! 202 means every record listed as `accepted` is acknowledged by the broker (`acks=all`). When
//! the broker fails or does not answer within the delivery timeout, the answer is 503 and the
//! records it did not take are not listed as accepted; a retry re-sends them (the ones that made
//! it answer `duplicate`, the ones still awaiting the broker's answer get 503 again).

use crate::access::Caller;
use crate::app::App;
use crate::body::{self, Records, Shape, Submitted};
use crate::error::ApiError;
use crate::intake::{Concern, Intake, ParseContext};
use crate::ledger::{ContentHash, Ledger, Seen, Stored, content_hash};
use axum::body::Body;
use axum::extract::FromRef;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};
use spotcheck_analytics::Analytics;
use spotcheck_runtime::{CloudEvent, Delivery, Position, PublishError};
use spotcheck_schemas::FieldError;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use utoipa::ToSchema;

/// Bodies up to this size are parsed on the request's own task (a few records: less than the
/// cost of handing them to another thread).
const PARSE_INLINE_BYTES: usize = 16 * 1024;

/// The answer to a posted batch (and to an accepted single record): the body of every `202`,
/// and what `/openapi.json` says of it.
#[derive(Serialize, ToSchema)]
pub struct SubmitResponse {
    /// `{"<label field>": "...", "status": "accepted" | "duplicate"}` per record taken; for a
    /// result sheet, plan `warnings` beside an accepted one.
    #[schema(value_type = Vec<Object>)]
    accepted: Vec<Value>,
    /// `{"line": N, "<label field>": "...", "errors": [{"field", "message"}]}` per record refused;
    /// for a result sheet, `line` is the row number and each error also names its `column`, and
    /// for a workbook with results on several sheets, `sheet` names the row's sheet.
    #[schema(value_type = Vec<Object>)]
    rejected: Vec<Value>,
    /// For a result sheet: headers that no field takes (not read).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>)]
    ignored_columns: Option<Vec<String>>,
}

/// The answer for one record.
enum Outcome {
    /// Acknowledged by the broker.
    Accepted,
    Duplicate,
    Rejected(Vec<FieldError>),
    Conflict(FieldError),
    /// The broker did not take it; nothing is stored.
    Unavailable,
}

/// One submitted record after parsing: its line, how to name it, and what to publish.
struct Prepared {
    line: usize,
    sheet: Option<std::sync::Arc<str>>,
    label: Option<String>,
    ready: Result<Ready, Vec<FieldError>>,
    /// What reading the record left out ([`Submitted::notes`]).
    notes: Vec<Value>,
}

/// A record that parsed: what to publish and how to name it.
struct Ready {
    id: String,
    key: String,
    label: String,
    payload: Vec<u8>,
    hash: ContentHash,
    /// The sampling the plan checks judge (results).
    plan: Option<spotcheck_analytics::PlannedSampling>,
    /// The record it is about ([`Intake::concerns`]).
    concerns: Option<Concern>,
}

/// A parsed body: its shape, its records, and for a sheet the headers no field takes.
type Parsed = (Shape, Vec<Prepared>, Option<Vec<String>>);

/// What taking records in reads besides the shared state: the ledger of records taken, and the
/// lake (the plan's warnings on accepted results). The state of the intake routes.
#[derive(Clone, FromRef)]
pub struct Desk {
    pub app: App,
    pub ledger: Arc<Ledger>,
    pub lake: Arc<Analytics>,
}

/// Handles `POST` of records of kind `R` by `caller` (admitted by the route's guard).
pub async fn submit<R: Intake>(
    desk: &Desk,
    caller: Caller,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    submit_at::<R>(desk, caller, headers, body, None).await
}

/// As [`submit`], for a route that names the record in its path (`PUT /v1/units/{uscc}`).
pub async fn submit_at<R: Intake>(
    desk: &Desk,
    caller: Caller,
    headers: &HeaderMap,
    body: Body,
    path_id: Option<String>,
) -> Response {
    match submit_inner::<R>(desk, caller, headers, body, path_id).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn submit_inner<R: Intake>(
    desk: &Desk,
    caller: Caller,
    headers: &HeaderMap,
    body: Body,
    path_id: Option<String>,
) -> Result<Response, ApiError> {
    let bytes = body::read(body, desk.app.limits).await?;
    // Counted until the answer: a large body holds the stages of this process back meanwhile.
    let _carrying = desk.app.bursts.carrying(bytes.len());
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let content_type = content_type.map(str::to_owned);
    let context = ParseContext {
        today: desk.app.today(),
        path_id,
    };
    let limits = desk.app.limits;
    let inline = bytes.len() <= PARSE_INLINE_BYTES;
    let parse = move || -> Result<Parsed, ApiError> {
        let sheet_lab = R::SHEETS.then_some(caller.subject.as_str());
        let Records {
            shape,
            records,
            columns,
            ignored_columns,
        } = body::split(content_type.as_deref(), &bytes, limits, sheet_lab)?;
        if context.path_id.is_some() && shape != Shape::Single {
            return Err(ApiError::bad_request(format!(
                "this route takes one {} as a JSON object",
                R::KIND
            )));
        }
        // Only a sheet's answer carries plan warnings: nothing to keep for them otherwise.
        let plans = columns.is_some();
        let mut prepared: Vec<Prepared> = records
            .into_iter()
            .map(|submitted| prepare::<R>(submitted, &context, &caller, plans))
            .collect::<Result<_, _>>()?;
        // A sheet: people read the answer (columns named, plan warnings given); `None` else.
        let sheet = columns.map(|columns| {
            for record in &mut prepared {
                if let Err(errors) = &mut record.ready {
                    columns.name_columns(errors);
                }
            }
            ignored_columns
        });
        Ok((shape, prepared, sheet))
    };
    // Parsing and validating a large body takes milliseconds of a core: on a blocking thread,
    // so that the runtime's workers keep answering other requests and serving the broker.
    let (shape, prepared, sheet) = if inline {
        parse()?
    } else {
        tokio::task::spawn_blocking(parse)
            .await
            .map_err(|error| ApiError::internal(format!("parsing the body failed: {error}")))??
    };
    let (prepared, outcomes) = take_in_detached::<R>(desk, prepared).await?;
    desk.app
        .metrics
        .count_outcomes(R::KIND, outcomes.iter().map(outcome_label));
    let mut warnings = match &sheet {
        Some(_) => plan_warnings(desk, &prepared, &outcomes).await,
        None => HashMap::new(),
    };
    unknown_subjects(desk, &prepared, &outcomes, &mut warnings);
    // What reading left out of an accepted record, said beside it.
    for (position, (record, outcome)) in prepared.iter().zip(&outcomes).enumerate() {
        if matches!(outcome, Outcome::Accepted) && !record.notes.is_empty() {
            warnings
                .entry(position)
                .or_default()
                .extend(record.notes.iter().cloned());
        }
    }
    let ignored_columns = sheet.unwrap_or_default();
    Ok(respond::<R>(
        shape,
        &prepared,
        outcomes,
        ignored_columns,
        &warnings,
    ))
}

/// Warns of each accepted record whose subject this ingest has not taken ([`Intake::concerns`]):
/// a disposition for a result no lab has posted (yet), often a mistyped `lab_id` or `report_no`,
/// or a withdrawal of a disposition never posted. It is kept all the same, and applies when what
/// it concerns comes. (An ingest run alone knows what it has taken and what was on the topics
/// when it started.)
fn unknown_subjects(
    desk: &Desk,
    prepared: &[Prepared],
    outcomes: &[Outcome],
    warnings: &mut HashMap<usize, Vec<Value>>,
) {
    for (position, (record, outcome)) in prepared.iter().zip(outcomes).enumerate() {
        let Some(concern) = record.ready.as_ref().ok().and_then(|r| r.concerns.as_ref()) else {
            continue;
        };
        if !matches!(outcome, Outcome::Accepted) || desk.ledger.has(&concern.id).unwrap_or(true) {
            continue;
        }
        warnings.entry(position).or_default().push(json!({
            "kind": "no_such_record",
            "message": concern.missing,
        }));
    }
}

/// The plan checks' warnings on the records of a sheet just accepted (six-month repeats of
/// results in the lake, licences the producer lacks), by position in the request. The records
/// are taken already: a check that cannot run leaves the answer without warnings (they are in
/// the `warnings` view once the lake has the records), it never fails the request.
async fn plan_warnings(
    desk: &Desk,
    prepared: &[Prepared],
    outcomes: &[Outcome],
) -> HashMap<usize, Vec<Value>> {
    let analytics = &desk.lake;
    let (positions, plans): (Vec<usize>, Vec<spotcheck_analytics::PlannedSampling>) = prepared
        .iter()
        .zip(outcomes)
        .enumerate()
        .filter(|(_, (_, outcome))| matches!(outcome, Outcome::Accepted))
        .filter_map(|(position, (record, _))| {
            let plan = record.ready.as_ref().ok()?.plan.clone()?;
            Some((position, plan))
        })
        .unzip();
    if plans.is_empty() {
        return HashMap::new();
    }
    match analytics.plan_check(&plans).await {
        Ok(findings) => {
            let mut warnings: HashMap<usize, Vec<Value>> = HashMap::new();
            for finding in findings {
                if let Some(position) = positions.get(finding.index) {
                    warnings.entry(*position).or_default().push(json!(finding));
                }
            }
            warnings
        }
        Err(error) => {
            tracing::warn!(%error, "the plan checks of a sheet could not run");
            HashMap::new()
        }
    }
}

/// Parses and authorizes one record. A record posted as another lab fails the whole request (403).
fn prepare<R: Intake>(
    submitted: Submitted,
    context: &ParseContext,
    caller: &Caller,
    plans: bool,
) -> Result<Prepared, ApiError> {
    let Submitted {
        line,
        value,
        problems,
        sheet,
        notes,
    } = submitted;
    let value = match value {
        Ok(value) => value,
        Err(error) => {
            return Ok(Prepared {
                line,
                sheet,
                label: None,
                ready: Err(vec![error]),
                notes,
            });
        }
    };
    let label = R::label_of(&value);
    let parsed = R::parse(&value, context);
    let record = match parsed {
        Ok(record) if problems.is_empty() => record,
        Ok(_) => {
            return Ok(Prepared {
                line,
                sheet,
                label,
                ready: Err(problems),
                notes,
            });
        }
        Err(errors) => {
            // A cell that could not be read was left out: its field's "is required" is noise,
            // and so is all the rest when the row was refused as a whole (a 检验类别 that is no
            // spot check).
            let mut all = problems;
            let whole = all.iter().any(|p| p.field.is_empty());
            let more: Vec<FieldError> = errors
                .into_iter()
                .filter(|e| !whole && !all.iter().any(|p| p.field == e.field))
                .collect();
            all.extend(more);
            return Ok(Prepared {
                line,
                sheet,
                label,
                ready: Err(all),
                notes,
            });
        }
    };
    if let Err(error) = record.authorize(caller) {
        return Err(ApiError::forbidden(format!(
            "line {line}: this token may not post this {}",
            R::KIND
        ))
        .with_errors(vec![error]));
    }
    let payload = serde_json::to_vec(&record)
        .map_err(|e| ApiError::internal(format!("cannot encode the record: {e}")))?;
    let ready = Ready {
        id: record.record_id(),
        key: record.key(),
        label: record.label(),
        hash: content_hash(&payload),
        payload,
        plan: if plans { record.plan() } else { None },
        concerns: record.concerns(),
    };
    Ok(Prepared {
        line,
        sheet,
        label: Some(ready.label.clone()),
        ready: Ok(ready),
        notes,
    })
}

/// [`take_in`] as a task of its own, finished even when the client goes away first (its timeout,
/// a crash): records handed to the producer may still reach the broker, and the ledger must
/// learn their fate and release their claims, or a re-send would wait on the claim forever or
/// be published twice.
async fn take_in_detached<R: Intake>(
    desk: &Desk,
    prepared: Vec<Prepared>,
) -> Result<(Vec<Prepared>, Vec<Outcome>), ApiError> {
    let desk = desk.clone();
    let task = tokio::spawn(async move {
        let outcomes = take_in::<R>(&desk, &prepared).await;
        (prepared, outcomes)
    });
    let (prepared, outcomes) = task
        .await
        .map_err(|error| ApiError::internal(format!("taking records in failed: {error}")))?;
    Ok((prepared, outcomes?))
}

/// Decides each record's outcome, publishing the new ones. Waits for the broker at most the
/// publisher's delivery timeout (twice that when it first waits on another request's claims);
/// the records' fates are settled in the ledger whenever the broker answers.
async fn take_in<R: Intake>(desk: &Desk, prepared: &[Prepared]) -> Result<Vec<Outcome>, ApiError> {
    let ready: Vec<&Ready> = prepared
        .iter()
        .filter_map(|p| p.ready.as_ref().ok())
        .collect();
    let items: Vec<(String, ContentHash)> = ready.iter().map(|r| (r.id.clone(), r.hash)).collect();
    let wait = desk.app.publisher.delivery_timeout();
    let claims_deadline = Instant::now() + wait;
    // A claim held elsewhere settles when the broker answers: not soon while it is down.
    let give_up = || Instant::now() >= claims_deadline || desk.app.publisher.believed_down();
    let seen = desk
        .ledger
        .claim(&items, give_up)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let new: Vec<&Ready> = ready
        .iter()
        .zip(&seen)
        .filter(|(_, s)| **s == Seen::New)
        .map(|(r, _)| *r)
        .collect();
    let deliveries = enqueue_all::<R>(desk, &new).await;
    let claimed: Vec<(String, ContentHash)> = new.iter().map(|r| (r.id.clone(), r.hash)).collect();
    let (answer, answered) = tokio::sync::oneshot::channel();
    tokio::spawn(settle_when_answered::<R>(
        desk.clone(),
        claimed,
        deliveries,
        answer,
    ));
    let published = match tokio::time::timeout(wait, answered).await {
        Ok(outcomes) => outcomes
            .map_err(|error| ApiError::internal(format!("settling records failed: {error}")))?,
        // Not answered in time: 503 for all of them; a re-send finds out what became of each.
        Err(_) => new.iter().map(|_| Outcome::Unavailable).collect(),
    };
    let mut seen = seen.into_iter();
    let mut published = published.into_iter();
    let outcomes = prepared
        .iter()
        .map(|p| match &p.ready {
            Err(errors) => Outcome::Rejected(errors.clone()),
            Ok(ready) => match seen.next() {
                Some(Seen::New) => published.next().unwrap_or(Outcome::Unavailable),
                Some(Seen::Duplicate) => Outcome::Duplicate,
                Some(Seen::InFlight) => Outcome::Unavailable,
                Some(Seen::Conflict) | None => Outcome::Conflict(conflict_error::<R>(&ready.label)),
            },
        })
        .collect();
    Ok(outcomes)
}

/// Hands every new record to the producer (without waiting for the broker).
async fn enqueue_all<R: Intake>(
    desk: &Desk,
    new: &[&Ready],
) -> Vec<Result<Delivery, PublishError>> {
    let mut deliveries = Vec::with_capacity(new.len());
    for ready in new {
        let event = CloudEvent::new(ready.id.clone(), R::EVENT_TYPE, desk.app.source.clone());
        let delivery = desk
            .app
            .publisher
            .enqueue(R::TOPIC, &ready.key, &ready.payload, event.headers())
            .await;
        deliveries.push(delivery);
    }
    deliveries
}

/// Waits for the broker's answer on every record, however long it takes, sends each record's
/// outcome to `answer` (the request answers the lab from it), then records the acknowledged ones
/// in the ledger and releases every claim. The lab does not wait for the ledger's disk: a repeat
/// that arrives meanwhile waits on the claim and then finds the record, and a crash before the
/// ledger's commit is made good by its catch-up from the topics at the next start.
async fn settle_when_answered<R: Intake>(
    desk: Desk,
    claimed: Vec<(String, ContentHash)>,
    deliveries: Vec<Result<Delivery, PublishError>>,
    answer: tokio::sync::oneshot::Sender<Vec<Outcome>>,
) {
    let fates = futures::future::join_all(deliveries.into_iter().map(|delivery| async {
        match delivery {
            Ok(delivery) => delivery.acknowledged().await,
            Err(error) => Err(error),
        }
    }))
    .await;
    let stored: Vec<Stored> = claimed
        .iter()
        .zip(&fates)
        .filter_map(|((id, hash), fate)| {
            let position = fate.as_ref().ok()?;
            Some(Stored {
                id: id.clone(),
                hash: *hash,
                topic: R::TOPIC,
                partition: position.partition,
                offset: position.offset,
            })
        })
        .collect();
    let ids: Vec<String> = claimed.into_iter().map(|(id, _)| id).collect();
    // The request may have given up waiting (its timeout): the ledger is settled all the same.
    let _ = answer.send(fates.into_iter().map(outcome_of_fate).collect());
    // A commit waits for the disk: off the threads that answer requests and run the broker.
    let settled = tokio::task::spawn_blocking(move || {
        desk.ledger.settle(&stored, &ids).map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|error| Err(error.to_string()));
    if let Err(error) = settled {
        // The broker has them, which is what 202 promises; a repeat will be published again
        // and absorbed downstream by its record id. The ledger saves no position from now on,
        // so the next start indexes them from the topics.
        tracing::error!(
            %error,
            "records acknowledged by the broker but not indexed; they are indexed at the next start"
        );
    }
}

fn outcome_of_fate(fate: Result<Position, PublishError>) -> Outcome {
    match fate {
        Ok(_) => Outcome::Accepted,
        Err(PublishError::Unavailable(why)) => {
            tracing::warn!(%why, "broker unavailable");
            Outcome::Unavailable
        }
        Err(PublishError::Refused(why)) => Outcome::Rejected(vec![FieldError::new(
            "",
            format!("the message broker refused this record: {why}"),
        )]),
    }
}

fn conflict_error<R: Intake>(label: &str) -> FieldError {
    FieldError::new(
        R::LABEL,
        format!(
            "{} {label} was already accepted with different content; a correction needs a new {}",
            R::LABEL,
            R::LABEL
        ),
    )
}

fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Accepted => "accepted",
        Outcome::Duplicate => "duplicate",
        Outcome::Rejected(_) => "rejected",
        Outcome::Conflict(_) => "conflict",
        Outcome::Unavailable => "unavailable",
    }
}

/// Builds the response: the batch body, or for a single object the status of its one record.
/// A sheet's headers that no field takes are listed as `ignored_columns`.
fn respond<R: Intake>(
    shape: Shape,
    prepared: &[Prepared],
    outcomes: Vec<Outcome>,
    ignored_columns: Vec<String>,
    warnings: &HashMap<usize, Vec<Value>>,
) -> Response {
    if shape == Shape::Single
        && let Some(response) = outcomes.first().and_then(single_failure::<R>)
    {
        return response;
    }
    let unavailable = outcomes.iter().any(|o| matches!(o, Outcome::Unavailable));
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    for (position, (record, outcome)) in prepared.iter().zip(outcomes).enumerate() {
        let label = record.label.clone().map_or(Value::Null, Value::String);
        match outcome {
            Outcome::Accepted => {
                let mut taken = entry(R::LABEL, label, "accepted");
                if let Some(found) = warnings.get(&position) {
                    taken["warnings"] = json!(found);
                }
                accepted.push(taken);
            }
            Outcome::Duplicate => accepted.push(entry(R::LABEL, label, "duplicate")),
            Outcome::Rejected(errors) => {
                rejected.push(rejection(R::LABEL, record, label, errors));
            }
            Outcome::Conflict(error) => {
                rejected.push(rejection(R::LABEL, record, label, vec![error]));
            }
            Outcome::Unavailable => {}
        }
    }
    if unavailable {
        let mut response = ApiError::unavailable(5).into_response();
        *response.body_mut() = Body::from(
            json!({"error": "the message broker is unavailable; only the records listed as accepted were stored, retry the rest later",
                   "accepted": accepted})
            .to_string(),
        );
        return response;
    }
    let body = SubmitResponse {
        accepted,
        rejected,
        ignored_columns: (!ignored_columns.is_empty()).then_some(ignored_columns),
    };
    (StatusCode::ACCEPTED, axum::Json(body)).into_response()
}

/// A single object that was not taken: 422 when invalid, 409 for a conflict.
fn single_failure<R: Intake>(outcome: &Outcome) -> Option<Response> {
    let (status, message, errors) = match outcome {
        Outcome::Rejected(errors) => {
            let noun = if errors.len() == 1 {
                "problem"
            } else {
                "problems"
            };
            let message = format!("the {} is invalid: {} {noun}", R::KIND, errors.len());
            (StatusCode::UNPROCESSABLE_ENTITY, message, errors.clone())
        }
        Outcome::Conflict(error) => {
            let message = format!("this {} conflicts with one already accepted", R::KIND);
            (StatusCode::CONFLICT, message, vec![error.clone()])
        }
        _ => return None,
    };
    Some(
        ApiError::new(status, message)
            .with_errors(errors)
            .into_response(),
    )
}

fn entry(label_field: &str, label: Value, status: &str) -> Value {
    let mut map = Map::new();
    map.insert(label_field.to_owned(), label);
    map.insert("status".into(), Value::String(status.into()));
    Value::Object(map)
}

fn rejection(label_field: &str, record: &Prepared, label: Value, errors: Vec<FieldError>) -> Value {
    let mut map = Map::new();
    map.insert("line".into(), json!(record.line));
    if let Some(sheet) = &record.sheet {
        map.insert("sheet".into(), json!(sheet));
    }
    map.insert(label_field.to_owned(), label);
    map.insert("errors".into(), json!(errors));
    Value::Object(map)
}
