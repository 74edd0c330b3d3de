//! Field values as the source platforms write them, mapped to storekey's: gender labels and
//! codes, yes/no flags, Magento's and Shopify's date forms (migration.md §4.3).

use crate::model::Timestamp;
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// A value that could not be mapped. The row is still imported without it; the reason goes to
/// the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadValue {
    NotAGender,
    NotAFlag,
    NotADate,
    /// `0000-00-00 00:00:00` and friends: MySQL's "no date".
    ZeroDate,
    /// `M/D/YY` for a date of birth: the century cannot be told.
    TwoDigitYear,
}

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BadValue::NotAGender => "not a gender (Male, Female, Not Specified or 1, 2, 3)",
            BadValue::NotAFlag => "not a yes/no value",
            BadValue::NotADate => "not a date",
            BadValue::ZeroDate => "zero date",
            BadValue::TwoDigitYear => "two-digit year",
        })
    }
}

/// Magento's gender: the admin export writes the option label, `customer_entity` the option
/// id (1 Male, 2 Female, 3 Not Specified; 0 = none).
pub fn gender(value: &str) -> Result<Option<i32>, BadValue> {
    let v = value.trim();
    match v.to_ascii_lowercase().as_str() {
        "" | "0" => Ok(None),
        "1" | "male" => Ok(Some(1)),
        "2" | "female" => Ok(Some(2)),
        "3" | "not specified" => Ok(Some(3)),
        _ => Err(BadValue::NotAGender),
    }
}

/// Yes/no as the exports write it: Shopify `yes`/`no`, Magento `1`/`0`, JSON-ish `true`/`false`.
pub fn flag(value: &str) -> Result<bool, BadValue> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Ok(true),
        "no" | "n" | "false" | "0" | "" => Ok(false),
        _ => Err(BadValue::NotAFlag),
    }
}

/// A creation time: `YYYY-MM-DD HH:MM:SS` (Magento's database, UTC), RFC 3339, a bare
/// `YYYY-MM-DD`, or the admin grid's US form `MM/DD/YY HH:MM` (Adobe's sample export) and
/// `MM/DD/YYYY HH:MM[:SS]`. A two-digit year is 20YY.
pub fn timestamp(value: &str) -> Result<Timestamp, BadValue> {
    let v = value.trim();
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    let (date, time) = match v.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t.trim())),
        None => (v, None),
    };
    let date = if date.contains('/') {
        us_date(date, |yy| Ok(2000 + yy))?
    } else {
        iso_date(date)?
    };
    let time = match time {
        None | Some("") => Time::MIDNIGHT,
        Some(t) => clock(t)?,
    };
    Ok(PrimitiveDateTime::new(date, time)
        .assume_utc()
        .unix_timestamp())
}

/// A date of birth, kept as `YYYY-MM-DD`: from `YYYY-MM-DD` (a `00:00:00` time is dropped),
/// or `M/D/YYYY`.
pub fn date_of_birth(value: &str) -> Result<String, BadValue> {
    let v = value.trim();
    let date = v.split_once(' ').map_or(v, |(d, _)| d);
    let date = if date.contains('/') {
        us_date(date, |_| Err(BadValue::TwoDigitYear))?
    } else {
        iso_date(date)?
    };
    Ok(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

fn numbers<const N: usize>(s: &str, sep: char) -> Option<[(u32, usize); N]> {
    let mut out = [(0u32, 0usize); N];
    let mut parts = s.split(sep);
    for slot in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = (p.parse().ok()?, p.len());
    }
    parts.next().is_none().then_some(out)
}

fn calendar(year: u32, month: u32, day: u32) -> Result<Date, BadValue> {
    if year == 0 && month == 0 && day == 0 {
        return Err(BadValue::ZeroDate);
    }
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or(BadValue::NotADate)?;
    let year = i32::try_from(year).map_err(|_| BadValue::NotADate)?;
    let day = u8::try_from(day).map_err(|_| BadValue::NotADate)?;
    Date::from_calendar_date(year, month, day).map_err(|_| BadValue::NotADate)
}

fn iso_date(s: &str) -> Result<Date, BadValue> {
    let [(y, ylen), (m, _), (d, _)] = numbers::<3>(s, '-').ok_or(BadValue::NotADate)?;
    if ylen != 4 {
        return Err(BadValue::NotADate);
    }
    calendar(y, m, d)
}

fn us_date(s: &str, two_digit: impl Fn(u32) -> Result<u32, BadValue>) -> Result<Date, BadValue> {
    let [(m, _), (d, _), (y, ylen)] = numbers::<3>(s, '/').ok_or(BadValue::NotADate)?;
    let year = match ylen {
        4 => y,
        2 => two_digit(y)?,
        _ => return Err(BadValue::NotADate),
    };
    calendar(year, m, d)
}

fn clock(s: &str) -> Result<Time, BadValue> {
    let parsed = numbers::<3>(s, ':')
        .map(|[h, m, s]| (h.0, m.0, s.0))
        .or_else(|| numbers::<2>(s, ':').map(|[h, m]| (h.0, m.0, 0)));
    let (h, m, sec) = parsed.ok_or(BadValue::NotADate)?;
    let fit = |n: u32| u8::try_from(n).map_err(|_| BadValue::NotADate);
    Time::from_hms(fit(h)?, fit(m)?, fit(sec)?).map_err(|_| BadValue::NotADate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gender_labels_and_codes() {
        assert_eq!(gender("Male"), Ok(Some(1)));
        assert_eq!(gender("female"), Ok(Some(2)));
        assert_eq!(gender("Not Specified"), Ok(Some(3)));
        assert_eq!(gender("2"), Ok(Some(2)));
        assert_eq!(gender("0"), Ok(None));
        assert_eq!(gender(""), Ok(None));
        assert_eq!(gender("other"), Err(BadValue::NotAGender));
    }

    #[test]
    fn creation_times_in_every_export_form() {
        // 2024-09-01 12:49:00 UTC
        let at = 1_725_194_940;
        assert_eq!(timestamp("2024-09-01 12:49:00"), Ok(at));
        assert_eq!(timestamp("2024-09-01T12:49:00Z"), Ok(at));
        assert_eq!(timestamp("2024-09-01T14:49:00+02:00"), Ok(at));
        assert_eq!(timestamp("09/01/24 12:49"), Ok(at));
        assert_eq!(timestamp("9/1/2024 12:49:00"), Ok(at));
        assert_eq!(timestamp("2024-09-01"), Ok(at - (12 * 3600 + 49 * 60)));
        assert_eq!(timestamp("0000-00-00 00:00:00"), Err(BadValue::ZeroDate));
        assert_eq!(timestamp("2024-02-30 00:00:00"), Err(BadValue::NotADate));
        assert_eq!(timestamp("yesterday"), Err(BadValue::NotADate));
        assert_eq!(timestamp("2024-09-01 25:00:00"), Err(BadValue::NotADate));
    }

    #[test]
    fn dates_of_birth_become_iso_dates() {
        assert_eq!(date_of_birth("1990-01-15"), Ok("1990-01-15".into()));
        assert_eq!(
            date_of_birth("1990-01-15 00:00:00"),
            Ok("1990-01-15".into())
        );
        assert_eq!(date_of_birth("1/5/1990"), Ok("1990-01-05".into()));
        assert_eq!(date_of_birth("1/5/90"), Err(BadValue::TwoDigitYear));
        assert_eq!(date_of_birth("1990-13-01"), Err(BadValue::NotADate));
    }

    #[test]
    fn flags() {
        assert_eq!(flag("yes"), Ok(true));
        assert_eq!(flag("No"), Ok(false));
        assert_eq!(flag("1"), Ok(true));
        assert_eq!(flag(""), Ok(false));
        assert_eq!(flag("maybe"), Err(BadValue::NotAFlag));
    }
}
