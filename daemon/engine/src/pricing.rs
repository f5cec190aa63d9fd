//! Prices per million tokens and the cost of a request, in exact integer arithmetic.
//!
//! # Units and rounding
//! - A price is US dollars per million tokens, held as an integer number of micro-dollars
//!   per million tokens ([`PerMillion`]). A price given with more than six decimals is
//!   rounded to the nearest micro-dollar, halves away from zero (`3.0000005` → `3.000001`).
//! - One token at one micro-dollar per million costs 10⁻¹² $, a pico-dollar, so the cost of a
//!   request is `tokens × price` pico-dollars with no rounding at all ([`Usd`]). Costs add up
//!   exactly across requests, sessions and endpoints (saturating at about $18 million).
//! - Rounding happens only when a cost is shown: [`Usd::micro_usd`] and [`Usd::format`] round
//!   to the nearest unit shown, halves up.
//!
//! # Missing prices
//! "No price set" is not $0: [`Prices::cost`] returns `None` when the input or output price
//! needed for a request's tokens is unset. A missing cached-input or cache-write price means
//! those tokens cost the input price (a host without a cache discount, or one that bills
//! writes as ordinary input, as DeepSeek and OpenAI do).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Micro-dollars in a dollar.
const MICRO: u64 = 1_000_000;
/// Pico-dollars in a dollar.
const PICO: u64 = 1_000_000_000_000;

/// A price in US dollars per million tokens, exact to the micro-dollar. Serialized as a JSON
/// number of dollars (`3.75`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PerMillion {
    micro_usd: u64,
}

/// A price that cannot be one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// Not a number, negative, or not finite.
    #[error("`{0}` is not a price in dollars per million tokens (a number, 0 or more)")]
    Invalid(String),
    /// Beyond what anyone charges (and what the arithmetic holds).
    #[error(
        "`{0}` dollars per million tokens is more than the largest price accepted ($1,000,000)"
    )]
    TooLarge(String),
}

/// The largest accepted price: $1,000,000 per million tokens (a dollar a token).
const MAX_PRICE_MICRO: u64 = MICRO * MICRO;

impl PerMillion {
    /// A price of `micro_usd` millionths of a dollar per million tokens.
    pub const fn from_micro_usd(micro_usd: u64) -> PerMillion {
        PerMillion { micro_usd }
    }

    /// A price in dollars per million tokens, rounded to the micro-dollar (halves away from
    /// zero).
    pub fn from_usd(usd: f64) -> Result<PerMillion, PriceError> {
        if !usd.is_finite() || usd < 0.0 {
            return Err(PriceError::Invalid(usd.to_string()));
        }
        let micro = (usd * MICRO as f64).round();
        if micro > MAX_PRICE_MICRO as f64 {
            return Err(PriceError::TooLarge(usd.to_string()));
        }
        // In range and integral: the cast is exact.
        Ok(PerMillion {
            micro_usd: micro as u64,
        })
    }

    /// Millionths of a dollar per million tokens.
    pub const fn micro_usd(self) -> u64 {
        self.micro_usd
    }

    /// Dollars per million tokens.
    pub fn usd(self) -> f64 {
        self.micro_usd as f64 / MICRO as f64
    }

    /// What `tokens` tokens cost at this price, exactly.
    pub fn cost_of(self, tokens: u64) -> Usd {
        Usd {
            pico: tokens.saturating_mul(self.micro_usd),
        }
    }
}

impl FromStr for PerMillion {
    type Err = PriceError;

    /// Parse a decimal (`3`, `0.30`, `$3.75`) exactly, without going through a float;
    /// digits beyond the sixth decimal round halves away from zero.
    fn from_str(s: &str) -> Result<PerMillion, PriceError> {
        let invalid = || PriceError::Invalid(s.to_owned());
        let t = s.trim().trim_start_matches('$');
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if (whole.is_empty() && frac.is_empty())
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole
                .parse()
                .map_err(|_| PriceError::TooLarge(s.to_owned()))?
        };
        let micro = frac
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(6)
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
        let round_up = frac.as_bytes().get(6).is_some_and(|d| *d >= b'5');
        let total = whole
            .checked_mul(MICRO)
            .and_then(|w| w.checked_add(micro + u64::from(round_up)))
            .filter(|m| *m <= MAX_PRICE_MICRO)
            .ok_or_else(|| PriceError::TooLarge(s.to_owned()))?;
        Ok(PerMillion { micro_usd: total })
    }
}

impl fmt::Display for PerMillion {
    /// Dollars with the decimals the price needs (`3`, `0.3`, `3.75`, `0.000001`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.micro_usd / MICRO;
        let frac = self.micro_usd % MICRO;
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{frac:06}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl Serialize for PerMillion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.usd())
    }
}

impl<'de> Deserialize<'de> for PerMillion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let usd = f64::deserialize(d)?;
        PerMillion::from_usd(usd).map_err(serde::de::Error::custom)
    }
}

/// An amount of US dollars, exact to the pico-dollar (10⁻¹² $).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Usd {
    pico: u64,
}

impl Usd {
    /// Nothing.
    pub const ZERO: Usd = Usd { pico: 0 };

    /// An amount of `pico` pico-dollars.
    pub const fn from_pico_usd(pico: u64) -> Usd {
        Usd { pico }
    }

    /// Pico-dollars (exact).
    pub const fn pico_usd(self) -> u64 {
        self.pico
    }

    /// Micro-dollars, rounded to the nearest, halves up (the journal's precision).
    pub const fn micro_usd(self) -> u64 {
        let per_micro = PICO / MICRO;
        self.pico / per_micro + (self.pico % per_micro >= per_micro / 2) as u64
    }

    /// Dollars as a float (for display and D-Bus; sums should add [`Usd`]s, not floats).
    pub fn usd(self) -> f64 {
        self.pico as f64 / PICO as f64
    }

    /// Dollars with `decimals` decimals (at most 12), rounded to the nearest, halves up:
    /// `format(2)` of 0.005 $ is `0.01`.
    pub fn format(self, decimals: u32) -> String {
        let decimals = decimals.min(12);
        let unit = 10u64.pow(12 - decimals);
        let scaled = self.pico / unit + u64::from(self.pico % unit >= unit.div_ceil(2));
        if decimals == 0 {
            return scaled.to_string();
        }
        let div = 10u64.pow(decimals);
        format!(
            "{}.{:0width$}",
            scaled / div,
            scaled % div,
            width = decimals as usize
        )
    }
}

impl std::ops::Add for Usd {
    type Output = Usd;

    fn add(self, other: Usd) -> Usd {
        Usd {
            pico: self.pico.saturating_add(other.pico),
        }
    }
}

impl std::ops::AddAssign for Usd {
    fn add_assign(&mut self, other: Usd) {
        *self = *self + other;
    }
}

impl std::iter::Sum for Usd {
    fn sum<I: Iterator<Item = Usd>>(iter: I) -> Usd {
        iter.fold(Usd::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Usd {
    /// `$0.012345` (six decimals: the journal's `COST_USD` precision).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}", self.format(6))
    }
}

/// The token counts of one request, as the Responses usage reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    /// The whole prompt, cache reads and writes included.
    pub input: u64,
    /// Of the prompt, tokens read from the provider's cache.
    pub cached_input: u64,
    /// Of the prompt, tokens written to the provider's cache.
    pub cache_write_input: u64,
    /// Generated tokens, reasoning included.
    pub output: u64,
}

impl Tokens {
    /// Prompt tokens neither read from nor written to the cache.
    pub fn uncached_input(&self) -> u64 {
        self.input
            .saturating_sub(self.cached_input)
            .saturating_sub(self.cache_write_input)
    }
}

/// A model's prices per million tokens; any of them may be unset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prices {
    /// Uncached input (a cache miss).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<PerMillion>,
    /// Input read from the cache (a hit); unset: the input price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<PerMillion>,
    /// Input written to the cache; unset: the input price. Anthropic's list price is for the
    /// five-minute TTL; one-hour writes cost twice the input price instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<PerMillion>,
    /// Output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<PerMillion>,
    /// When published list prices were read (`YYYY-MM-DD`); empty for prices a user set.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub as_of: String,
}

impl Prices {
    /// List prices read on `as_of`, in dollars per million tokens.
    pub fn list(
        input: f64,
        cached_input: f64,
        cache_write: f64,
        output: f64,
        as_of: &str,
    ) -> Prices {
        let p = |usd: f64| PerMillion::from_usd(usd).ok();
        Prices {
            input: p(input),
            cached_input: p(cached_input),
            cache_write: p(cache_write),
            output: p(output),
            as_of: as_of.to_owned(),
        }
    }

    /// No price is set at all.
    pub fn is_empty(&self) -> bool {
        self.input.is_none()
            && self.cached_input.is_none()
            && self.cache_write.is_none()
            && self.output.is_none()
    }

    /// What a request with these tokens cost, or `None` when a price it needs is unset
    /// ("no price set", never $0). A price is needed only for a kind of token the request
    /// has: a request with no output is priced without an output price.
    pub fn cost(&self, tokens: &Tokens) -> Option<Usd> {
        if self.is_empty() {
            return None;
        }
        let need = |price: Option<PerMillion>, count: u64| match (price, count) {
            (_, 0) => Some(Usd::ZERO),
            (Some(p), n) => Some(p.cost_of(n)),
            (None, _) => None,
        };
        // Reads and writes fall back to the input price, so they need it when their own is
        // unset.
        let cached = self.cached_input.or(self.input);
        let write = self.cache_write.or(self.input);
        Some(
            need(self.input, tokens.uncached_input())?
                + need(cached, tokens.cached_input.min(tokens.input))?
                + need(write, tokens.cache_write_input.min(tokens.input))?
                + need(self.output, tokens.output)?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(s: &str) -> PerMillion {
        s.parse().expect("a price")
    }

    #[test]
    fn prices_parse_exactly_and_round_half_away_from_zero() {
        assert_eq!(usd("3").micro_usd(), 3_000_000);
        assert_eq!(usd("0.30").micro_usd(), 300_000);
        assert_eq!(usd("$3.75").micro_usd(), 3_750_000);
        assert_eq!(usd(".5").micro_usd(), 500_000);
        assert_eq!(usd("3.0000005").micro_usd(), 3_000_001);
        assert_eq!(usd("3.0000004999").micro_usd(), 3_000_000);
        assert_eq!(usd("0.0000015").micro_usd(), 2);
        for bad in ["", ".", "-1", "1e3", "abc", "1.2.3"] {
            assert!(bad.parse::<PerMillion>().is_err(), "{bad}");
        }
        assert!("1000001".parse::<PerMillion>().is_err());
        assert_eq!(PerMillion::from_usd(0.3).unwrap(), usd("0.3"));
        assert_eq!(
            PerMillion::from_usd(3.0000005).unwrap().micro_usd(),
            3_000_001
        );
        assert!(PerMillion::from_usd(-0.01).is_err());
        assert!(PerMillion::from_usd(f64::NAN).is_err());
        assert!(PerMillion::from_usd(f64::INFINITY).is_err());
        assert_eq!(usd("3.75").to_string(), "3.75");
        assert_eq!(usd("15").to_string(), "15");
        assert_eq!(usd("0.000001").to_string(), "0.000001");
    }

    #[test]
    fn prices_serialize_as_dollars_and_load_from_older_files() {
        let p = Prices::list(3.0, 0.3, 3.75, 15.0, "2026-12-02");
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"input":3.0,"cached_input":0.3,"cache_write":3.75,"output":15.0,"as_of":"2026-12-02"}"#
        );
        assert_eq!(serde_json::from_str::<Prices>(&json).unwrap(), p);
        assert_eq!(
            serde_json::from_str::<Prices>("{}").unwrap(),
            Prices::default()
        );
        assert!(serde_json::from_str::<Prices>(r#"{"input":-1}"#).is_err());
        assert_eq!(serde_json::to_string(&Prices::default()).unwrap(), "{}");
    }

    #[test]
    fn cost_splits_the_prompt_by_cache_state() {
        // Claude Sonnet 4.6 list prices: $3 input, $0.30 hit, $3.75 5-minute write, $15 out.
        let p = Prices::list(3.0, 0.3, 3.75, 15.0, "");
        let t = Tokens {
            input: 30_000,
            cached_input: 20_000,
            cache_write_input: 9_000,
            output: 500,
        };
        // 1,000 × 3 + 20,000 × 0.30 + 9,000 × 3.75 + 500 × 15 micro-dollars.
        let cost = p.cost(&t).unwrap();
        assert_eq!(cost.micro_usd(), 3_000 + 6_000 + 33_750 + 7_500);
        assert_eq!(cost.to_string(), "$0.050250");
        assert_eq!(cost.format(2), "0.05");
        // The same tokens without caching cost the input price throughout.
        let plain = Tokens {
            cached_input: 0,
            cache_write_input: 0,
            ..t
        };
        assert_eq!(p.cost(&plain).unwrap().micro_usd(), 90_000 + 7_500);
    }

    #[test]
    fn no_price_is_not_zero() {
        let t = Tokens {
            input: 1_000,
            output: 10,
            ..Tokens::default()
        };
        assert_eq!(Prices::default().cost(&t), None);
        assert_eq!(Prices::default().cost(&Tokens::default()), None);
        let input_only = Prices {
            input: Some(usd("1")),
            ..Prices::default()
        };
        assert_eq!(
            input_only.cost(&t),
            None,
            "output tokens but no output price"
        );
        let no_output = Tokens { output: 0, ..t };
        assert_eq!(
            input_only.cost(&no_output),
            Some(Usd::from_pico_usd(1_000_000_000))
        );
        let free = Prices::list(0.0, 0.0, 0.0, 0.0, "");
        assert_eq!(free.cost(&t), Some(Usd::ZERO), "a price of $0 is a price");
    }

    #[test]
    fn unset_cache_prices_fall_back_to_the_input_price() {
        let p = Prices {
            input: Some(usd("2")),
            output: Some(usd("8")),
            ..Prices::default()
        };
        let t = Tokens {
            input: 100,
            cached_input: 60,
            cache_write_input: 30,
            output: 1,
        };
        assert_eq!(p.cost(&t).unwrap().pico_usd(), 100 * 2_000_000 + 8_000_000);
        let cached_only = Prices {
            cached_input: Some(usd("0.1")),
            output: Some(usd("8")),
            ..Prices::default()
        };
        assert_eq!(
            cached_only.cost(&t),
            None,
            "uncached tokens need the input price"
        );
    }

    #[test]
    fn rounding_happens_only_when_shown() {
        // 1 token at $0.000001/M is one pico-dollar; a million of them one micro-dollar.
        let tiny = PerMillion::from_micro_usd(1);
        let one = tiny.cost_of(1);
        assert_eq!(one.pico_usd(), 1);
        assert_eq!(one.micro_usd(), 0);
        let sum: Usd = std::iter::repeat_n(tiny.cost_of(1), 1_000_000).sum();
        assert_eq!(sum.micro_usd(), 1, "exact sums, no accumulated rounding");
        // Halves round up.
        assert_eq!(Usd::from_pico_usd(500_000).micro_usd(), 1);
        assert_eq!(Usd::from_pico_usd(499_999).micro_usd(), 0);
        assert_eq!(Usd::from_pico_usd(5_000_000_000).format(2), "0.01");
        assert_eq!(Usd::from_pico_usd(4_999_999_999).format(2), "0.00");
        assert_eq!(
            Usd::from_pico_usd(1_234_567_890_123).format(12),
            "1.234567890123"
        );
        assert_eq!(Usd::from_pico_usd(1_500_000_000_000).format(0), "2");
        // Absurd counts saturate instead of wrapping.
        assert_eq!(usd("1000000").cost_of(u64::MAX).pico_usd(), u64::MAX);
        assert_eq!(
            (Usd::from_pico_usd(u64::MAX) + Usd::from_pico_usd(1)).pico_usd(),
            u64::MAX
        );
    }
}
