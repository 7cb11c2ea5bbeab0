//! `weft graph --profile TRACE`: the time a run spent in each `let`, from
//! the Chrome trace-event file `weft run --profile` writes (language.md
//! §14): complete events (`"ph": "X"`) whose `args.lets` names the lets the
//! kernel computes. An event's `dur` is split equally among the lets it
//! names; other events (metadata, compile events) are not counted.

use std::collections::HashMap;

use serde_json::Value;

/// Time per `let` name, in µs, and the total of the counted events.
#[derive(Debug, Default, PartialEq)]
pub struct Profile {
    pub per_let: HashMap<String, f64>,
    pub total_us: f64,
    /// Events counted.
    pub events: usize,
}

/// Parses a trace's text. Err: what is wrong with it, for a message about
/// bad data.
pub fn parse(text: &str) -> Result<Profile, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    // The object format (`{"traceEvents": [..]}`), or the bare array format.
    let events = match &doc {
        Value::Object(o) => match o.get("traceEvents") {
            Some(Value::Array(a)) => a,
            Some(_) => return Err("`traceEvents` is not a list".to_string()),
            None => return Err("no `traceEvents` list: not a Chrome trace-event file".to_string()),
        },
        Value::Array(a) => a,
        _ => {
            return Err("not a Chrome trace-event file (an object with `traceEvents`)".to_string())
        }
    };
    let mut p = Profile::default();
    for (i, ev) in events.iter().enumerate() {
        if ev.get("ph").and_then(Value::as_str) != Some("X") {
            continue;
        }
        let Some(lets) = ev.get("args").and_then(|a| a.get("lets")) else {
            continue;
        };
        let Value::Array(lets) = lets else {
            return Err(format!("event {i}: `args.lets` is not a list"));
        };
        let mut names = Vec::with_capacity(lets.len());
        for l in lets {
            match l.as_str() {
                Some(s) => names.push(s),
                None => return Err(format!("event {i}: `args.lets` holds {l}, not a name")),
            }
        }
        let dur = match ev.get("dur") {
            Some(d) => d
                .as_f64()
                .filter(|d| d.is_finite() && *d >= 0.0)
                .ok_or_else(|| {
                    format!("event {i}: `dur` is {d}, not a non-negative number of µs")
                })?,
            None => {
                return Err(format!(
                    "event {i}: a complete event (\"ph\": \"X\") without `dur`"
                ))
            }
        };
        p.total_us += dur;
        p.events += 1;
        if names.is_empty() {
            continue;
        }
        let share = dur / names.len() as f64;
        for n in names {
            *p.per_let.entry(n.to_string()).or_insert(0.0) += share;
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn splits_an_event_among_its_lets() {
        let p = parse(
            r#"{"traceEvents": [
                {"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "weft"}},
                {"ph": "X", "cat": "compile", "name": "jit", "ts": 0, "dur": 100},
                {"ph": "X", "name": "k0", "ts": 1, "dur": 6, "args": {"kernel": 0, "lets": ["h", "loss"]}},
                {"ph": "X", "name": "k1", "ts": 9, "dur": 2.5, "args": {"kernel": 1, "lets": ["h"]}}
            ]}"#,
        )
        .expect("a trace");
        assert_eq!(p.events, 2);
        assert_eq!(p.total_us, 8.5);
        assert_eq!(p.per_let["h"], 5.5);
        assert_eq!(p.per_let["loss"], 3.0);
    }

    #[test]
    fn bad_traces_are_errors() {
        for (text, want) in [
            ("{", "not JSON"),
            ("3", "not a Chrome trace"),
            (r#"{"events": []}"#, "no `traceEvents`"),
            (r#"{"traceEvents": {}}"#, "not a list"),
            (
                r#"{"traceEvents": [{"ph": "X", "args": {"lets": ["a"]}}]}"#,
                "without `dur`",
            ),
            (
                r#"{"traceEvents": [{"ph": "X", "dur": -1, "args": {"lets": ["a"]}}]}"#,
                "not a non-negative",
            ),
            (
                r#"{"traceEvents": [{"ph": "X", "dur": 1, "args": {"lets": [1]}}]}"#,
                "not a name",
            ),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
