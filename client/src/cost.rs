//! Prices and cost: `codexctl model price`, and how costs and cache hits are written in
//! `usage`, `sessions` and `model list`. The daemon prices requests and sums costs (exact
//! pico-dollars); this only formats what it says. "No price set" is never shown as $0.

use codex_launcher_dbus::{ManagerProxy, ModelPrices, PICO_USD_PER_USD, PricedModel};
use serde::Serialize;

use crate::cli::PriceArgs;
use crate::error::{CliError, Kind, Result};
use crate::output;

/// Pico-dollars in a micro-dollar (the six decimals shown, as in the journal's `COST_USD`).
const PICO_PER_MICRO: u64 = PICO_USD_PER_USD / 1_000_000;

/// `0.050250`: dollars with six decimals, rounded to the nearest micro-dollar, halves up.
pub fn usd(pico: u64) -> String {
    let micro = pico / PICO_PER_MICRO + u64::from(pico % PICO_PER_MICRO >= PICO_PER_MICRO / 2);
    format!("{}.{:06}", micro / 1_000_000, micro % 1_000_000)
}

/// The cost as JSON gives it: six decimals as text (exact, unlike a float), or `null` when
/// no request had a price.
pub fn cost_json(pico: u64, priced_requests: u64) -> Option<String> {
    (priced_requests > 0).then(|| usd(pico))
}

/// A cost cell: `$0.050250`, `no price set`, `$0.050250 + 2 unpriced` (some requests had no
/// price), `-` before any request.
pub fn cost_cell(pico: u64, priced_requests: u64, requests: u64) -> String {
    let unpriced = requests.saturating_sub(priced_requests);
    match (requests, priced_requests) {
        (0, _) => "-".to_owned(),
        (_, 0) => "no price set".to_owned(),
        _ if unpriced > 0 => format!("${} + {unpriced} unpriced", usd(pico)),
        _ => format!("${}", usd(pico)),
    }
}

/// The cache hit rate, cached ÷ input tokens, as a whole percentage (rounded down, so 100 %
/// means all of it); `-` without input.
pub fn hit_cell(cached: u64, input: u64) -> String {
    if input == 0 {
        return "-".to_owned();
    }
    let percent = u128::from(cached.min(input)) * 100 / u128::from(input);
    format!("{percent}%")
}

/// `in $3 · cached $0.3 · write $3.75 · out $15`, or `-` when no price is set.
pub fn prices_cell(p: &ModelPrices) -> String {
    let parts: Vec<String> = [
        ("in", &p.input),
        ("cached", &p.cached_input),
        ("write", &p.cache_write),
        ("out", &p.output),
    ]
    .iter()
    .filter_map(|(label, price)| price.as_ref().map(|v| format!("{label} ${v}")))
    .collect();
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(" · ")
    }
}

/// `codexctl model price --json`: every price, `null` when not set.
#[derive(Debug, Serialize)]
struct PriceJson<'a> {
    endpoint: &'a str,
    model: &'a str,
    prices: PricesJson,
}

#[derive(Debug, Serialize)]
struct PricesJson {
    input: Option<String>,
    cached_input: Option<String>,
    cache_write: Option<String>,
    output: Option<String>,
    as_of: Option<String>,
}

/// `codexctl model price ENDPOINT MODEL [--input X] [--cached X] [--cache-write X]
/// [--output X]`: set the prices given (empty text unsets one), then show the model's.
pub async fn price(m: &ManagerProxy<'_>, args: PriceArgs, json: bool) -> Result<()> {
    let edit = ModelPrices {
        input: args.input,
        cached_input: args.cached,
        cache_write: args.cache_write,
        output: args.output,
        as_of: None,
    };
    if edit != ModelPrices::default() {
        m.set_model_prices(&args.endpoint, &args.model, edit)
            .await?;
    }
    let prices = m
        .list_model_prices(&args.endpoint)
        .await?
        .into_iter()
        .find(|p| p.model == args.model)
        .map(|p: PricedModel| p.prices)
        .ok_or_else(|| {
            CliError::new(
                Kind::NotFound,
                format!(
                    "endpoint `{}` has no model `{}` (`codexctl model list {}`)",
                    args.endpoint, args.model, args.endpoint
                ),
            )
        })?;
    if json {
        return output::json(&PriceJson {
            endpoint: &args.endpoint,
            model: &args.model,
            prices: PricesJson {
                input: prices.input,
                cached_input: prices.cached_input,
                cache_write: prices.cache_write,
                output: prices.output,
                as_of: prices.as_of,
            },
        });
    }
    let per_million = |p: &Option<String>, fallback: &str| match p {
        Some(v) => format!("${v} per million tokens"),
        None => fallback.to_owned(),
    };
    let source = match &prices.as_of {
        Some(day) => format!("list prices read {day}"),
        None if prices == ModelPrices::default() => "no price set".to_owned(),
        None => "set by you".to_owned(),
    };
    output::key_values(&[
        ("model", format!("{} on {}", args.model, args.endpoint)),
        ("input", per_million(&prices.input, "no price set")),
        (
            "cached input",
            per_million(&prices.cached_input, "the input price"),
        ),
        (
            "cache write",
            per_million(&prices.cache_write, "the input price"),
        ),
        ("output", per_million(&prices.output, "no price set")),
        ("prices", source),
    ]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_show_six_decimals_and_never_a_missing_price_as_zero() {
        assert_eq!(usd(0), "0.000000");
        assert_eq!(usd(50_250_000_000), "0.050250");
        assert_eq!(usd(499_999), "0.000000");
        assert_eq!(usd(500_000), "0.000001", "halves up");
        assert_eq!(usd(12 * PICO_USD_PER_USD + 345_678_900_000), "12.345679");
        assert_eq!(cost_cell(0, 0, 0), "-");
        assert_eq!(cost_cell(0, 0, 3), "no price set");
        assert_eq!(cost_cell(0, 3, 3), "$0.000000", "a price of $0 is a price");
        assert_eq!(cost_cell(50_250_000_000, 2, 3), "$0.050250 + 1 unpriced");
        assert_eq!(cost_json(1_000_000, 1).as_deref(), Some("0.000001"));
        assert_eq!(cost_json(0, 0), None);
    }

    #[test]
    fn cache_hits_are_cached_over_input() {
        assert_eq!(hit_cell(0, 0), "-");
        assert_eq!(hit_cell(750, 1_000), "75%");
        assert_eq!(hit_cell(999, 1_000), "99%", "100% only when all of it");
        assert_eq!(hit_cell(2_000, 1_000), "100%");
    }

    #[test]
    fn prices_are_listed_by_kind() {
        assert_eq!(prices_cell(&ModelPrices::default()), "-");
        let p = ModelPrices {
            input: Some("3".into()),
            output: Some("15".into()),
            ..ModelPrices::default()
        };
        assert_eq!(prices_cell(&p), "in $3 · out $15");
    }
}
