//! Topic name rules, as Apache Kafka's `Topic.validate`.

/// Kafka's limit: 249 characters, so that `<topic>-<partition>` directory names stay under 255.
pub const MAX_NAME_LEN: usize = 249;

/// Why a topic name is refused, worded as Kafka's InvalidTopicException messages.
pub fn validate(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return Err("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "Topic name is illegal, it can't be longer than {MAX_NAME_LEN} characters, topic name: {name}"
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return Err(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// Kafka treats '.' and '_' as the same in metric names, so two topics differing only there collide.
pub fn collision_key(name: &str) -> String {
    name.replace('.', "_")
}

/// Topics whose names start with "__" are Kafka's internal ones.
pub fn is_internal(name: &str) -> bool {
    name == "__consumer_offsets" || name == "__transaction_state"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_limit_is_inclusive() {
        assert!(validate(&"a".repeat(MAX_NAME_LEN)).is_ok());
        assert!(validate(&"a".repeat(MAX_NAME_LEN + 1)).is_err());
    }

    #[test]
    fn illegal_names() {
        for bad in ["", ".", "..", "a b", "a/b", "ä", "a:b"] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "a.b_c-D9", "__consumer_offsets", "..."] {
            assert!(validate(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn dot_and_underscore_collide() {
        assert_eq!(collision_key("a.b"), collision_key("a_b"));
    }
}
