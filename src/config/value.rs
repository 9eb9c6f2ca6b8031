//! Kafka's config value types and validators (`ConfigDef.Type`, `Range`, `ValidString`,
//! `ValidList`), applied to the strings users write.

use super::error::ConfigError;

/// Kafka's config type codes, as DescribeConfigs (v3+) reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
    Class = 8,
    Password = 9,
}

/// The validator Kafka attaches to a key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Check {
    None,
    AtLeast(i64),
    Between(i64, i64),
    /// A double in [0, 1].
    Ratio,
    OneOf(&'static [&'static str]),
    /// A list whose every element is one of these.
    ListOf(&'static [&'static str]),
    /// -1 (the codec's default) or 1..=9.
    GzipLevel,
    /// `*` or `partition:broker` pairs.
    ThrottledReplicas,
}

/// A key with its Kafka type, default and validator.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyDef {
    pub name: &'static str,
    pub ty: ConfigType,
    /// The default Strata applies; `None` is Kafka's "null" default.
    pub default: Option<&'static str>,
    pub check: Check,
}

/// A validated value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Parsed {
    Bool(bool),
    /// Int, Short and Long, already range-checked for their width.
    Number(i64),
    Double(f64),
    Text(String),
    List(Vec<String>),
}

impl Parsed {
    pub fn number(&self) -> i64 {
        match self {
            Parsed::Number(n) => *n,
            _ => 0,
        }
    }
}

/// Splits a list value as Kafka does: on commas, trimming each element; "" is the empty list.
pub(crate) fn split_list(raw: &str) -> Vec<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed.split(',').map(|s| s.trim().to_string()).collect()
}

/// Parses and validates `raw` for `def`, naming the key and value in any error. Type errors show
/// the value as written; range errors show it as Kafka prints the parsed value ("+7" is "7",
/// "2" is "2.0" for a double), and list validators show the element or list they refuse.
pub(crate) fn parse_value(def: &KeyDef, raw: &str) -> Result<Parsed, ConfigError> {
    let bad = |reason: String| ConfigError::invalid(def.name, raw, reason);
    let trimmed = raw.trim();
    let parsed = match def.ty {
        ConfigType::Boolean => {
            if trimmed.eq_ignore_ascii_case("true") {
                Parsed::Bool(true)
            } else if trimmed.eq_ignore_ascii_case("false") {
                Parsed::Bool(false)
            } else {
                return Err(bad("Expected value to be either true or false".into()));
            }
        }
        ConfigType::Int => Parsed::Number(
            trimmed
                .parse::<i32>()
                .map_err(|_| bad("Not a number of type INT".into()))?
                .into(),
        ),
        ConfigType::Short => Parsed::Number(
            trimmed
                .parse::<i16>()
                .map_err(|_| bad("Not a number of type SHORT".into()))?
                .into(),
        ),
        ConfigType::Long => Parsed::Number(
            trimmed
                .parse::<i64>()
                .map_err(|_| bad("Not a number of type LONG".into()))?,
        ),
        ConfigType::Double => {
            let d = trimmed
                .parse::<f64>()
                .map_err(|_| bad("Not a number of type DOUBLE".into()))?;
            if !d.is_finite() {
                return Err(bad("Not a finite number".into()));
            }
            Parsed::Double(d)
        }
        ConfigType::List => Parsed::List(split_list(raw)),
        ConfigType::String | ConfigType::Class => Parsed::Text(trimmed.to_string()),
        ConfigType::Password => Parsed::Text(raw.to_string()),
    };
    check(def, &parsed)
        .map_err(|(shown, reason)| ConfigError::invalid(def.name, &shown, reason))?;
    Ok(parsed)
}

/// Kafka's `Range`: the lower bound is checked first, and each bound has its own message. Bounds
/// print as Rust prints them, which for the ratio's 0.0 and 1.0 is Kafka's "0" and "1".
fn range<T: PartialOrd + std::fmt::Display>(
    value: T,
    lo: Option<T>,
    hi: Option<T>,
    shown: String,
) -> Result<(), (String, String)> {
    if let Some(lo) = lo.filter(|lo| value < *lo) {
        return Err((shown, format!("Value must be at least {lo}")));
    }
    if let Some(hi) = hi.filter(|hi| value > *hi) {
        return Err((shown, format!("Value must be no more than {hi}")));
    }
    Ok(())
}

/// On failure: the value as Kafka shows it, and the reason.
fn check(def: &KeyDef, value: &Parsed) -> Result<(), (String, String)> {
    match (def.check, value) {
        (Check::None, _) => Ok(()),
        (Check::AtLeast(min), Parsed::Number(n)) => range(*n, Some(min), None, n.to_string()),
        (Check::Between(lo, hi), Parsed::Number(n)) => range(*n, Some(lo), Some(hi), n.to_string()),
        (Check::Ratio, Parsed::Double(d)) => range(*d, Some(0.0), Some(1.0), format_double(*d)),
        (Check::OneOf(allowed), Parsed::Text(s)) if !allowed.contains(&s.as_str()) => Err((
            s.clone(),
            format!("String must be one of: {}", allowed.join(", ")),
        )),
        // Kafka's ValidList checks each element with ValidString and names the first it refuses.
        (Check::ListOf(allowed), Parsed::List(items)) => {
            match items.iter().find(|i| !allowed.contains(&i.as_str())) {
                Some(item) => Err((
                    item.clone(),
                    format!("String must be one of: {}", allowed.join(", ")),
                )),
                None => Ok(()),
            }
        }
        (Check::GzipLevel, Parsed::Number(n)) if *n != -1 && !(1..=9).contains(n) => Err((
            n.to_string(),
            "Value must be between 1 and 9 or equal to -1".into(),
        )),
        (Check::ThrottledReplicas, Parsed::List(items)) => check_throttled(def.name, items),
        _ => Ok(()),
    }
}

fn check_throttled(key: &str, items: &[String]) -> Result<(), (String, String)> {
    if items.len() == 1 && items.first().is_some_and(|s| s == "*") {
        return Ok(());
    }
    let pair_ok = |s: &String| {
        s.split_once(':').is_some_and(|(p, b)| {
            p.trim().parse::<u32>().is_ok() && b.trim().parse::<u32>().is_ok()
        })
    };
    if items.iter().all(pair_ok) {
        Ok(())
    } else {
        // Kafka shows the list as Java prints one: "[0:1, *]".
        Err((
            format!("[{}]", items.join(", ")),
            format!("{key} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."),
        ))
    }
}

/// Formats a double as Java's `Double.toString` does: plain between 10^-3 and 10^7 ("0.5",
/// "1.0"), scientific outside ("1.0E9", "1.0E-4").
pub(crate) fn format_double(d: f64) -> String {
    let magnitude = d.abs();
    if d == 0.0 || (1e-3..1e7).contains(&magnitude) {
        if d.fract() == 0.0 {
            format!("{d:.1}")
        } else {
            format!("{d}")
        }
    } else {
        let sci = format!("{d:e}");
        match sci.split_once('e') {
            Some((mantissa, exp)) if mantissa.contains('.') => format!("{mantissa}E{exp}"),
            Some((mantissa, exp)) => format!("{mantissa}.0E{exp}"),
            None => sci,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(ty: ConfigType, check: Check) -> KeyDef {
        KeyDef {
            name: "k",
            ty,
            default: None,
            check,
        }
    }

    #[test]
    fn integer_widths_at_and_past_their_limits() {
        let int = def(ConfigType::Int, Check::None);
        assert_eq!(
            parse_value(&int, "2147483647").unwrap(),
            Parsed::Number(i32::MAX.into())
        );
        assert!(parse_value(&int, "2147483648").is_err());
        assert_eq!(parse_value(&int, " +7 ").unwrap(), Parsed::Number(7));
        let short = def(ConfigType::Short, Check::None);
        assert!(parse_value(&short, "32767").is_ok());
        assert!(parse_value(&short, "32768").is_err());
        let long = def(ConfigType::Long, Check::None);
        assert!(parse_value(&long, "9223372036854775807").is_ok());
        assert!(parse_value(&long, "9223372036854775808").is_err());
        assert!(parse_value(&long, "1h").is_err());
    }

    #[test]
    fn ranges() {
        let at_least = def(ConfigType::Long, Check::AtLeast(-1));
        assert!(parse_value(&at_least, "-1").is_ok());
        assert!(parse_value(&at_least, "-2").is_err());
        let between = def(ConfigType::Int, Check::Between(1, 17));
        assert!(parse_value(&between, "1").is_ok());
        assert!(parse_value(&between, "17").is_ok());
        assert!(parse_value(&between, "0").is_err());
        assert!(parse_value(&between, "18").is_err());
        let ratio = def(ConfigType::Double, Check::Ratio);
        assert!(parse_value(&ratio, "0").is_ok());
        assert!(parse_value(&ratio, "1.0").is_ok());
        assert!(parse_value(&ratio, "1.01").is_err());
        assert!(parse_value(&ratio, "NaN").is_err());
        let gzip = def(ConfigType::Int, Check::GzipLevel);
        for ok in ["-1", "1", "9"] {
            assert!(parse_value(&gzip, ok).is_ok(), "{ok}");
        }
        for bad in ["0", "10", "-2"] {
            assert!(parse_value(&gzip, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn booleans_strings_and_lists() {
        let b = def(ConfigType::Boolean, Check::None);
        assert_eq!(parse_value(&b, " TRUE ").unwrap(), Parsed::Bool(true));
        assert!(parse_value(&b, "yes").is_err());
        let s = def(
            ConfigType::String,
            Check::OneOf(&["CreateTime", "LogAppendTime"]),
        );
        assert!(parse_value(&s, "LogAppendTime").is_ok());
        assert!(parse_value(&s, "logappendtime").is_err());
        let l = def(ConfigType::List, Check::ListOf(&["compact", "delete"]));
        assert_eq!(
            parse_value(&l, " compact , delete ").unwrap(),
            Parsed::List(vec!["compact".into(), "delete".into()])
        );
        assert_eq!(parse_value(&l, "").unwrap(), Parsed::List(vec![]));
        let err = parse_value(&l, "compact,bogus").unwrap_err().to_string();
        assert_eq!(
            err,
            "Invalid value bogus for configuration k: String must be one of: compact, delete"
        );
    }

    #[test]
    fn throttled_replica_lists() {
        let t = def(ConfigType::List, Check::ThrottledReplicas);
        assert!(parse_value(&t, "").is_ok());
        assert!(parse_value(&t, "*").is_ok());
        assert!(parse_value(&t, "0:1,1:2").is_ok());
        assert!(parse_value(&t, "0:1,*").is_err());
        assert!(parse_value(&t, "0-1").is_err());
    }

    #[test]
    fn doubles_format_like_java() {
        assert_eq!(format_double(0.5), "0.5");
        assert_eq!(format_double(1.0), "1.0");
        assert_eq!(format_double(0.0), "0.0");
        assert_eq!(format_double(2.0), "2.0");
        assert_eq!(format_double(1e9), "1.0E9");
        assert_eq!(format_double(1.5e-5), "1.5E-5");
        assert_eq!(format_double(-0.5), "-0.5");
    }
}
