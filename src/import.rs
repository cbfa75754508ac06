//! Importing schedule documents from files: `confcal import` and the seed
//! data that `confcal serve` loads into an empty database.

use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::domain::schedule::read_document;
use crate::domain::{Schedule, ValidationError};
use crate::store::{Store, StoreError, SyncReport};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Invalid {
        path: PathBuf,
        source: ValidationError,
    },
    #[error("{}: conference {slug:?} is also in {}", path.display(), other.display())]
    Duplicate {
        path: PathBuf,
        other: PathBuf,
        slug: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads and validates every file before anything is written, then imports
/// them all in one transaction: a bad file changes nothing.
pub fn import_files(
    store: &Store,
    paths: &[PathBuf],
) -> Result<Vec<(PathBuf, SyncReport)>, ImportError> {
    let schedules = load_all(paths)?;
    let reports = store.sync_schedules(&schedules, Utc::now())?;
    Ok(paths.iter().cloned().zip(reports).collect())
}

/// Every file read and validated, no conference in two of them.
fn load_all(paths: &[PathBuf]) -> Result<Vec<Schedule>, ImportError> {
    let mut schedules: Vec<Schedule> = Vec::with_capacity(paths.len());
    for path in paths {
        let schedule = load(path)?;
        if let Some(j) = schedules
            .iter()
            .position(|s| s.conference.slug == schedule.conference.slug)
        {
            return Err(ImportError::Duplicate {
                path: path.clone(),
                other: paths[j].clone(),
                slug: schedule.conference.slug.to_string(),
            });
        }
        schedules.push(schedule);
    }
    Ok(schedules)
}

/// Imports every `*.json` in `dir`, in name order.
pub fn import_dir(store: &Store, dir: &Path) -> Result<Vec<(PathBuf, SyncReport)>, ImportError> {
    import_files(store, &json_files(dir)?)
}

/// Seeds a new database from every `*.json` in `dir` (see
/// [`Store::seed`]): `None` when the database already had conferences,
/// because it is not new or because another process seeded it first. The
/// files are read only when the database looks empty.
pub fn seed_dir(
    store: &Store,
    dir: &Path,
) -> Result<Option<Vec<(PathBuf, SyncReport)>>, ImportError> {
    if !store.is_empty()? {
        return Ok(None);
    }
    let paths = json_files(dir)?;
    let schedules = load_all(&paths)?;
    Ok(store
        .seed(&schedules, Utc::now())?
        .map(|reports| paths.into_iter().zip(reports).collect()))
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ImportError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    Ok(paths)
}

pub fn load(path: &Path) -> Result<Schedule, ImportError> {
    let file = std::fs::File::open(path).map_err(|source| ImportError::Read {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |source| ImportError::Invalid {
        path: path.to_owned(),
        source,
    };
    read_document(file)
        .map_err(invalid)?
        .validate()
        .map_err(invalid)
}
