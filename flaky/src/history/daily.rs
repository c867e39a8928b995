//! The packed per-test counts of one day, the `counts` column of the `daily` table.
//!
//! One row per UTC day; its `counts` holds, for each test with results that day, in increasing
//! test id: the id minus the previous entry's id (the first: minus 0), then results, failed runs
//! and flaky runs, each an unsigned LEB128 varint. A day of a 100,000-test suite packs into
//! about 400 KB, so a summary of four weeks decodes about 11 MB instead of reading 2.8 million
//! rows, and an add rewrites the one row of its day.

use super::store::DailyRow;

/// The counts cannot be decoded: cut short, an id that does not increase, or a number that
/// does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Corrupt;

/// Packs `rows` (one day's, in increasing test id, ids above 0, counts not negative).
pub(crate) fn encode(rows: &[DailyRow]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 4);
    let mut previous = 0;
    for row in rows {
        for value in [row.test_id - previous, row.runs, row.failed, row.flaky] {
            // OK to cast: every value is positive or zero, as `merge` and `Plan` make them.
            put(&mut out, value as u64);
        }
        previous = row.test_id;
    }
    out
}

fn put(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Unpacks the counts of `day`, giving each row to `row` in increasing test id.
pub(crate) fn decode(
    day: i64,
    counts: &[u8],
    row: &mut dyn FnMut(DailyRow),
) -> Result<(), Corrupt> {
    let mut at = 0;
    let mut previous: i64 = 0;
    while at < counts.len() {
        let mut next = || -> Result<i64, Corrupt> {
            let mut value: u64 = 0;
            for shift in (0..64).step_by(7) {
                let byte = *counts.get(at).ok_or(Corrupt)?;
                at += 1;
                value |= u64::from(byte & 0x7f) << shift;
                if byte & 0x80 == 0 {
                    return i64::try_from(value).map_err(|_| Corrupt);
                }
            }
            Err(Corrupt)
        };
        let delta = next()?;
        let (runs, failed, flaky) = (next()?, next()?, next()?);
        if delta == 0 {
            return Err(Corrupt);
        }
        previous = previous.checked_add(delta).ok_or(Corrupt)?;
        row(DailyRow {
            day,
            test_id: previous,
            runs,
            failed,
            flaky,
        });
    }
    Ok(())
}

/// The counts of a day: `stored` (none for a day without a row yet) plus `added` (that day's
/// amounts, in increasing test id).
pub(crate) fn merge(
    day: i64,
    stored: Option<&[u8]>,
    added: &[DailyRow],
) -> Result<Vec<u8>, Corrupt> {
    let mut old = Vec::new();
    if let Some(stored) = stored {
        decode(day, stored, &mut |row| old.push(row))?;
    }
    let mut merged = Vec::with_capacity(old.len().max(added.len()));
    let (mut old, mut added) = (old.into_iter().peekable(), added.iter().copied().peekable());
    loop {
        let row = match (old.peek(), added.peek()) {
            (Some(a), Some(b)) if a.test_id == b.test_id => {
                let (a, b) = (old.next(), added.next());
                // OK because both peeks above saw a row.
                let (a, b) = (a.expect("a stored row"), b.expect("an added row"));
                DailyRow {
                    runs: a.runs + b.runs,
                    failed: a.failed + b.failed,
                    flaky: a.flaky + b.flaky,
                    ..a
                }
            }
            (Some(a), Some(b)) if a.test_id < b.test_id => old.next().ok_or(Corrupt)?,
            (_, Some(_)) => added.next().ok_or(Corrupt)?,
            (Some(_), None) => old.next().ok_or(Corrupt)?,
            (None, None) => break,
        };
        merged.push(row);
    }
    Ok(encode(&merged))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(test_id: i64, runs: i64, failed: i64, flaky: i64) -> DailyRow {
        DailyRow {
            day: 7,
            test_id,
            runs,
            failed,
            flaky,
        }
    }

    fn rows(counts: &[u8]) -> Vec<DailyRow> {
        let mut out = Vec::new();
        decode(7, counts, &mut |row| out.push(row)).unwrap();
        out
    }

    #[test]
    fn counts_round_trip_through_their_packing() {
        let day = [
            row(1, 36, 0, 0),
            row(2, 1, 1, 0),
            row(300, 200, 3, 90),
            row(i64::MAX, 1, 0, 1),
        ];

        let packed = encode(&day);

        assert_eq!(rows(&packed), day);
        // 1, 36, 0, 0 | 1, 1, 1, 0 | 298 (2 bytes), 200 (2 bytes), 3, 90 | …
        assert_eq!(
            &packed[..14],
            &[1, 36, 0, 0, 1, 1, 1, 0, 0xaa, 0x02, 0xc8, 0x01, 3, 90]
        );
    }

    #[test]
    fn merging_adds_to_known_tests_and_inserts_new_ones_in_order() {
        let stored = encode(&[row(2, 3, 1, 0), row(5, 3, 0, 0)]);

        let merged = merge(
            7,
            Some(&stored),
            &[row(1, 1, 0, 0), row(5, 1, 0, 1), row(9, 1, 1, 0)],
        );

        assert_eq!(
            rows(&merged.unwrap()),
            [
                row(1, 1, 0, 0),
                row(2, 3, 1, 0),
                row(5, 4, 0, 1),
                row(9, 1, 1, 0)
            ]
        );
        assert_eq!(
            rows(&merge(7, None, &[row(4, 2, 0, 0)]).unwrap()),
            [row(4, 2, 0, 0)]
        );
    }

    #[test]
    fn cut_or_disordered_counts_are_refused() {
        let packed = encode(&[row(1, 300, 0, 0)]);
        assert_eq!(decode(7, &packed[..2], &mut |_| {}), Err(Corrupt));
        assert_eq!(
            decode(7, &[1, 1, 0, 0, 0, 1, 0, 0], &mut |_| {}),
            Err(Corrupt)
        );
        assert_eq!(decode(7, &[0xff; 11], &mut |_| {}), Err(Corrupt));
    }
}
