//! Records withdrawn by officials: a disposition entered by mistake (a re-test recorded
//! `overturned` for `upheld`, an order dated wrongly) is withdrawn by a `withdrawn` record naming
//! its `disposition_id`, and the right one is posted under a new id. A case is derived from the
//! records that count, so what the mistake set off (a retraction, a notice, a deadline) follows
//! the corrected records.

use spotcheck_schemas::case::Gap;
use spotcheck_schemas::{Disposition, DispositionKind};
use std::borrow::Cow;
use std::collections::BTreeSet;

/// The case's records that count — less those withdrawn, and less the withdrawals — and what a
/// withdrawal could not do. An identification is not withdrawn (it names the unit for every
/// case with its name; a new identification corrects it), nor is a withdrawal (the withdrawn
/// record is posted again under a new id). A case without a withdrawal (nearly every one) keeps
/// its records as they are: every derivation of every case comes through here.
pub fn counting(dispositions: &[Disposition]) -> (Cow<'_, [Disposition]>, Vec<Gap>) {
    if !dispositions
        .iter()
        .any(|d| d.kind == DispositionKind::Withdrawn)
    {
        return (Cow::Borrowed(dispositions), Vec::new());
    }
    let withdrawable = |d: &Disposition| {
        !matches!(
            d.kind,
            DispositionKind::Withdrawn | DispositionKind::Identified
        )
    };
    let mut gaps = Vec::new();
    let mut withdrawn = BTreeSet::new();
    for withdrawal in dispositions
        .iter()
        .filter(|d| d.kind == DispositionKind::Withdrawn)
    {
        let Some(id) = withdrawal.withdraws.as_deref() else {
            continue;
        };
        match dispositions.iter().find(|d| d.disposition_id == id) {
            Some(record) if withdrawable(record) => {
                withdrawn.insert(id);
            }
            Some(record) if record.kind == DispositionKind::Identified => {
                gaps.push(Gap::IdentificationNotWithdrawn { id: id.to_owned() });
            }
            _ => gaps.push(Gap::WithdrawsNothing {
                on: withdrawal.on,
                id: id.to_owned(),
            }),
        }
    }
    let counting = dispositions
        .iter()
        .filter(|d| d.kind != DispositionKind::Withdrawn)
        .filter(|d| !withdrawn.contains(d.disposition_id.as_str()))
        .cloned()
        .collect();
    (Cow::Owned(counting), gaps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(id: &str, kind: &str, extra: serde_json::Value) -> Disposition {
        let mut value = json!({"disposition_id": id, "report_no": "R", "lab_id": "L",
            "kind": kind, "on": "2026-05-20"});
        if let serde_json::Value::Object(fields) = extra {
            for (k, v) in fields {
                value[k] = v;
            }
        }
        serde_json::from_value(value).unwrap()
    }

    fn ids(records: &[Disposition]) -> Vec<&str> {
        records.iter().map(|d| d.disposition_id.as_str()).collect()
    }

    #[test]
    fn a_withdrawn_record_and_its_withdrawal_no_longer_count() {
        let records = [
            record("R-1", "retest_concluded", json!({"outcome": "overturned"})),
            record("W-1", "withdrawn", json!({"withdraws": "R-1"})),
            record("R-2", "retest_concluded", json!({"outcome": "upheld"})),
        ];
        let (counting, gaps) = counting(&records);
        assert_eq!(ids(&counting), ["R-2"]);
        assert!(gaps.is_empty(), "{gaps:?}");
    }

    #[test]
    fn what_cannot_be_withdrawn_stays_and_is_said() {
        let records = [
            record(
                "I-1",
                "identified",
                json!({"name": "某店", "uscc": "91110000802100433B"}),
            ),
            record("W-1", "withdrawn", json!({"withdraws": "I-1"})),
            record("W-2", "withdrawn", json!({"withdraws": "W-1"})),
            record("W-3", "withdrawn", json!({"withdraws": "R-9"})),
        ];
        let (counting, gaps) = counting(&records);
        assert_eq!(ids(&counting), ["I-1"]);
        let on = records[0].on;
        assert_eq!(
            gaps,
            [
                Gap::IdentificationNotWithdrawn { id: "I-1".into() },
                Gap::WithdrawsNothing {
                    on,
                    id: "W-1".into()
                },
                Gap::WithdrawsNothing {
                    on,
                    id: "R-9".into()
                },
            ]
        );
    }
}
