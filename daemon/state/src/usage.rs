//! Usage per endpoint and model, bounded: a client names the model, so counting by whatever
//! it sends would let one client grow the map without end. Models the endpoint knows are
//! counted by name; anything else under one [`OTHER_MODEL`] row per endpoint; and no more
//! than [`MAX_MODELS_PER_ENDPOINT`] named rows per endpoint.

use std::collections::BTreeMap;

use codex_launcher_engine::pricing::{Tokens, Usd};

use crate::views::{Traffic, UsageRow};

/// The row for models the endpoint does not list.
pub const OTHER_MODEL: &str = "(other)";
/// Named rows kept per endpoint; past it, models go under [`OTHER_MODEL`].
pub const MAX_MODELS_PER_ENDPOINT: usize = 256;

/// The counts.
#[derive(Debug, Default, Clone)]
pub struct Usage {
    rows: BTreeMap<String, BTreeMap<String, Traffic>>,
}

impl Usage {
    /// Count a finished request; `known` says whether the endpoint lists the model.
    pub fn record(
        &mut self,
        endpoint: &str,
        model: &str,
        known: bool,
        tokens: &Tokens,
        failed: bool,
        cost: Option<Usd>,
    ) {
        let models = self.rows.entry(endpoint.to_owned()).or_default();
        let named = known
            && (models.contains_key(model)
                || models.keys().filter(|m| *m != OTHER_MODEL).count() < MAX_MODELS_PER_ENDPOINT);
        let key = if named { model } else { OTHER_MODEL };
        models
            .entry(key.to_owned())
            .or_default()
            .add(tokens, failed, cost);
    }

    /// Every row, by endpoint then model.
    pub fn rows(&self) -> Vec<UsageRow> {
        self.rows
            .iter()
            .flat_map(|(endpoint, models)| {
                models.iter().map(|(model, traffic)| UsageRow {
                    endpoint: endpoint.clone(),
                    model: model.clone(),
                    traffic: *traffic,
                })
            })
            .collect()
    }

    /// Rows in all.
    pub fn len(&self) -> usize {
        self.rows.values().map(BTreeMap::len).sum()
    }

    /// No rows yet.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_models_share_one_row_and_named_rows_are_capped() {
        let t = |input: u64, output: u64| Tokens {
            input,
            output,
            ..Tokens::default()
        };
        let mut u = Usage::default();
        u.record("ds", "deepseek-chat", true, &t(10, 2), false, None);
        u.record("ds", "deepseek-chat", true, &t(5, 1), true, None);
        for i in 0..10_000 {
            u.record("ds", &format!("made-up-{i}"), false, &t(1, 0), false, None);
        }
        let rows = u.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].model, OTHER_MODEL);
        assert_eq!(rows[0].traffic.requests, 10_000);
        assert_eq!(
            rows[1].traffic,
            Traffic {
                requests: 2,
                input_tokens: 15,
                output_tokens: 3,
                errors: 1,
                ..Traffic::default()
            }
        );
        for i in 0..1_000 {
            u.record("big", &format!("listed-{i}"), true, &t(1, 1), false, None);
        }
        assert_eq!(u.len(), 2 + MAX_MODELS_PER_ENDPOINT + 1);
    }

    #[test]
    fn rows_sum_cache_figures_and_exact_costs() {
        let mut u = Usage::default();
        let tokens = Tokens {
            input: 1_000,
            cached_input: 800,
            cache_write_input: 150,
            output: 20,
        };
        let cent = Usd::from_pico_usd(10_000_000_000);
        u.record("c", "m", true, &tokens, false, Some(cent));
        u.record("c", "m", true, &tokens, false, Some(cent));
        u.record("c", "m", true, &tokens, false, None);
        let row = u.rows()[0].traffic;
        assert_eq!(
            (row.cached_input_tokens, row.cache_write_input_tokens),
            (2_400, 450)
        );
        assert_eq!(row.cost.usd.format(2), "0.02");
        assert_eq!((row.requests, row.cost.priced_requests), (3, 2));
    }
}
