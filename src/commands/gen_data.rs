//! `spotcheck gen --out DIR [--results N] [--shipments M] [--seed S]`.

use crate::cli::GenArgs;
use anyhow::{Context, Result};
use spotcheck_datagen::{Plan, generate};
use std::process::ExitCode;
use std::time::Instant;

pub fn run(args: GenArgs) -> Result<ExitCode> {
    let labs: Vec<String> = args
        .labs
        .iter()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    anyhow::ensure!(!labs.is_empty(), "--labs needs at least one lab id");
    let plan = Plan {
        results: args.results,
        shipments: args.shipments,
        seed: args.seed,
        labs,
    };
    let started = Instant::now();
    let written = generate(&plan, &args.out)
        .with_context(|| format!("cannot write the data set to {}", args.out.display()))?;
    println!(
        "wrote {} units, {} shipments, {} results ({} failing) to {} in {:.1} s",
        written.units,
        written.shipments,
        written.results,
        written.failing,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
