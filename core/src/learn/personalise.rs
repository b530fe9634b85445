//! On-device personalisation: fitting the learner's own FSRS parameters from their log.
//!
//! The training set is built from the event log alone, in its total order, so every device that
//! holds the same events fits the same parameters (the `fsrs` optimiser is seeded). New
//! parameters are adopted only when they predict the learner's log better (lower log loss) than
//! the ones in use. Fitting is long work: it reports progress and is meant to run off the UI
//! thread.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use fsrs::{
    compute_parameters, CombinedProgressState, ComputeParametersInput, FSRSItem, FSRSReview, FSRS,
};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::events::Grade;
use crate::learn::schedule::DAY_MS;
use crate::store::event_log;

/// Training items (reviews after at least a day) below which the `fsrs` optimiser only
/// initialises parameters instead of fitting them.
pub const MINIMUM_TRAINING_ITEMS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error("not enough review history to personalise yet: {items} usable reviews, {needed} needed; keep practising")]
    NotEnoughData { items: usize, needed: usize },
    #[error("fitting FSRS parameters failed ({0}); the current parameters stay in use")]
    Fsrs(String),
    #[error("database error while reading the review log: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct FitReport {
    pub reviews: u32,
    pub training_items: u32,
    pub parameters: Vec<f32>,
    pub log_loss_before: f32,
    pub log_loss_after: f32,
    pub adopted: bool,
}

/// One card's reviews in order: `(FSRS rating, at_ms)`.
pub type ReviewHistory = Vec<(u32, i64)>;

/// The number of reviews and every card's history, in the log's total order.
fn review_histories(conn: &Connection) -> Result<(u32, Vec<ReviewHistory>), FitError> {
    let mut cards: BTreeMap<(String, String), ReviewHistory> = BTreeMap::new();
    let mut reviews = 0;
    event_log::for_each_graded_answer(conn, |answer| {
        let grade = serde_json::Value::String(answer.grade);
        if let Ok(grade) = serde_json::from_value::<Grade>(grade) {
            cards
                .entry((answer.course, answer.step))
                .or_default()
                .push((grade.rating(), answer.at_ms));
            reviews += 1;
        }
    })?;
    Ok((reviews, cards.into_values().collect()))
}

/// FSRS training items: for every review at least a day after the one before it, the card's
/// history up to it; with the index of the card each item comes from.
pub fn training_items(histories: &[ReviewHistory]) -> (Vec<FSRSItem>, Vec<i64>) {
    let mut items = Vec::new();
    let mut card_ids = Vec::new();
    for (card, history) in histories.iter().enumerate() {
        let reviews: Vec<FSRSReview> = history
            .iter()
            .enumerate()
            .map(|(i, (rating, at))| FSRSReview {
                rating: *rating,
                delta_t: if i == 0 {
                    0
                } else {
                    ((at - history[i - 1].1).max(0) / DAY_MS) as u32
                },
            })
            .collect();
        for end in 2..=reviews.len() {
            if reviews[end - 1].delta_t > 0 {
                items.push(FSRSItem {
                    reviews: reviews[..end].to_vec(),
                });
                card_ids.push(card as i64);
            }
        }
    }
    (items, card_ids)
}

/// Fits parameters to the log and says whether they beat `current`.
pub fn fit_parameters(
    conn: &Connection,
    current: &[f32],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<FitReport, FitError> {
    let (reviews, histories) = review_histories(conn)?;
    let (items, card_ids) = training_items(&histories);
    if items.len() < MINIMUM_TRAINING_ITEMS {
        return Err(FitError::NotEnoughData {
            items: items.len(),
            needed: MINIMUM_TRAINING_ITEMS,
        });
    }
    let state = CombinedProgressState::new_shared();
    let input = ComputeParametersInput {
        train_set: items.clone(),
        card_ids: Some(card_ids.clone()),
        progress: Some(Arc::clone(&state)),
        enable_short_term: true,
        ..Default::default()
    };
    let fitted = std::thread::scope(|scope| {
        let worker = scope.spawn(move || compute_parameters(input));
        while !worker.is_finished() {
            report_progress(&state, progress);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        report_progress(&state, progress);
        worker.join()
    })
    .map_err(|_| FitError::Fsrs("the optimiser stopped unexpectedly".into()))?
    .map_err(|e| FitError::Fsrs(format!("optimising: {e}")))?;
    let log_loss = |parameters: &[f32]| -> Result<f32, FitError> {
        let model = FSRS::new(parameters)
            .map_err(|e| FitError::Fsrs(format!("loading parameters: {e}")))?;
        model
            .evaluate_with_card_ids(items.clone(), card_ids.clone(), |_| true)
            .map(|e| e.log_loss)
            .map_err(|e| FitError::Fsrs(format!("evaluating: {e}")))
    };
    let before = log_loss(current)?;
    let after = log_loss(&fitted)?;
    Ok(FitReport {
        reviews,
        training_items: items.len() as u32,
        adopted: after < before,
        parameters: fitted,
        log_loss_before: before,
        log_loss_after: after,
    })
}

fn report_progress(state: &Mutex<CombinedProgressState>, progress: &mut dyn FnMut(usize, usize)) {
    if let Ok(state) = state.lock() {
        progress(state.current(), state.total());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_items_are_every_history_prefix_with_a_day_gap() {
        let day = DAY_MS;
        let histories = vec![vec![(3, 0), (3, 10 * 60_000), (3, 2 * day), (1, 9 * day)]];
        let (items, card_ids) = training_items(&histories);
        // Prefixes ending in a review at least a day after the one before: lengths 3 and 4.
        assert_eq!(items.len(), 2);
        assert_eq!(card_ids, vec![0, 0]);
        assert_eq!(
            items[1]
                .reviews
                .iter()
                .map(|r| r.delta_t)
                .collect::<Vec<_>>(),
            vec![0, 0, 1, 7]
        );
    }
}
