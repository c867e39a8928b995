//! RFC 3339 timestamps for clock start times, parsed and formatted without dependencies.
//!
//! ```
//! use steadfast_determinism::timestamp;
//!
//! let start = timestamp::parse("2026-01-01T00:00:00Z")?;
//! assert_eq!(timestamp::format(start), "2026-01-01T00:00:00Z");
//! let later = timestamp::parse("2026-03-01T12:30:00.250+01:00")?;
//! assert_eq!(timestamp::format(later), "2026-03-01T11:30:00.250Z");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::Error;

/// The default start of test clocks: 2026-01-01T00:00:00Z.
pub const DEFAULT_START: &str = "2026-01-01T00:00:00Z";

/// Parses an RFC 3339 timestamp (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`) into a `SystemTime`.
///
/// # Errors
///
/// When the text is not such a timestamp; the error names the text and the part that was wrong.
pub fn parse(input: &str) -> Result<SystemTime, Error> {
    let (secs, nanos) =
        parse_unix(input).map_err(|reason| Error::invalid_timestamp(input, reason))?;
    Ok(from_unix(secs, nanos))
}

/// Formats a `SystemTime` as RFC 3339 UTC, with milliseconds only when they are not zero
/// (and nanoseconds only when needed).
pub fn format(time: SystemTime) -> String {
    let (secs, nanos) = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => (after.as_secs() as i64, after.subsec_nanos()),
        Err(before) => {
            let before = before.duration();
            let carry = i64::from(before.subsec_nanos() > 0);
            (
                -(before.as_secs() as i64) - carry,
                (1_000_000_000 - before.subsec_nanos()) % 1_000_000_000,
            )
        }
    };
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    if nanos % 1_000_000 == 0 && nanos > 0 {
        out.push_str(&format!(".{:03}", nanos / 1_000_000));
    } else if nanos > 0 {
        out.push_str(&format!(".{nanos:09}"));
    }
    out.push('Z');
    out
}

fn from_unix(secs: i64, nanos: u32) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nanos)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
            + Duration::from_nanos(u64::from(nanos))
    }
}

/// Parses RFC 3339 into whole seconds since the Unix epoch and nanoseconds.
///
/// A `const fn` so `#[deterministic_test(start = "…")]` can reject a bad timestamp at compile
/// time, with the same rules as at run time.
#[doc(hidden)]
pub const fn parse_unix(input: &str) -> Result<(i64, u32), &'static str> {
    let b = input.as_bytes();
    if b.len() < 19 {
        return Err("too short");
    }
    let year = match digits(b, 0, 4) {
        Some(v) => v as i64,
        None => return Err("the year must be four digits"),
    };
    if b[4] != b'-' || b[7] != b'-' {
        return Err("the date must be YYYY-MM-DD");
    }
    let (month, day) = match (digits(b, 5, 2), digits(b, 8, 2)) {
        (Some(m), Some(d)) => (m, d),
        _ => return Err("the date must be YYYY-MM-DD"),
    };
    if month < 1 || month > 12 {
        return Err("the month must be 01 to 12");
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err("the day does not exist in that month");
    }
    if !(b[10] == b'T' || b[10] == b't' || b[10] == b' ') {
        return Err("the date and time must be separated by T");
    }
    if b[13] != b':' || b[16] != b':' {
        return Err("the time must be HH:MM:SS");
    }
    let (hour, minute, second) = match (digits(b, 11, 2), digits(b, 14, 2), digits(b, 17, 2)) {
        (Some(h), Some(m), Some(s)) => (h, m, s),
        _ => return Err("the time must be HH:MM:SS"),
    };
    if hour > 23 || minute > 59 || second > 59 {
        return Err("the time is out of range (leap seconds are not supported)");
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + (b[i] - b'0') as u32;
            }
            i += 1;
        }
        if i == start {
            return Err("the fraction of a second needs at least one digit");
        }
        let mut scale = i - start;
        while scale < 9 {
            nanos *= 10;
            scale += 1;
        }
    }
    if i >= b.len() {
        return Err("the time zone is missing (use Z for UTC)");
    }
    let offset_secs: i64 = if b[i] == b'Z' || b[i] == b'z' {
        i += 1;
        0
    } else if b[i] == b'+' || b[i] == b'-' {
        if i + 6 != b.len() || b[i + 3] != b':' {
            return Err("the offset must be ±HH:MM");
        }
        let (oh, om) = match (digits(b, i + 1, 2), digits(b, i + 4, 2)) {
            (Some(h), Some(m)) => (h, m),
            _ => return Err("the offset must be ±HH:MM"),
        };
        if oh > 23 || om > 59 {
            return Err("the offset is out of range");
        }
        let sign = if b[i] == b'+' { 1 } else { -1 };
        i += 6;
        sign * (oh as i64 * 3600 + om as i64 * 60)
    } else {
        return Err("the time zone must be Z or ±HH:MM");
    };
    if i != b.len() {
        return Err("unexpected text after the time zone");
    }
    let days = days_from_civil(year, month, day);
    let secs =
        days * 86_400 + hour as i64 * 3600 + minute as i64 * 60 + second as i64 - offset_secs;
    Ok((secs, nanos))
}

const fn digits(b: &[u8], start: usize, len: usize) -> Option<u32> {
    let mut value = 0u32;
    let mut i = start;
    while i < start + len {
        if i >= b.len() || !b[i].is_ascii_digit() {
            return None;
        }
        value = value * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    Some(value)
}

const fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The number of days in `month` (1 to 12) of `year` (proleptic Gregorian); 0 for other months.
pub const fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian `(year, month, day)` of the day `days` days after 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
///
/// ```
/// use steadfast_determinism::timestamp::civil_from_days;
/// assert_eq!(civil_from_days(0), (1970, 1, 1));
/// assert_eq!(civil_from_days(-1), (1969, 12, 31));
/// assert_eq!(civil_from_days(20_454), (2026, 1, 1));
/// ```
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn default_start_is_the_first_second_of_2026() {
        // 2026-01-01 is 20454 days after the epoch (56 years, 14 of them leap).
        let expected = UNIX_EPOCH + Duration::from_secs(20_454 * 86_400);
        assert_eq!(parse(DEFAULT_START).unwrap(), expected);
    }

    #[test]
    fn offsets_are_applied_and_fractions_kept() {
        let utc = parse("2026-06-30T23:00:00.5Z").unwrap();
        let east = parse("2026-07-01T01:00:00.500+02:00").unwrap();
        assert_eq!(utc, east);
        assert_eq!(format(utc), "2026-06-30T23:00:00.500Z");
    }

    #[test]
    fn rejects_impossible_dates_and_shapes_with_a_reason() {
        for (bad, reason) in [
            ("2026-02-29T00:00:00Z", "day does not exist"),
            ("2026-13-01T00:00:00Z", "month"),
            ("2026-01-01T00:00:00", "time zone"),
            ("2026-01-01T24:00:00Z", "out of range"),
            ("2026-01-01T00:00:00Zjunk", "unexpected text"),
            ("yesterday", "too short"),
            ("2026-01-01T00:00:00+0100", "offset"),
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains(reason) && err.contains(bad), "{bad}: {err}");
        }
        assert!(parse("2024-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn formats_times_before_the_epoch() {
        let t = parse("1969-12-31T23:59:59.250Z").unwrap();
        assert_eq!(format(t), "1969-12-31T23:59:59.250Z");
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(secs in -62_135_596_800i64..253_402_300_799, nanos in 0u32..1_000_000_000) {
            let time = from_unix(secs, nanos);
            prop_assert_eq!(parse(&format(time)).unwrap(), time);
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in "[0-9T:Z.+-]{0,32}") {
            let _ = parse(&text);
        }

        #[test]
        fn parsing_any_prefix_or_corruption_of_a_valid_timestamp_never_panics(
            cut in 0usize..33,
            at in 0usize..32,
            byte in any::<u8>(),
        ) {
            let mut text = b"2026-07-01T01:00:00.123456+02:00".to_vec();
            text[at] = byte;
            text.truncate(cut);
            if let Ok(text) = std::str::from_utf8(&text) {
                let _ = parse(text);
            }
        }
    }
}
