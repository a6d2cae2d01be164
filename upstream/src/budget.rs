//! Per-token request budgets (rate limits) by route class, kept in the store so they hold
//! across several instances of the service.
//!
//! Each (token, class) pair keeps one number, its *theoretical arrival time* (the generic
//! cell rate algorithm): a request is allowed when, after it, the pair would not be more than
//! `burst` requests ahead of the sustained rate. One timestamp per pair and one read-modify-
//! write per request, which both backends do inside a transaction, is all it needs; the
//! decision itself is [`decide`], here once.

use std::time::Duration;

/// The kinds of request with a budget of their own. Deliveries and event batches will get
/// theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Creates, patches and deletes of entities.
    Edits,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Edits => "edits",
        }
    }
}

/// A sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests that may come at once after a quiet spell.
    pub burst: u32,
}

impl Default for Budget {
    /// Far above what a person edits, and what a workstation's outbox pushes after a day
    /// offline drains in seconds: the budget is there to stop a runaway client.
    fn default() -> Self {
        Budget {
            per_second: 50.0,
            burst: 500,
        }
    }
}

impl Budget {
    fn interval_micros(self) -> i64 {
        (1_000_000.0 / self.per_second.max(1e-6)).round() as i64
    }
}

/// What the store does with one request against a pair's stored arrival time (`None` for a
/// pair not seen yet), at `now` (microseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed: store this arrival time.
    Allow { tat: i64 },
    /// Refused: nothing changes; the client may retry after this long.
    Refuse { retry_after: Duration },
}

pub fn decide(budget: Budget, stored: Option<i64>, now: i64) -> Decision {
    let interval = budget.interval_micros();
    let window = interval.saturating_mul(i64::from(budget.burst.max(1)));
    let tat = stored.unwrap_or(now).max(now).saturating_add(interval);
    let ahead = tat - now;
    if ahead <= window {
        Decision::Allow { tat }
    } else {
        Decision::Refuse {
            retry_after: Duration::from_micros((ahead - window) as u64),
        }
    }
}

/// The store key of a (token, class) pair.
pub fn key(token_id: i64, class: Class) -> String {
    format!("{token_id}:{}", class.as_str())
}

/// Now, as [`decide`] counts it.
pub fn now_micros() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    fn take(budget: Budget, tat: &mut Option<i64>, now: i64) -> bool {
        match decide(budget, *tat, now) {
            Decision::Allow { tat: t } => {
                *tat = Some(t);
                true
            }
            Decision::Refuse { .. } => false,
        }
    }

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let b = Budget {
            per_second: 10.0,
            burst: 5,
        };
        let mut tat = None;
        let now = 1_000 * SECOND;
        let allowed = (0..20).filter(|_| take(b, &mut tat, now)).count();
        assert_eq!(allowed, 5, "a burst of five at one instant");
        // A tenth of a second later one more fits, and only one.
        assert!(take(b, &mut tat, now + SECOND / 10));
        assert!(!take(b, &mut tat, now + SECOND / 10));
        // Over ten seconds at twice the rate, about the rate gets through.
        let mut got = 0;
        for i in 0..200 {
            if take(b, &mut tat, now + SECOND + i * SECOND / 20) {
                got += 1;
            }
        }
        assert!((95..=106).contains(&got), "{got} in 10 s at 10/s");
    }

    #[test]
    fn a_refusal_says_when_to_come_back_and_that_time_works() {
        let b = Budget {
            per_second: 2.0,
            burst: 1,
        };
        let mut tat = None;
        assert!(take(b, &mut tat, 0));
        let Decision::Refuse { retry_after } = decide(b, tat, 0) else {
            panic!("the second request at once must be refused");
        };
        assert_eq!(retry_after, Duration::from_millis(500));
        assert!(take(b, &mut tat, retry_after.as_micros() as i64));
    }

    #[test]
    fn a_quiet_spell_does_not_bank_more_than_the_burst() {
        let b = Budget {
            per_second: 1.0,
            burst: 3,
        };
        let mut tat = Some(0);
        let later = 3_600 * SECOND;
        assert_eq!((0..10).filter(|_| take(b, &mut tat, later)).count(), 3);
    }
}
