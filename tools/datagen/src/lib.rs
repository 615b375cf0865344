//! `spotcheck gen`: a realistic synthetic data set, deterministic per seed.
//!
//! Units with valid USCCs (most in Tianjin's districts, some in other provinces), batches of the
//! key products flowing through distribution trees (producer → distributors → retailers, some to
//! online shops, some two distributor levels deep), and sampling results of those batches with
//! the standards and failing items of published bulletins at their usual 5–25% failure rates.
//! Dates lie between 2024-09 and 2026-10, so the data is valid on any later day.

pub mod catalog;
pub mod results;
pub mod supply;
pub mod units;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::to_writer;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Plan {
    pub results: usize,
    pub shipments: usize,
    pub seed: u64,
    /// Results are spread over these labs (their `lab_id`s).
    pub labs: Vec<String>,
}

/// How much was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub units: usize,
    pub shipments: usize,
    pub results: usize,
    pub failing: usize,
}

pub const UNITS_FILE: &str = "units.ndjson";
pub const SHIPMENTS_FILE: &str = "shipments.ndjson";
pub const RESULTS_FILE: &str = "results.ndjson";

/// Writes `units.ndjson`, `shipments.ndjson` and `results.ndjson` into `out`.
pub fn generate(plan: &Plan, out: &Path) -> std::io::Result<Written> {
    std::fs::create_dir_all(out)?;
    let mut rng = StdRng::seed_from_u64(plan.seed);
    // About ten shipments per batch; with no shipments, one batch per five results.
    let batch_count = (plan.shipments / 10).max(plan.results / 5).max(1);
    let units = units::Units::generate(&mut rng, batch_count);
    let mut shipments_file = BufWriter::new(File::create(out.join(SHIPMENTS_FILE))?);
    let mut batches = Vec::with_capacity(batch_count);
    let mut shipments_written = 0;
    let mut hops = Vec::new();
    // Trees may come out smaller than their share: keep making batches until every shipment
    // asked for exists (each tree makes at least one hop, so this ends).
    let mut serial = 0;
    while serial < batch_count || shipments_written < plan.shipments {
        let mut batch = supply::new_batch(&mut rng, &units, serial);
        let remaining_batches = batch_count.saturating_sub(serial).max(1);
        let budget = (plan.shipments - shipments_written).div_ceil(remaining_batches);
        if budget > 0 {
            supply::distribute(&mut rng, &units, &mut batch, budget, &mut hops);
        }
        for shipment in hops.drain(..) {
            write_line(&mut shipments_file, &shipment)?;
            shipments_written += 1;
        }
        batches.push(batch);
        serial += 1;
    }
    shipments_file.flush()?;
    let units_written = write_units(&units, out)?;
    let (results, failing) = write_results(plan, &mut rng, &batches, out)?;
    Ok(Written {
        units: units_written,
        shipments: shipments_written,
        results,
        failing,
    })
}

fn write_units(units: &units::Units, out: &Path) -> std::io::Result<usize> {
    let mut file = BufWriter::new(File::create(out.join(UNITS_FILE))?);
    let mut count = 0;
    for unit in units.all() {
        write_line(&mut file, &unit.record())?;
        count += 1;
    }
    file.flush()?;
    Ok(count)
}

fn write_results(
    plan: &Plan,
    rng: &mut StdRng,
    batches: &[supply::Batch],
    out: &Path,
) -> std::io::Result<(usize, usize)> {
    use rand::Rng;
    let mut file = BufWriter::new(File::create(out.join(RESULTS_FILE))?);
    let mut failing = 0;
    for serial in 0..plan.results {
        let batch = &batches[rng.random_range(0..batches.len())];
        let lab = &plan.labs[serial % plan.labs.len().max(1)];
        let result = results::sample(rng, batch, serial + 1, lab);
        failing += usize::from(result.verdict == spotcheck_schemas::Verdict::Fail);
        write_line(&mut file, &result)?;
    }
    file.flush()?;
    Ok((plan.results, failing))
}

fn write_line<T: serde::Serialize>(file: &mut impl Write, record: &T) -> std::io::Result<()> {
    to_writer(&mut *file, record)?;
    file.write_all(b"\n")
}
