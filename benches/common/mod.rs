//! What the benchmarks that drive a real `spotcheck up` share: starting it, its dev tokens, the
//! machine's size, percentiles and knobs from the environment.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_spotcheck");

/// Starts the release `spotcheck up` in `dir/spotcheck` on `port` and waits for `/readyz`.
pub fn start(dir: &std::path::Path, port: u16) -> Child {
    let mut child = Command::new(BIN)
        .args(["up", "--data-dir"])
        .arg(dir.join("spotcheck"))
        .args([
            "--http",
            &format!("127.0.0.1:{port}"),
            "--pg",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spotcheck up");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if reqwest::blocking::get(format!("http://127.0.0.1:{port}/readyz"))
            .is_ok_and(|r| r.status() == 200)
        {
            return child;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("spotcheck up did not become ready");
}

/// The dev token of `role` that `start` wrote.
pub fn token(dir: &std::path::Path, role: &str) -> String {
    let text = std::fs::read_to_string(dir.join("spotcheck/dev-tokens.toml")).expect("tokens");
    let table: toml::Table = toml::from_str(&text).expect("toml");
    table[role].as_str().expect("token").to_owned()
}

/// The `q` quantile (0..1) of `values`, nearest rank.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub fn memory_gib() -> f64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0 / 1024.0
}
