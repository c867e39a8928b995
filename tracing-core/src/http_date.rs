//! HTTP-date (RFC 9110 §5.6.7), as a collector may send it in `Retry-After`.
//!
//! A recipient must accept all three forms: the preferred IMF-fixdate
//! (`Sun, 06 Nov 1994 08:49:37 GMT`) and the obsolete RFC 850
//! (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`)
//! forms.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A calendar date and time of day in UTC, as written.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    /// Hour, minute and second.
    time: (u32, u32, u32),
}

/// Parses an HTTP-date in any of its three forms; `now` settles the century
/// of an RFC 850 two-digit year. `None` when the text is not an HTTP-date or
/// names a day that does not exist.
pub(crate) fn parse(text: &str, now: SystemTime) -> Option<SystemTime> {
    let civil = match text.split_once(", ") {
        Some((day, rest)) if DAYS.contains(&day) => imf_fixdate(rest)?,
        Some((day, rest)) if LONG_DAYS.contains(&day) => rfc850(rest, now)?,
        _ => asctime(text)?,
    };
    to_system_time(&civil)
}

/// `06 Nov 1994 08:49:37 GMT` (after `Sun, `).
fn imf_fixdate(rest: &str) -> Option<Civil> {
    let mut parts = rest.split(' ');
    let day = two_digits(parts.next()?)?;
    let month = month(parts.next()?)?;
    let year = parts.next().filter(|y| y.len() == 4).and_then(number)?;
    let time = time_of_day(parts.next()?)?;
    (parts.next()? == "GMT" && parts.next().is_none()).then_some(Civil {
        year: i64::from(year),
        month,
        day,
        time,
    })
}

/// `06-Nov-94 08:49:37 GMT` (after `Sunday, `). A two-digit year that would
/// be more than 50 years after `now` is taken from the century before, as
/// RFC 9110 requires.
fn rfc850(rest: &str, now: SystemTime) -> Option<Civil> {
    let mut parts = rest.split(' ');
    let mut date = parts.next()?.split('-');
    let day = two_digits(date.next()?)?;
    let month = month(date.next()?)?;
    let yy = i64::from(two_digits(date.next()?)?);
    let time = time_of_day(parts.next()?)?;
    if date.next().is_some() || parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    let this_year = year_of(now);
    let mut year = this_year - this_year.rem_euclid(100) + yy;
    if year > this_year + 50 {
        year -= 100;
    }
    Some(Civil {
        year,
        month,
        day,
        time,
    })
}

/// `Sun Nov  6 08:49:37 1994` (a one-digit day is padded with a space).
fn asctime(text: &str) -> Option<Civil> {
    let (day_name, rest) = text.split_once(' ')?;
    if !DAYS.contains(&day_name) {
        return None;
    }
    let (month_name, rest) = rest.split_once(' ')?;
    let month = month(month_name)?;
    let (day, rest) = match rest.strip_prefix(' ') {
        Some(rest) => {
            let (d, rest) = rest.split_once(' ')?;
            (one_digit(d)?, rest)
        }
        None => {
            let (d, rest) = rest.split_once(' ')?;
            (two_digits(d)?, rest)
        }
    };
    let (time, year) = rest.split_once(' ')?;
    let time = time_of_day(time)?;
    let year = Some(year).filter(|y| y.len() == 4).and_then(number)?;
    Some(Civil {
        year: i64::from(year),
        month,
        day,
        time,
    })
}

/// `08:49:37`; a leap second (60) is read as the second before it.
fn time_of_day(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split(':');
    let hour = two_digits(parts.next()?)?;
    let minute = two_digits(parts.next()?)?;
    let second = two_digits(parts.next()?)?;
    if parts.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some((hour, minute, second.min(59)))
}

fn month(name: &str) -> Option<u32> {
    let index = MONTHS.iter().position(|m| *m == name)?;
    // OK to cast: the index is below 12.
    Some(index as u32 + 1)
}

fn one_digit(text: &str) -> Option<u32> {
    Some(text).filter(|t| t.len() == 1).and_then(number)
}

fn two_digits(text: &str) -> Option<u32> {
    Some(text).filter(|t| t.len() == 2).and_then(number)
}

/// ASCII digits only (`str::parse` would also take a sign).
fn number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`). steadfast-determinism has the same arithmetic; this
/// crate depends on nothing, so it keeps its own.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn to_system_time(c: &Civil) -> Option<SystemTime> {
    if c.day == 0 || c.day > days_in_month(c.year, c.month) {
        return None;
    }
    let seconds = days_from_civil(c.year, c.month, c.day) * 86_400
        + i64::from(c.time.0 * 3600 + c.time.1 * 60 + c.time.2);
    let seconds = u64::try_from(seconds).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// The UTC year `time` falls in (1970 for times before the epoch, which an
/// HTTP client never sees as "now").
fn year_of(time: SystemTime) -> i64 {
    let days = time.duration_since(UNIX_EPOCH).map_or(0, |d| {
        i64::try_from(d.as_secs() / 86_400).unwrap_or(i64::MAX)
    });
    // Walk from an estimate that is never late by more than a year.
    let mut year = 1970 + days / 366;
    while days_from_civil(year + 1, 1, 1) <= days {
        year += 1;
    }
    year
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use steadfast_determinism::timestamp::civil_from_days;

    use super::*;

    /// 1994-11-06T08:49:37Z, the example of RFC 9110.
    const EXAMPLE: u64 = 784_111_777;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    /// 2026-11-22T00:00:00Z.
    fn now() -> SystemTime {
        at(1_795_305_600)
    }

    #[test]
    fn the_three_forms_of_the_rfc_example_are_the_same_instant() {
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse(text, now()), Some(at(EXAMPLE)), "{text}");
        }
        assert_eq!(
            parse("Thu, 01 Jan 1970 00:00:00 GMT", now()),
            Some(UNIX_EPOCH)
        );
        assert_eq!(
            parse("Tue Nov 10 23:00:00 2026", now()),
            Some(at(1_794_351_600))
        );
    }

    #[test]
    fn rfc850_years_more_than_50_years_ahead_are_from_the_last_century() {
        // In 2026, "76" is 2076 (50 years ahead) but "77" is 1977.
        let y2076 = parse("Sunday, 01-Nov-76 00:00:00 GMT", now()).unwrap();
        let y1977 = parse("Tuesday, 01-Nov-77 00:00:00 GMT", now()).unwrap();
        assert_eq!(year_of(y2076), 2076);
        assert_eq!(year_of(y1977), 1977);
        assert_eq!(year_of(now()), 2026);
    }

    #[test]
    fn malformed_or_impossible_dates_are_refused() {
        for text in [
            "",
            "120",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 1900 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
            "Sun, 06 Nov +994 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun Nov 6 08:49:37 1994",
            "Xyz Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse(text, now()), None, "{text:?}");
        }
        assert!(parse("Tue, 29 Feb 2000 00:00:00 GMT", now()).is_some());
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:49:60 GMT", now()),
            Some(at(EXAMPLE + 22)),
            "a leap second reads as the second before"
        );
    }

    /// The calendar date, weekday (Monday = 0) and time of `secs` after the
    /// epoch, from steadfast-determinism's `civil_from_days` (the inverse of
    /// the arithmetic under test).
    fn civil(secs: u64) -> (i64, u32, u32, usize, u64, u64, u64) {
        let days = i64::try_from(secs / 86_400).unwrap();
        let (year, month, day) = civil_from_days(days);
        let weekday = usize::try_from((days + 3).rem_euclid(7)).unwrap();
        let t = secs % 86_400;
        (year, month, day, weekday, t / 3600, t / 60 % 60, t % 60)
    }

    proptest! {
        #[test]
        fn every_form_of_any_instant_reads_back_as_that_instant(secs in 0u64..4_102_444_800) {
            let (year, month, day, weekday, h, m, s) = civil(secs);
            let mon = MONTHS[month as usize - 1];
            let imf = format!("{}, {day:02} {mon} {year} {h:02}:{m:02}:{s:02} GMT", DAYS[weekday]);
            prop_assert_eq!(parse(&imf, now()), Some(at(secs)), "{}", imf);
            let asc = format!("{} {mon} {day:>2} {h:02}:{m:02}:{s:02} {year}", DAYS[weekday]);
            prop_assert_eq!(parse(&asc, now()), Some(at(secs)), "{}", asc);
            // Two-digit years name 1977 to 2076 when read in 2026.
            if (1977..=2076).contains(&year) {
                let rfc850 = format!(
                    "{}, {day:02}-{mon}-{:02} {h:02}:{m:02}:{s:02} GMT",
                    LONG_DAYS[weekday],
                    year % 100
                );
                prop_assert_eq!(parse(&rfc850, now()), Some(at(secs)), "{}", rfc850);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,40}") {
            let _ = parse(&text, now());
        }
    }
}
