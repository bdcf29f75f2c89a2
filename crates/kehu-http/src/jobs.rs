//! Imports started from the browser: the uploaded file is validated first
//! and kept, with its report, until the user applies it; applying runs in
//! the background and reports its progress, so a big file neither blocks
//! the request nor leaves the user guessing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kehu_core::import::{self, ImportOptions, ImportReport, Kind, Source};
use kehu_domain::UserId;

use crate::AppState;

/// Uploads not applied within this time are forgotten.
pub const KEEP_FOR: Duration = Duration::from_secs(3600);

/// Where an upload stands.
#[derive(Debug, Clone)]
pub enum JobState {
    /// Validated, waiting for the user to apply it.
    Validated,
    /// Being written.
    Running,
    /// Finished: the report of the real run, or why it failed.
    Done(Result<ImportReport, String>),
}

/// One uploaded file and what became of it.
pub struct ImportJob {
    pub id: String,
    pub owner: UserId,
    pub kind: Kind,
    pub file_name: String,
    source: Source,
    /// The validation pass's report.
    pub preview: ImportReport,
    created: Instant,
    /// Rows done in the current pass, and the pass (1 validate, 2 write).
    rows_done: AtomicU64,
    pass: AtomicU8,
    state: Mutex<JobState>,
}

impl ImportJob {
    pub fn state(&self) -> JobState {
        self.lock().clone()
    }

    /// (rows done, pass) of a running import.
    pub fn progress(&self) -> (u64, u8) {
        (
            self.rows_done.load(Ordering::Relaxed),
            self.pass.load(Ordering::Relaxed),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JobState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The uploads of every user, by id.
#[derive(Default)]
pub struct ImportJobs {
    jobs: Mutex<HashMap<String, Arc<ImportJob>>>,
}

impl ImportJobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ImportJob>>> {
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Validates an upload (nothing is written) and keeps it for applying.
    pub async fn validate(
        &self,
        state: &AppState,
        user: &kehu_domain::User,
        kind: Kind,
        file_name: String,
        bytes: Vec<u8>,
    ) -> Result<Arc<ImportJob>, import::ImportError> {
        let source = Source::Bytes {
            name: file_name.clone(),
            bytes: Arc::new(bytes),
        };
        let scoped = state.store.scoped(kehu_storage::actor_of(user));
        let opts = ImportOptions {
            skip_invalid: false,
            dry_run: true,
        };
        let preview = import::import(&scoped, kind, &source, opts, &|_, _| {}).await?;
        let job = Arc::new(ImportJob {
            id: kehu_core::credentials::random_id(),
            owner: user.id,
            kind,
            file_name,
            source,
            preview,
            created: Instant::now(),
            rows_done: AtomicU64::new(0),
            pass: AtomicU8::new(0),
            state: Mutex::new(JobState::Validated),
        });
        let mut jobs = self.lock();
        jobs.retain(|_, j| j.created.elapsed() < KEEP_FOR);
        jobs.insert(job.id.clone(), job.clone());
        Ok(job)
    }

    /// The upload `id` of `user`; another user's upload is not found.
    pub fn get(&self, id: &str, user: UserId) -> Option<Arc<ImportJob>> {
        self.lock().get(id).filter(|j| j.owner == user).cloned()
    }

    /// Starts writing a validated upload in the background. Returns false
    /// when it was already started.
    pub fn apply(
        &self,
        state: &AppState,
        job: Arc<ImportJob>,
        user: kehu_domain::User,
        skip_invalid: bool,
    ) -> bool {
        {
            let mut s = job.lock();
            if !matches!(*s, JobState::Validated) {
                return false;
            }
            *s = JobState::Running;
        }
        let state = state.clone();
        tokio::spawn(async move {
            let scoped = state.store.scoped(kehu_storage::actor_of(&user));
            let opts = ImportOptions {
                skip_invalid,
                dry_run: false,
            };
            let progress = |rows: u64, pass: u8| {
                job.rows_done.store(rows, Ordering::Relaxed);
                job.pass.store(pass, Ordering::Relaxed);
            };
            let result = import::import(&scoped, job.kind, &job.source, opts, &progress)
                .await
                .map_err(|e| e.to_string());
            if let Err(e) = &result {
                tracing::error!(error = %e, file = %job.file_name, "import failed");
            }
            *job.lock() = JobState::Done(result);
        });
        true
    }
}
