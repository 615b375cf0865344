//! Who may do what (docs/contract.md §3): every route with no token, a wrong token, and each role —
//! 401 without a valid token, 403 for a role the route does not allow, and anything but those
//! for a role it does; the operational routes need no token. Then the whole log of the run is
//! searched for every token: none may appear, and the config holds only their hashes.

mod support;

use serde_json::{Value, json};
use support::Up;

const ROLES: [&str; 6] = ["lab", "ledger", "admin", "analyst", "feed", "inspector"];
/// The operational routes anyone may call (their handlers' guard is `Public`).
const PUBLIC: [&str; 4] = ["/metrics", "/healthz", "/readyz", "/openapi.json"];

struct Route {
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    allowed: &'static [&'static str],
}

fn routes() -> Vec<Route> {
    let unit = json!({"uscc": "91120104MA0000001X", "name": "某某商店", "district": "120104",
                      "roles": ["retailer"]});
    let shipment = json!([{"shipment_id": "S-SEC-1"}]);
    let disposition = json!({"disposition_id": "D-SEC-1"});
    vec![
        Route {
            method: "POST",
            path: "/v1/results",
            body: Some(support::result("TJ-SEC-1")),
            allowed: &["lab"],
        },
        Route {
            method: "POST",
            path: "/v1/shipments",
            body: Some(shipment),
            allowed: &["ledger", "admin"],
        },
        Route {
            method: "PUT",
            path: "/v1/units/91120104MA0000001X",
            body: Some(unit),
            allowed: &["admin"],
        },
        Route {
            method: "POST",
            path: "/v1/inspections",
            body: Some(json!({"inspection_id": "JC-SEC-1"})),
            allowed: &["inspector", "admin"],
        },
        Route {
            method: "POST",
            path: "/v1/dispositions",
            body: Some(disposition),
            allowed: &["admin"],
        },
        Route {
            method: "GET",
            path: "/v1/cases",
            body: None,
            allowed: &["admin", "analyst"],
        },
        Route {
            method: "GET",
            path: "/v1/cases/no-such-case",
            body: None,
            allowed: &["admin", "analyst"],
        },
        Route {
            method: "GET",
            path: "/v1/disclosures?wait=0",
            body: None,
            allowed: &["feed", "admin"],
        },
        Route {
            method: "POST",
            path: "/v1/sql",
            body: Some(json!({"sql": "SELECT 1"})),
            allowed: &["analyst"],
        },
    ]
}

fn call(up: &Up, route: &Route, token: Option<&str>) -> u16 {
    let client = reqwest::blocking::Client::new();
    let url = up.url(route.path);
    let mut request = match route.method {
        "GET" => client.get(url),
        "PUT" => client.put(url),
        _ => client.post(url),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = &route.body {
        request = request.json(body);
    }
    request.send().unwrap().status().as_u16()
}

#[test]
fn every_route_answers_each_role_as_the_contract_says_and_no_token_reaches_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(&dir.path().join("data"));
    let wrong = "sc_0000000000000000000000000000000000000000000000000000000000000000";
    let mut failures = Vec::new();
    for route in routes() {
        let name = format!("{} {}", route.method, route.path);
        for (who, token, expected) in [("no token", None, 401), ("a wrong token", Some(wrong), 401)]
        {
            let status = call(&up, &route, token);
            if status != expected {
                failures.push(format!("{name} with {who}: {status}, expected {expected}"));
            }
        }
        for role in ROLES {
            let status = call(&up, &route, Some(&up.token(role)));
            let allowed = route.allowed.contains(&role);
            let ok = if allowed {
                status != 401 && status != 403
            } else {
                status == 403
            };
            if !ok {
                let wanted = if allowed {
                    "neither 401 nor 403"
                } else {
                    "403"
                };
                failures.push(format!("{name} as {role}: {status}, expected {wanted}"));
            }
        }
    }
    for path in PUBLIC {
        let status = reqwest::blocking::get(up.url(path))
            .unwrap()
            .status()
            .as_u16();
        if status != 200 {
            failures.push(format!(
                "GET {path} without a token: {status}, expected 200"
            ));
        }
    }
    // Every route the API describes, not only the ones above: without a token, 401 — unless it
    // is one of the operational routes anyone may call.
    let document: Value = reqwest::blocking::get(up.url("/openapi.json"))
        .unwrap()
        .json()
        .unwrap();
    let paths = document["paths"]
        .as_object()
        .expect("the API describes its paths");
    assert!(
        paths.len() > routes().len(),
        "the description lists every route"
    );
    let client = reqwest::blocking::Client::new();
    for (template, operations) in paths {
        // `{case_id}` and the like: any value reaches the handler's guard.
        let path: String = template
            .split('/')
            .map(|part| if part.starts_with('{') { "x" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        for method in operations.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let status = client
                .request(method.clone(), up.url(&path))
                .send()
                .unwrap()
                .status()
                .as_u16();
            let open = PUBLIC.contains(&template.as_str());
            if open == (status == 401) {
                let wanted = if open { "not 401" } else { "401" };
                failures.push(format!(
                    "{method} {template} without a token: {status}, expected {wanted}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Tokens are never logged, and the config keeps only their SHA-256.
    let log = up.log_text();
    let config = std::fs::read_to_string(dir.path().join("data/config.toml")).unwrap();
    for role in ROLES {
        let token = up.token(role);
        assert!(!log.contains(&token), "the {role} token is in the log");
        assert!(
            !config.contains(&token),
            "the {role} token is in the config"
        );
    }
    assert!(
        !log.contains(wrong),
        "a presented wrong token is in the log"
    );
    assert!(log.lines().count() > 3, "the log was captured: {log}");
}

#[test]
fn a_client_that_trickles_its_body_gets_408_and_others_are_served_meanwhile() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let up = Up::start_configured(&data, "[limits]\nbody_timeout_secs = 2\n", &[]);

    let mut slow = std::net::TcpStream::connect(&up.http).unwrap();
    let head = format!(
        "POST /v1/results HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"report_no\":",
        up.http,
        up.token("lab")
    );
    slow.write_all(head.as_bytes()).unwrap();
    let started = std::time::Instant::now();
    // Meanwhile another client is served at once.
    let health = reqwest::blocking::get(up.url("/healthz")).unwrap();
    assert_eq!(health.status(), 200);
    slow.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut answer = [0u8; 256];
    let read = slow.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(2) && waited < std::time::Duration::from_secs(8),
        "answered after {waited:?}"
    );
}

#[test]
fn connections_over_the_limit_are_told_503_and_a_closed_one_frees_its_slot() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start_configured(
        &dir.path().join("data"),
        "[limits]\nmax_connections = 2\n",
        &[],
    );
    // Two slow clients hold both slots: each has sent half a request. A connection the server
    // has not let go of yet (the start-up probe's, closing) may still take a slot for a moment,
    // and a hold that meets it is refused (answered within the server's 1-s wait for a request
    // head): then it is tried again, so that the two holds are the ones the server serves
    // (silent, waiting for the rest of the request).
    let hold = || {
        use std::io::{Read, Write};
        let started = std::time::Instant::now();
        loop {
            let mut stream = std::net::TcpStream::connect(&up.http).unwrap();
            stream.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(3)))
                .unwrap();
            let mut answer = [0u8; 64];
            match stream.read(&mut answer) {
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => return stream,
                Err(error) if error.kind() == std::io::ErrorKind::TimedOut => return stream,
                _ => assert!(
                    started.elapsed() < std::time::Duration::from_secs(10),
                    "no slot came free for a held connection"
                ),
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let first = hold();
    let second = hold();

    // A third is refused once the server has taken both (it accepts in its own time).
    let started = std::time::Instant::now();
    let refused = loop {
        let response = reqwest::blocking::get(up.url("/healthz")).unwrap();
        if response.status() == 503 || started.elapsed() > std::time::Duration::from_secs(10) {
            break response;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().unwrap();
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("too many connections")),
        "{body}"
    );

    drop(first);
    let started = std::time::Instant::now();
    loop {
        let status = reqwest::blocking::get(up.url("/healthz")).unwrap().status();
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the closed connection's slot was not freed: still {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(second);
}
