//! Exponential backoff with jitter and a cap, for retries after network errors and bad
//! answers: the delay doubles from `base` up to `cap`, and each wait is drawn from the upper
//! half of the current delay so that many daemons do not retry in step.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap: cap.max(base),
            attempt: 0,
        }
    }

    /// The wait before the next retry.
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let factor = 1u32 << self.attempt.min(16);
        let full = self.base.saturating_mul(factor).min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        let half = full / 2;
        half + full.saturating_sub(half).mul_f64(rng.random::<f64>())
    }

    /// After a success the next failure starts from `base` again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn delays_double_with_jitter_up_to_the_cap_and_reset() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let mut ceilings = Vec::new();
        for _ in 0..10 {
            let d = b.next_delay(&mut rng);
            ceilings.push(d);
        }
        let expected_full = [
            500u64, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000,
        ];
        for (d, full) in ceilings.iter().zip(expected_full) {
            let ms = d.as_millis() as u64;
            assert!(
                ms >= full / 2 && ms <= full,
                "{ms} ms not within [{}, {full}]",
                full / 2
            );
        }
        b.reset();
        assert!(b.next_delay(&mut rng) <= Duration::from_millis(500));
    }
}
