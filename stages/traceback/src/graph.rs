//! The distribution graph of one batch, from its shipments: who is upstream of the sampled unit
//! (back to the producer) and who received the batch downstream of the producer.
//!
//! Pure and small on purpose: the stage loads one batch's edges from its store and calls
//! [`trace`]; everything about the graph is tested here without a broker.

use spotcheck_schemas::case::Gap;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One shipment of the batch: `quantity` went from `from` to `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub quantity: f64,
}

/// Where a unit stands relative to the failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// The sampled unit.
    Origin,
    /// On a path from the sampled unit back to the producer; hops counted from the sampled unit.
    Upstream,
    /// Received the batch; hops counted from the producer (or from the sampled unit when no path
    /// to the producer is known).
    Downstream,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reached {
    pub uscc: String,
    pub side: Side,
    pub hops: u32,
    /// What this unit received of the batch, over all its inbound shipments.
    pub quantity_received: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trace {
    /// Every unit, origin first, then upstream by hops, then downstream by hops (ties by USCC).
    pub units: Vec<Reached>,
    /// Missing links an inspector can act on.
    pub gaps: Vec<Gap>,
}

/// Traces the batch from the sampled unit (`origin`) and its nominal `producer`.
pub fn trace(edges: &[Edge], origin: Option<&str>, producer: Option<&str>) -> Trace {
    let mut outbound: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut inbound: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut received: BTreeMap<&str, f64> = BTreeMap::new();
    for edge in edges {
        outbound.entry(&edge.from).or_default().push(&edge.to);
        inbound.entry(&edge.to).or_default().push(&edge.from);
        *received.entry(&edge.to).or_default() += edge.quantity;
    }
    let mut gaps = Vec::new();
    let mut placed: BTreeMap<String, (Side, u32)> = BTreeMap::new();
    if let Some(origin) = origin {
        placed.insert(origin.to_owned(), (Side::Origin, 0));
        let upstream = breadth_first(origin, &inbound);
        for (uscc, hops) in &upstream {
            placed
                .entry((*uscc).to_owned())
                .or_insert((Side::Upstream, *hops));
        }
        let is_producer = producer == Some(origin);
        if !is_producer && !inbound.contains_key(origin) {
            gaps.push(Gap::NoInbound {
                origin: origin.to_owned(),
            });
        }
        if let Some(producer) = producer
            && !is_producer
            && !upstream.contains_key(producer)
            && inbound.contains_key(origin)
        {
            gaps.push(Gap::NoChain {
                producer: producer.to_owned(),
                origin: origin.to_owned(),
            });
        }
    }
    match producer {
        Some(producer) => {
            if !placed.contains_key(producer) {
                // Named by the result even when no shipment links it: it is upstream by law.
                let beyond = placed.values().map(|(_, h)| *h).max().unwrap_or(0) + 1;
                placed.insert(producer.to_owned(), (Side::Upstream, beyond));
            }
            if !outbound.contains_key(producer) && !edges.is_empty() {
                gaps.push(Gap::NoOutbound {
                    producer: producer.to_owned(),
                });
            }
            place_downstream(producer, &outbound, &mut placed);
        }
        None => gaps.push(Gap::ProducerUnknown),
    }
    if let Some(origin) = origin {
        place_downstream(origin, &outbound, &mut placed);
    }
    let mut units: Vec<Reached> = placed
        .into_iter()
        .map(|(uscc, (side, hops))| Reached {
            quantity_received: received.get(uscc.as_str()).copied(),
            uscc,
            side,
            hops,
        })
        .collect();
    units.sort_by(|a, b| (a.side, a.hops, &a.uscc).cmp(&(b.side, b.hops, &b.uscc)));
    Trace { units, gaps }
}

/// Units reachable from `start` along `next`, with their distance (cycles are visited once).
fn breadth_first<'a>(
    start: &'a str,
    next: &BTreeMap<&'a str, Vec<&'a str>>,
) -> BTreeMap<&'a str, u32> {
    let mut distance = BTreeMap::new();
    let mut seen = BTreeSet::from([start]);
    let mut queue = VecDeque::from([(start, 0u32)]);
    while let Some((unit, hops)) = queue.pop_front() {
        for &neighbour in next.get(unit).map(Vec::as_slice).unwrap_or_default() {
            if seen.insert(neighbour) {
                distance.insert(neighbour, hops + 1);
                queue.push_back((neighbour, hops + 1));
            }
        }
    }
    distance
}

/// Marks everything reachable from `root` and not yet placed as downstream.
fn place_downstream(
    root: &str,
    outbound: &BTreeMap<&str, Vec<&str>>,
    placed: &mut BTreeMap<String, (Side, u32)>,
) {
    let base = placed.get(root).map_or(0, |(side, hops)| match side {
        Side::Downstream => *hops,
        _ => 0,
    });
    for (uscc, hops) in breadth_first(root, outbound) {
        placed
            .entry(uscc.to_owned())
            .or_insert((Side::Downstream, base + hops));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(from: &str, to: &str, quantity: f64) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            quantity,
        }
    }

    fn find<'a>(trace: &'a Trace, uscc: &str) -> &'a Reached {
        trace
            .units
            .iter()
            .find(|u| u.uscc == uscc)
            .unwrap_or_else(|| panic!("{uscc} not traced: {trace:?}"))
    }

    /// P → D1 → R1, R2, R3; P → D2 → R3, R4, R5 (R3 supplied by both); D2 → X (another province).
    fn tree() -> Vec<Edge> {
        vec![
            edge("P", "D1", 300.0),
            edge("P", "D2", 200.0),
            edge("D1", "R1", 100.0),
            edge("D1", "R2", 100.0),
            edge("D1", "R3", 50.0),
            edge("D2", "R3", 30.0),
            edge("D2", "R4", 60.0),
            edge("D2", "R5", 60.0),
            edge("D2", "X", 50.0),
        ]
    }

    #[test]
    fn a_failure_at_a_retailer_finds_the_path_up_and_every_receiver_down() {
        let trace = trace(&tree(), Some("R3"), Some("P"));
        assert_eq!(find(&trace, "R3").side, Side::Origin);
        assert_eq!(
            find(&trace, "R3").quantity_received,
            Some(80.0),
            "both suppliers count"
        );
        for (uscc, hops) in [("D1", 1), ("D2", 1), ("P", 2)] {
            let unit = find(&trace, uscc);
            assert_eq!((unit.side, unit.hops), (Side::Upstream, hops), "{uscc}");
        }
        for (uscc, hops, quantity) in [
            ("R1", 2, 100.0),
            ("R2", 2, 100.0),
            ("R4", 2, 60.0),
            ("R5", 2, 60.0),
            ("X", 2, 50.0),
        ] {
            let unit = find(&trace, uscc);
            assert_eq!(
                (unit.side, unit.hops, unit.quantity_received),
                (Side::Downstream, hops, Some(quantity)),
                "{uscc}"
            );
        }
        assert_eq!(trace.units.len(), 9);
        assert!(trace.gaps.is_empty(), "{:?}", trace.gaps);
    }

    #[test]
    fn missing_links_are_reported_as_gaps() {
        let edges = vec![edge("P", "D1", 10.0), edge("D1", "R1", 5.0)];
        let trace = trace(&edges, Some("R9"), Some("P"));
        assert_eq!(trace.gaps.len(), 1, "{:?}", trace.gaps);
        assert_eq!(
            trace.gaps,
            [Gap::NoInbound {
                origin: "R9".into()
            }]
        );
        assert_eq!(find(&trace, "P").side, Side::Upstream);
        assert_eq!(find(&trace, "R1").side, Side::Downstream);

        let broken = vec![edge("D1", "R1", 5.0)];
        let trace = super::trace(&broken, Some("R1"), Some("P"));
        assert!(
            trace.gaps.contains(&Gap::NoChain {
                producer: "P".into(),
                origin: "R1".into()
            }),
            "{:?}",
            trace.gaps
        );
    }

    #[test]
    fn cycles_are_visited_once() {
        let edges = vec![
            edge("P", "A", 1.0),
            edge("A", "B", 1.0),
            edge("B", "A", 1.0),
            edge("B", "C", 1.0),
        ];
        let trace = trace(&edges, Some("C"), Some("P"));
        assert_eq!(trace.units.len(), 4);
        assert_eq!(find(&trace, "P").hops, 3);
    }

    #[test]
    fn without_a_producer_downstream_starts_at_the_sampled_unit() {
        let edges = vec![edge("D", "R", 1.0), edge("R", "E", 1.0)];
        let trace = trace(&edges, Some("R"), None);
        assert_eq!(find(&trace, "D").side, Side::Upstream);
        assert_eq!(find(&trace, "E").side, Side::Downstream);
        assert_eq!(trace.gaps, [Gap::ProducerUnknown]);
    }
}
