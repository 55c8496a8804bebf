//! Date shifting for Retain Longitudinal Temporal Information with Modified Dates (PS3.15 E.3.6).
//!
//! Each patient gets one shift, a whole number of days derived from the project key and the
//! original patient identity, so intervals between a patient's studies survive while the calendar
//! dates do not. Times of day are kept; only the date part of a DT moves.

use chrono::{Datelike, NaiveDate, TimeDelta};

use crate::deid::key::ProjectKey;
use crate::dicom::model::Vr;

/// Longest shift, in days (about ten years back).
pub const MAX_SHIFT_DAYS: i64 = 3652;

/// The shift for a patient: between 1 and [`MAX_SHIFT_DAYS`] days into the past.
pub fn shift_for(key: &ProjectKey, patient_identity: &str) -> i64 {
    let h = key.mac("date-shift", patient_identity.as_bytes());
    let v = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
    -(1 + (v % MAX_SHIFT_DAYS as u64) as i64)
}

fn digits(s: &str) -> Option<i64> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Shifts the date at the start of `s` (YYYY, YYYYMM or YYYYMMDD; the old `YYYY.MM.DD` form is
/// accepted and written as YYYYMMDD). Returns the shifted text, keeping what follows the date and
/// the original precision. `None` when the text is not a valid date.
fn shift_date_prefix(s: &str, days: i64) -> Option<String> {
    if !s.is_ascii() {
        return None;
    }
    let (date, rest) = if s.len() >= 10 && s.as_bytes()[4] == b'.' && s.as_bytes()[7] == b'.' {
        (s[..10].replace('.', ""), &s[10..])
    } else {
        let n = s.bytes().take_while(|b| b.is_ascii_digit()).count().min(8);
        (s[..n].to_string(), &s[n..])
    };
    let (y, m, d, precision) = match date.len() {
        8 => (
            digits(&date[..4])?,
            digits(&date[4..6])?,
            digits(&date[6..8])?,
            8,
        ),
        6 => (digits(&date[..4])?, digits(&date[4..6])?, 1, 6),
        4 => (digits(&date[..4])?, 1, 1, 4),
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m as u32, d as u32)?;
    let moved = date.checked_add_signed(TimeDelta::try_days(days)?)?;
    if !(0..=9999).contains(&moved.year()) {
        return None;
    }
    let shifted = format!("{:04}{:02}{:02}", moved.year(), moved.month(), moved.day());
    Some(format!("{}{}", &shifted[..precision], rest))
}

/// Shifts one DA value (a range `A-B` shifts both ends).
pub fn shift_da(value: &str, days: i64) -> Option<String> {
    if value.is_empty() {
        return Some(String::new());
    }
    if let Some((a, b)) = value.split_once('-') {
        let a = if a.is_empty() {
            String::new()
        } else {
            shift_date_prefix(a, days)?
        };
        let b = if b.is_empty() {
            String::new()
        } else {
            shift_date_prefix(b, days)?
        };
        return Some(format!("{a}-{b}"));
    }
    let out = shift_date_prefix(value, days)?;
    // A DA is only a date: anything after it makes it invalid.
    (out.len() == 8 || out.len() == 6 || out.len() == 4).then_some(out)
}

/// Shifts one DT value: the date part moves, time and UTC offset stay.
pub fn shift_dt(value: &str, days: i64) -> Option<String> {
    if value.is_empty() {
        return Some(String::new());
    }
    let rest_ok = |r: &str| r.bytes().all(|b| b.is_ascii_digit() || b"+-.".contains(&b));
    let out = shift_date_prefix(value, days)?;
    rest_ok(&out).then_some(out)
}

/// Shifts a date held in a text element (a private LO or SH, or a DA or DT): a DA (or a DA
/// range), or a DT that starts with a whole date. `None` for anything else, such as
/// `2014-10-23`, whose month and day a prefix shift would leave untouched.
pub fn shift_text_date(value: &str, days: i64) -> Option<String> {
    let value = value.trim();
    let whole_date = value.len() > 8 && value.bytes().take(8).all(|b| b.is_ascii_digit());
    shift_da(value, days).or_else(|| whole_date.then(|| shift_dt(value, days)).flatten())
}

/// Seconds in `days` days.
fn seconds(days: i64) -> Option<i64> {
    days.checked_mul(86_400)
}

/// Shifts a count of seconds since 1970 written as text (IS, DS, LO): by whole days, so the
/// time of day stays. `0`, the usual "not set", stays 0. `None` when it is not a number.
pub fn shift_epoch_text(value: &str, days: i64) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return Some(String::new());
    }
    if let Ok(n) = value.parse::<i64>() {
        return Some(
            if n == 0 {
                0
            } else {
                n.checked_add(seconds(days)?)?
            }
            .to_string(),
        );
    }
    let x = value.parse::<f64>().ok().filter(|x| x.is_finite())?;
    Some(
        if x == 0.0 {
            x
        } else {
            x + seconds(days)? as f64
        }
        .to_string(),
    )
}

/// Shifts binary numbers that count seconds since 1970 (SL, UL, SV, UV, FL, FD, little endian)
/// by whole days; `0` stays. `None` for other VRs, a length that is not a whole number of
/// values, or a result that does not fit the VR.
pub fn shift_epoch_binary(vr: Vr, bytes: &[u8], days: i64) -> Option<Vec<u8>> {
    let secs = seconds(days)?;
    let width = vr.binary_width();
    if width < 4 || !bytes.len().is_multiple_of(width) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    for c in bytes.chunks_exact(width) {
        // Each arm reads one value of its type, shifts it unless it is 0, and writes it back.
        macro_rules! shift {
            (int $t:ty) => {{
                let v = <$t>::from_le_bytes(c.try_into().ok()?);
                let v = if v == 0 {
                    v
                } else {
                    <$t>::try_from(i128::from(v) + i128::from(secs)).ok()?
                };
                out.extend(v.to_le_bytes());
            }};
            (float $t:ty) => {{
                let v = <$t>::from_le_bytes(c.try_into().ok()?);
                out.extend(if v == 0.0 { v } else { v + secs as $t }.to_le_bytes());
            }};
        }
        match vr {
            Vr::SL => shift!(int i32),
            Vr::UL => shift!(int u32),
            Vr::SV => shift!(int i64),
            Vr::UV => shift!(int u64),
            Vr::FL => shift!(float f32),
            Vr::FD => shift!(float f64),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_keep_intervals_and_precision() {
        assert_eq!(shift_da("20000301", -1).unwrap(), "20000229");
        assert_eq!(shift_da("20240101", -366).unwrap(), "20221231");
        assert_eq!(shift_da("1999.12.31", 1).unwrap(), "20000101");
        assert_eq!(
            shift_da("20010315-20010320", -10).unwrap(),
            "20010305-20010310"
        );
        assert_eq!(
            shift_dt("20010315123000.5+0100", -14).unwrap(),
            "20010301123000.5+0100"
        );
        assert_eq!(shift_dt("2001", -400).unwrap(), "1999");
        assert_eq!(shift_da("00000101", -1), None, "no year before 0");
        assert_eq!(shift_da("99991231", 1), None, "no year after 9999");
        assert!(shift_da("20011345", 1).is_none());
        assert!(shift_da("hello", 1).is_none());
        assert!(shift_da("20010230", 1).is_none());
        assert!(shift_da("2021.03.1é", 1).is_none());
        assert!(shift_dt("2021.03.1é12", 1).is_none());
    }

    #[test]
    fn private_dates_in_text_and_epoch_seconds() {
        assert_eq!(
            shift_text_date("20141023110036.00", -1).unwrap(),
            "20141022110036.00"
        );
        assert_eq!(shift_text_date(" 20141023 ", -1).unwrap(), "20141022");
        assert_eq!(shift_text_date("2014", -1).unwrap(), "2013");
        assert!(shift_text_date("2014-10-23", -1).is_none());
        assert!(shift_text_date("Oct 23 2014", -1).is_none());
        assert_eq!(shift_epoch_text("1601338497", -1).unwrap(), "1601252097");
        assert_eq!(shift_epoch_text("0", -1).unwrap(), "0");
        assert_eq!(shift_epoch_text("1.5", 1).unwrap(), "86401.5");
        assert!(shift_epoch_text("soon", 1).is_none());
        let sl = shift_epoch_binary(Vr::SL, &1_601_338_497i32.to_le_bytes(), -2).unwrap();
        assert_eq!(
            i32::from_le_bytes(sl.try_into().unwrap()),
            1_601_338_497 - 172_800
        );
        let fd = shift_epoch_binary(Vr::FD, &0f64.to_le_bytes(), -2).unwrap();
        assert_eq!(fd, 0f64.to_le_bytes());
        assert!(
            shift_epoch_binary(Vr::UL, &100u32.to_le_bytes(), -1).is_none(),
            "before 1970"
        );
        assert!(shift_epoch_binary(Vr::US, &[1, 0], -1).is_none());
        assert!(shift_epoch_binary(Vr::SL, &[1, 0, 0], -1).is_none());
    }

    #[test]
    fn per_patient_shift_is_stable_and_bounded() {
        let k = ProjectKey::from_bytes([9; 32]);
        let a = shift_for(&k, "PAT-1");
        assert_eq!(a, shift_for(&k, "PAT-1"));
        assert!((-MAX_SHIFT_DAYS..=-1).contains(&a));
    }
}
