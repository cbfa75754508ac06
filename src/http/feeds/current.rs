//! The current rendering of a feed, by the one path every feed takes:
//! the cached rendering when its stamp is current, else a new one, made on
//! a blocking thread and cached (see [`super::cache`]).

use std::sync::Arc;

use super::cache::Key;
use super::representation::Rendered;
use crate::http::{AppState, HttpError};
use crate::store::{Store, StoreError};

/// The current rendering of a feed: the cached one if it was made from the
/// current stamp, else a new one (rendered on a blocking thread and cached).
/// The subscribe panel uses it too, to tell a feed's size before
/// offering it.
pub async fn rendered_feed<S, R>(
    state: &AppState,
    key: Key,
    stamp: S,
    render: R,
) -> Result<Arc<Rendered>, HttpError>
where
    S: FnOnce(&Store) -> Result<String, StoreError> + Send + 'static,
    R: FnOnce(&Store) -> Result<(String, Rendered), StoreError> + Send + 'static,
{
    // Read before any stamp or data, so whatever is read next is at least
    // as new as the database at this version. `None` on PostgreSQL: the
    // stamp is read on every request (no shortcut across machines).
    let data_version = state.store.data_version()?;
    if let Some(hit) = data_version.and_then(|v| state.feeds.get_verified(&key, v)) {
        return Ok(hit);
    }
    let current = state.db(stamp).await?;
    Ok(match state.feeds.get(&key, &current, data_version) {
        Some(hit) => hit,
        None => {
            let (stamp, rendered) = state.db(render).await?;
            let rendered = Arc::new(rendered);
            state
                .feeds
                .insert(key, stamp, data_version, rendered.clone());
            rendered
        }
    })
}
