//! What requests cost: the prices a request is charged at, sums of exact dollars per session
//! and per endpoint/model, and the edits users make to a model's prices.
//!
//! Sums are [`Usd`] (exact pico-dollars), never floats. "No price set" is not $0: a request
//! without a price adds nothing to [`Cost::usd`] and is not among [`Cost::priced_requests`],
//! so clients can say how many requests had no price.

use codex_launcher_engine::model::Endpoint;
use codex_launcher_engine::presets;
use codex_launcher_engine::pricing::{PerMillion, Prices, Tokens, Usd};
use codex_launcher_types::CacheTtl;

use crate::error::StateError;

/// The cost of some requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// What the priced requests cost, exactly.
    pub usd: Usd,
    /// How many requests had a price (the others had none set).
    pub priced_requests: u64,
}

impl Cost {
    /// Count one request's cost (`None`: it had no price).
    pub fn add(&mut self, cost: Option<Usd>) {
        if let Some(usd) = cost {
            self.usd += usd;
            self.priced_requests = self.priced_requests.saturating_add(1);
        }
    }
}

/// The prices a request for `model` on `endpoint` is charged at: the model's own (a model the
/// endpoint does not list has none). The stored cache-write price is the five-minute one, as
/// Anthropic lists it; an endpoint caching for one hour writes at twice the input price
/// instead (Anthropic's pricing of cache writes by TTL,
/// <https://platform.claude.com/docs/en/build-with-claude/prompt-caching>).
pub fn prices_for(endpoint: &Endpoint, model: &str) -> Option<Prices> {
    let mut prices = endpoint
        .models
        .iter()
        .find(|m| m.id == model)?
        .prices
        .clone();
    if endpoint.cache == CacheTtl::OneHour
        && let Some(input) = prices.input
    {
        prices.cache_write = Some(PerMillion::from_micro_usd(
            input.micro_usd().saturating_mul(2),
        ));
    }
    Some(prices)
}

/// What one request cost, or `None` when a price it needs is not set (or the endpoint is
/// gone).
pub fn request_cost(endpoint: Option<&Endpoint>, model: &str, tokens: &Tokens) -> Option<Usd> {
    prices_for(endpoint?, model)?.cost(tokens)
}

/// A new endpoint made from a preset gets the preset's dated list prices for its models that
/// have none: a client's model spec carries no prices (the contract keeps them apart), so
/// they would be lost on the way.
pub fn with_preset_prices(endpoint: &mut Endpoint) {
    if endpoint.preset.is_empty() {
        return;
    }
    let Some(preset) = presets::presets()
        .into_iter()
        .find(|p| p.id == endpoint.preset)
    else {
        return;
    };
    for m in endpoint.models.iter_mut().filter(|m| m.prices.is_empty()) {
        if let Some(listed) = preset.endpoint.models.iter().find(|p| p.id == m.id) {
            m.prices = listed.prices.clone();
        }
    }
}

/// A change to a model's prices: each `Some` replaces that price, `Some(None)` unsets it,
/// `None` leaves it as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceEdit {
    /// Uncached input.
    pub input: Option<Option<PerMillion>>,
    /// Input read from the cache.
    pub cached_input: Option<Option<PerMillion>>,
    /// Input written to the cache (five-minute writes).
    pub cache_write: Option<Option<PerMillion>>,
    /// Output.
    pub output: Option<Option<PerMillion>>,
}

impl PriceEdit {
    /// An edit from text as users type it, dollars per million tokens (`3`, `0.30`, `$3.75`);
    /// an empty string unsets that price.
    pub fn parse(
        input: Option<&str>,
        cached_input: Option<&str>,
        cache_write: Option<&str>,
        output: Option<&str>,
    ) -> Result<PriceEdit, StateError> {
        let price = |text: Option<&str>, what: &str| -> Result<_, StateError> {
            match text.map(str::trim) {
                None => Ok(None),
                Some("") => Ok(Some(None)),
                Some(t) => t
                    .parse::<PerMillion>()
                    .map(|p| Some(Some(p)))
                    .map_err(|e| StateError::InvalidArgument(format!("{what} price: {e}"))),
            }
        };
        Ok(PriceEdit {
            input: price(input, "input")?,
            cached_input: price(cached_input, "cached input")?,
            cache_write: price(cache_write, "cache write")?,
            output: price(output, "output")?,
        })
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self == &PriceEdit::default()
    }

    /// Apply to `prices`. A changed price is the user's, no longer the dated list price, so
    /// the list-price date goes.
    pub fn apply(&self, prices: &mut Prices) {
        let fields = [
            (&self.input, &mut prices.input),
            (&self.cached_input, &mut prices.cached_input),
            (&self.cache_write, &mut prices.cache_write),
            (&self.output, &mut prices.output),
        ];
        for (edit, price) in fields {
            if let Some(new) = edit {
                *price = *new;
            }
        }
        if !self.is_empty() {
            prices.as_of.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use codex_launcher_engine::model::Model;

    use super::*;

    fn sonnet() -> Model {
        Model {
            prices: Prices::list(3.0, 0.30, 3.75, 15.0, "2026-12-02"),
            ..Model::bare("claude-sonnet-4-6")
        }
    }

    fn anthropic(cache: CacheTtl) -> Endpoint {
        Endpoint {
            id: "claude".into(),
            models: vec![sonnet(), Model::bare("unpriced")],
            cache,
            ..Endpoint::default()
        }
    }

    const TOKENS: Tokens = Tokens {
        input: 30_000,
        cached_input: 20_000,
        cache_write_input: 9_000,
        output: 500,
    };

    #[test]
    fn a_request_is_charged_at_its_models_prices() {
        let e = anthropic(CacheTtl::FiveMinutes);
        // 1,000 × 3 + 20,000 × 0.30 + 9,000 × 3.75 + 500 × 15 micro-dollars.
        let cost = request_cost(Some(&e), "claude-sonnet-4-6", &TOKENS).unwrap();
        assert_eq!(cost.micro_usd(), 3_000 + 6_000 + 33_750 + 7_500);
        assert_eq!(request_cost(Some(&e), "unpriced", &TOKENS), None);
        assert_eq!(request_cost(Some(&e), "not-listed", &TOKENS), None);
        assert_eq!(request_cost(None, "claude-sonnet-4-6", &TOKENS), None);
    }

    #[test]
    fn one_hour_writes_cost_twice_the_input_price() {
        let e = anthropic(CacheTtl::OneHour);
        let p = prices_for(&e, "claude-sonnet-4-6").unwrap();
        assert_eq!(p.cache_write.unwrap().to_string(), "6");
        let cost = request_cost(Some(&e), "claude-sonnet-4-6", &TOKENS).unwrap();
        assert_eq!(cost.micro_usd(), 3_000 + 6_000 + 54_000 + 7_500);
        // No input price: nothing to double (and no cost without one).
        let mut e = e;
        e.models[0].prices.input = None;
        assert_eq!(
            prices_for(&e, "claude-sonnet-4-6").unwrap().cache_write,
            sonnet().prices.cache_write
        );
    }

    #[test]
    fn an_endpoint_from_a_preset_gets_its_list_prices() {
        let preset = presets::presets()
            .into_iter()
            .find(|p| p.id == "anthropic")
            .unwrap();
        let mut e = preset.endpoint.clone();
        e.preset = "anthropic".into();
        for m in &mut e.models {
            m.prices = Prices::default();
        }
        e.models.push(Model::bare("not-in-the-preset"));
        // A price the client did send is kept.
        e.models[1].prices = Prices::list(1.0, 0.0, 0.0, 1.0, "");
        with_preset_prices(&mut e);
        assert_eq!(e.models[0].prices, preset.endpoint.models[0].prices);
        assert!(!e.models[0].prices.as_of.is_empty());
        assert_eq!(e.models[1].prices, Prices::list(1.0, 0.0, 0.0, 1.0, ""));
        assert!(e.models.last().unwrap().prices.is_empty());
    }

    #[test]
    fn sums_are_exact_and_count_the_priced_requests() {
        let mut c = Cost::default();
        // A million requests of one pico-dollar each: one micro-dollar, no float drift.
        for _ in 0..1_000_000 {
            c.add(Some(Usd::from_pico_usd(1)));
        }
        c.add(None);
        assert_eq!(c.usd.micro_usd(), 1);
        assert_eq!(c.priced_requests, 1_000_000);
        let mut free = Cost::default();
        free.add(Some(Usd::ZERO));
        assert_eq!(free.priced_requests, 1, "a price of $0 is a price");
    }

    #[test]
    fn price_edits_change_what_they_name_and_drop_the_list_date() {
        let mut p = sonnet().prices;
        let edit = PriceEdit::parse(Some("$2.5"), None, Some(""), None).unwrap();
        edit.apply(&mut p);
        assert_eq!(p.input.unwrap().to_string(), "2.5");
        assert_eq!(
            p.cached_input.unwrap().to_string(),
            "0.3",
            "not named: kept"
        );
        assert_eq!(p.cache_write, None, "empty: unset");
        assert_eq!(p.as_of, "", "the user's prices now");
        let mut q = sonnet().prices;
        PriceEdit::default().apply(&mut q);
        assert_eq!(q, sonnet().prices, "an empty edit changes nothing");
        let err = PriceEdit::parse(None, Some("-1"), None, None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cached input price: `-1` is not a price"),
            "{err}"
        );
    }
}
