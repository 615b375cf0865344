//! Distribution trees: each batch flows producer → distributors (sometimes two levels) →
//! retailers, sometimes to an online shop; some hops cross into other provinces.

use crate::catalog::{LINES, ProductLine};
use crate::units::{GenUnit, Units};
use chrono::{Days, NaiveDate};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use spotcheck_schemas::shipment::{Party, ShippedProduct};
use spotcheck_schemas::{Category, Shipment};

/// A batch and every unit that holds it, with the day it arrived.
pub struct Batch {
    /// Position of the batch in the data set; makes shipment ids unique.
    pub serial: usize,
    pub line: &'static ProductLine,
    pub producer: GenUnit,
    pub model: String,
    pub batch: String,
    pub brand: &'static str,
    pub produced_on: NaiveDate,
    /// Units that received the batch (not the producer), with arrival dates.
    pub holders: Vec<(GenUnit, NaiveDate)>,
}

/// The first production date of the data set; sampling spans the eight quarters after it.
pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 9, 1).expect("valid date")
}

/// Creates a batch of a random product line of a random producer.
pub fn new_batch(rng: &mut StdRng, units: &Units, serial: usize) -> Batch {
    let producer = units.producers[rng.random_range(0..units.producers.len())].clone();
    // A producer keeps to one or two lines: derive them from its position.
    let line = &LINES[(serial % 2 + producer.name.len()) % LINES.len()];
    let prefix = line.model_prefixes.choose(rng).copied().unwrap_or("M");
    let produced_on = first_day() + Days::new(rng.random_range(0..600));
    let batch = if rng.random_bool(0.6) {
        produced_on.format("%Y%m%d").to_string()
    } else {
        format!("B{}{:04}", produced_on.format("%y%m"), serial % 10_000)
    };
    Batch {
        serial,
        line,
        model: format!("{prefix}{}", rng.random_range(1..40) * 5),
        brand: line.brands.choose(rng).copied().unwrap_or("无"),
        producer,
        batch,
        produced_on,
        holders: Vec::new(),
    }
}

/// Grows the batch's tree, pushing each hop to `out` until `budget` hops were made.
pub fn distribute(
    rng: &mut StdRng,
    units: &Units,
    batch: &mut Batch,
    budget: usize,
    out: &mut Vec<Shipment>,
) {
    let start = out.len();
    grow(rng, units, batch, budget, out);
    // Hops and holders are pushed together: dropping the excess keeps them in step.
    let excess = (out.len() - start).saturating_sub(budget);
    out.truncate(out.len() - excess);
    batch.holders.truncate(batch.holders.len() - excess);
}

fn grow(
    rng: &mut StdRng,
    units: &Units,
    batch: &mut Batch,
    budget: usize,
    out: &mut Vec<Shipment>,
) {
    let start = out.len();
    let first_hop = batch.produced_on + Days::new(rng.random_range(2..20));
    let quantity = f64::from(rng.random_range(20..200u32)) * 10.0;
    let top = rng.random_range(1..=3);
    for _ in 0..top {
        if out.len() - start >= budget {
            return;
        }
        let distributor = units.distributors.choose(rng).cloned();
        let Some(distributor) = distributor else {
            return;
        };
        let q = (quantity / top as f64).floor();
        hop(
            batch,
            &batch.producer.clone(),
            &distributor,
            q,
            first_hop,
            out,
        );
        let mut level = vec![(distributor, first_hop, q)];
        if rng.random_bool(0.15) {
            level = second_level(rng, units, batch, level, out);
        }
        for (from, arrived, q) in level {
            fan_out(
                rng,
                units,
                batch,
                &from,
                arrived,
                q,
                budget - (out.len() - start).min(budget),
                out,
            );
        }
    }
    if rng.random_bool(0.2) && out.len() - start < budget {
        let shop = units.online.choose(rng).cloned();
        if let Some(shop) = shop {
            hop(batch, &batch.producer.clone(), &shop, 50.0, first_hop, out);
        }
    }
}

/// A distributor passes part of the batch to a sub-distributor (a deeper tree).
fn second_level(
    rng: &mut StdRng,
    units: &Units,
    batch: &mut Batch,
    level: Vec<(GenUnit, NaiveDate, f64)>,
    out: &mut Vec<Shipment>,
) -> Vec<(GenUnit, NaiveDate, f64)> {
    let mut next = Vec::new();
    for (from, arrived, q) in level {
        if let Some(sub) = units.distributors.choose(rng).cloned()
            && sub.uscc != from.uscc
        {
            let on = arrived + Days::new(rng.random_range(1..10));
            hop(batch, &from, &sub, (q / 2.0).floor(), on, out);
            next.push((sub, on, (q / 2.0).floor()));
        }
        next.push((from, arrived, (q / 2.0).ceil()));
    }
    next
}

#[allow(clippy::too_many_arguments)]
fn fan_out(
    rng: &mut StdRng,
    units: &Units,
    batch: &mut Batch,
    from: &GenUnit,
    arrived: NaiveDate,
    quantity: f64,
    budget: usize,
    out: &mut Vec<Shipment>,
) {
    let shops = rng.random_range(2..=6).min(budget);
    for _ in 0..shops {
        let Some(shop) = units.retailers.choose(rng).cloned() else {
            return;
        };
        let on = arrived + Days::new(rng.random_range(1..15));
        hop(
            batch,
            from,
            &shop,
            (quantity / shops as f64).floor().max(1.0),
            on,
            out,
        );
    }
}

fn hop(
    batch: &mut Batch,
    from: &GenUnit,
    to: &GenUnit,
    quantity: f64,
    on: NaiveDate,
    out: &mut Vec<Shipment>,
) {
    out.push(Shipment {
        shipment_id: format!("SH-{:07}-{:03}", batch.serial, batch.holders.len()),
        category: batch.line.category,
        product: ShippedProduct {
            producer_uscc: Some(batch.producer.uscc.clone()),
            producer_name: batch.producer.name.clone(),
            model: batch.model.clone(),
            batch: batch.batch.clone(),
        },
        from: party(from),
        to: party(to),
        quantity,
        unit: unit_of(batch.line.category).to_owned(),
        shipped_on: on,
    });
    batch.holders.push((to.clone(), on));
}

fn party(unit: &GenUnit) -> Party {
    Party {
        uscc: unit.uscc.clone(),
        name: unit.name.clone(),
        district: Some(unit.district.clone()),
    }
}

fn unit_of(category: Category) -> &'static str {
    match category {
        Category::WireCable => "卷",
        Category::HazardousChemical => "kg",
        Category::TankVehicle => "台",
        _ => "pcs",
    }
}
