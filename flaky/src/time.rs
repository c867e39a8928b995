//! Civil dates and times in UTC, for report timestamps and quarantine expiry, and the
//! durations of `run --timeout`.

use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use steadfast_determinism::timestamp;

/// A calendar date (proleptic Gregorian, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// The date, when it exists.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Self> {
        let valid = day >= 1
            && u32::from(day) <= timestamp::days_in_month(i64::from(year), u32::from(month));
        valid.then_some(Self { year, month, day })
    }

    /// Today in UTC.
    pub fn today() -> Self {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        let millis = i64::try_from(millis).unwrap_or(i64::MAX);
        Self::from_days(millis.div_euclid(86_400_000))
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days(days: i64) -> Self {
        let (year, month, day) = timestamp::civil_from_days(days);
        Self {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            // OK because civil_from_days yields months 1..=12 and days 1..=31.
            month: u8::try_from(month).expect("month in 1..=12"),
            day: u8::try_from(day).expect("day in 1..=31"),
        }
    }

    /// Parses `YYYY-MM-DD`; `None` when it is not a real date in that form.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = &text[range];
            part.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse().ok())
                .flatten()
        };
        let year = i32::try_from(number(0..4)?).ok()?;
        let month = u8::try_from(number(5..7)?).ok()?;
        let day = u8::try_from(number(8..10)?).ok()?;
        Self::new(year, month, day)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Parses a JUnit timestamp into milliseconds since the Unix epoch: RFC 3339
/// (`2026-12-01T09:14:25.633+00:00`), or RFC 3339 without a zone (`2026-12-01T09:14:25`),
/// read as UTC because jest-junit, which writes it so, writes UTC. Fractions finer than a
/// millisecond are cut off; `None` when the text is neither.
///
/// ```
/// use steadfast_flaky::time::parse_timestamp_millis;
///
/// assert_eq!(parse_timestamp_millis("1970-01-01T00:00:01.5Z"), Some(1500));
/// assert_eq!(parse_timestamp_millis("1970-01-01T01:00:00+01:00"), Some(0));
/// assert_eq!(parse_timestamp_millis("1970-01-01T00:00:02"), Some(2000));
/// assert_eq!(parse_timestamp_millis("yesterday"), None);
/// ```
pub fn parse_timestamp_millis(text: &str) -> Option<i64> {
    // The date is 10 bytes; a zone is `Z` or a sign after the time.
    let has_zone = text
        .get(10..)
        .is_some_and(|time| time.contains(['Z', 'z', '+', '-']));
    let time = if has_zone {
        timestamp::parse(text)
    } else {
        timestamp::parse(&format!("{text}Z"))
    }
    .ok()?;
    let millis = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).ok()?,
        Err(before) => {
            // Round towards the past, as `div_euclid` does for the seconds.
            let before = before.duration();
            let millis = i64::try_from(before.as_millis()).ok()?;
            let partial = i64::from(before.as_nanos() % 1_000_000 != 0);
            -millis - partial
        }
    };
    Some(millis)
}

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (whole seconds).
pub fn format_millis(millis: i64) -> String {
    let seconds = millis.div_euclid(1000);
    let time = if seconds >= 0 {
        UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
    };
    timestamp::format(time)
}

/// Parses a duration written as whole numbers with units, largest first, as in `90s`, `30m`,
/// `1h30m` or `250ms` (units `h`, `m`, `s`, `ms`); `None` for anything else.
///
/// ```
/// use std::time::Duration;
/// use steadfast_flaky::time::parse_duration;
///
/// assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
/// assert_eq!(parse_duration("2s500ms"), Some(Duration::from_millis(2500)));
/// assert_eq!(parse_duration("90"), None); // a unit is needed
/// assert_eq!(parse_duration("30s1m"), None); // largest first
/// ```
pub fn parse_duration(text: &str) -> Option<Duration> {
    const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];
    let mut rest = text;
    let mut millis: u64 = 0;
    // The index in UNITS of the last part's unit: each next one must be smaller.
    let mut last: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = UNITS
            .iter()
            .position(|(name, _)| *name == &rest[..letters])?;
        if last.is_some_and(|last| unit <= last) {
            return None;
        }
        last = Some(unit);
        rest = &rest[letters..];
        millis = millis.checked_add(number.checked_mul(UNITS[unit].1)?)?;
    }
    last.map(|_| Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference instants from `date -u -d @N +%FT%TZ` (GNU coreutils).
    #[test]
    fn formats_unix_millis_like_gnu_date() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_millis(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(format_millis(1_700_000_000_999), "2023-11-14T22:13:20Z");
        assert_eq!(format_millis(-1000), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn parses_only_real_dates() {
        assert_eq!(Date::parse("2024-02-29"), Date::new(2024, 2, 29));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "2024-01-00",
            "+024-01-01",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
    }
}
