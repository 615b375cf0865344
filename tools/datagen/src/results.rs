//! Sampling results: a lab samples a batch where it is found (at the producer, a shop or online),
//! tests it, and reports pass or fail with per-item results.

use crate::supply::Batch;
use chrono::Days;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use spotcheck_schemas::result::{Producer, Product, SampledUnit, Sampling, TestItem};
use spotcheck_schemas::{Level, SamplingDomain, SamplingResult, Severity, UnitRole, Verdict};

pub const ORGANISER: &str = "天津市市场监督管理委员会";

/// One result about `batch`, numbered `serial` for lab `lab_id`.
pub fn sample(rng: &mut StdRng, batch: &Batch, serial: usize, lab_id: &str) -> SamplingResult {
    let (unit, arrived, domain) = where_sampled(rng, batch);
    let sampled_on = arrived + Days::new(rng.random_range(5..90));
    let tested_on = sampled_on + Days::new(rng.random_range(3..21));
    let served_on = rng
        .random_bool(0.7)
        .then(|| tested_on + Days::new(rng.random_range(2..10)));
    let fails = rng.random_bool(batch.line.failure_rate);
    let items = test_items(rng, batch, fails);
    let quarter = (sampled_on
        .format("%m")
        .to_string()
        .parse::<u32>()
        .unwrap_or(1)
        - 1)
        / 3
        + 1;
    SamplingResult {
        report_no: format!(
            "{}-{}-{serial:07}",
            lab_id.to_uppercase(),
            sampled_on.format("%Y")
        ),
        lab_id: lab_id.to_owned(),
        task_id: Some(format!(
            "{}Q{quarter}-{}",
            sampled_on.format("%Y"),
            batch.line.category
        )),
        organiser: Some(ORGANISER.to_owned()),
        level: Some(Level::Municipal),
        category: batch.line.category,
        product: Product {
            name: batch.line.product.to_owned(),
            brand: Some(batch.brand.to_owned()),
            model: batch.model.clone(),
            batch: batch.batch.clone(),
            production_date: Some(batch.produced_on),
        },
        producer: Producer {
            uscc: Some(batch.producer.uscc.clone()),
            name: batch.producer.name.clone(),
            address: None,
        },
        sampled_unit: SampledUnit {
            uscc: Some(unit.uscc.clone()),
            name: unit.name.clone(),
            address: None,
            district: Some(unit.district.clone()),
            role: unit.role,
        },
        sampling: Sampling {
            date: sampled_on,
            domain,
            quantity: Some(format!("{}件", rng.random_range(2..6))),
        },
        tested_on,
        served_on,
        standards: batch
            .line
            .standards
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        items,
        verdict: if fails { Verdict::Fail } else { Verdict::Pass },
        severity: fails.then(|| {
            if rng.random_bool(0.3) {
                Severity::Serious
            } else {
                Severity::General
            }
        }),
        suspected_counterfeit: fails && rng.random_bool(0.03),
        follow_up: false,
    }
}

/// Mostly in shops (流通), sometimes at the producer (生产) or online (电商).
fn where_sampled(
    rng: &mut StdRng,
    batch: &Batch,
) -> (crate::units::GenUnit, chrono::NaiveDate, SamplingDomain) {
    let shops: Vec<_> = batch
        .holders
        .iter()
        .filter(|(u, _)| matches!(u.role, UnitRole::Retailer | UnitRole::Ecommerce))
        .collect();
    if shops.is_empty() || rng.random_bool(0.25) {
        return (
            batch.producer.clone(),
            batch.produced_on,
            SamplingDomain::Production,
        );
    }
    let (unit, arrived) = shops.choose(rng).map_or_else(
        || (batch.producer.clone(), batch.produced_on),
        |(u, d)| (u.clone(), *d),
    );
    let domain = match unit.role {
        UnitRole::Ecommerce => SamplingDomain::Ecommerce,
        UnitRole::Producer => SamplingDomain::Production,
        _ => SamplingDomain::Circulation,
    };
    (unit, arrived, domain)
}

/// 3–6 items; on a failure, one or two of them fail, the bulletins' usual suspects first.
fn test_items(rng: &mut StdRng, batch: &Batch, fails: bool) -> Vec<TestItem> {
    let mut names: Vec<&str> = batch.line.items.to_vec();
    let count = rng.random_range(3..=names.len().min(6));
    // Items that fail most are listed first in the catalogue: keep them likely to be tested.
    let head = names.split_off(2.min(names.len()));
    let mut rest = head;
    rest.shuffle(rng);
    names.extend(rest);
    names.truncate(count);
    let failing = if fails {
        rng.random_range(1..=2).min(count)
    } else {
        0
    };
    names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let fail = index < failing;
            TestItem {
                name: (*name).to_owned(),
                clause: Some(format!(
                    "{}.{}",
                    rng.random_range(4..8),
                    rng.random_range(1..12)
                )),
                required: Some("符合标准要求".to_owned()),
                measured: Some(
                    if fail {
                        "不符合标准要求"
                    } else {
                        "符合"
                    }
                    .to_owned(),
                ),
                verdict: if fail { Verdict::Fail } else { Verdict::Pass },
                severity: None,
            }
        })
        .collect()
}
