//! Import from the browser: upload a CSV or XLSX file, see how its columns
//! were understood and every bad row with its line, column and reason, then
//! apply it (all rows, or only the valid ones when asked) and follow the
//! progress of a big file. Nothing is written before the user applies.

use askama::Template;
use axum::extract::{Form, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kehu_core::import::{ImportError, ImportReport, Kind};
use kehu_http::jobs::{ImportJob, JobState};
use kehu_http::AppState;
use serde::Deserialize;

use crate::i18n::Tr;
use crate::pages::{render, Me, Page};

/// Row errors shown on the page; the counts are always complete.
const ERRORS_SHOWN: usize = 500;

pub struct ErrorLine {
    line: u64,
    column: String,
    reason: String,
}

pub struct ReportView {
    kind: String,
    file_name: String,
    /// (header in the file, what it feeds)
    columns: Vec<(String, String)>,
    rows: u64,
    valid_rows: u64,
    invalid_rows: u64,
    applied: u64,
    errors: Vec<ErrorLine>,
    more_errors: u64,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    tr: Tr,
    me: Option<Me>,
    section: &'static str,
    csrf: String,
    kinds: Vec<(&'static str, String, bool)>,
    error: Option<String>,
    /// The upload under review, its report, and whether it can be applied.
    job_id: String,
    report: Option<ReportView>,
    state: &'static str,
    /// Percent done while running.
    percent: u64,
    progress_note: String,
    failure: String,
}

fn kinds(tr: &Tr, selected: Option<Kind>) -> Vec<(&'static str, String, bool)> {
    Kind::ALL
        .iter()
        .map(|k| {
            (
                k.as_str(),
                tr.t_string(&format!("import.kind_{}", k.as_str())),
                Some(*k) == selected,
            )
        })
        .collect()
}

fn empty_page(page: Page) -> ImportPage {
    ImportPage {
        tr: page.tr,
        csrf: page.me.csrf.clone(),
        kinds: kinds(&page.tr, Some(Kind::Customers)),
        section: "import",
        error: None,
        job_id: String::new(),
        report: None,
        state: "",
        percent: 0,
        progress_note: String::new(),
        failure: String::new(),
        me: Some(page.me),
    }
}

/// A row problem in the user's language: the field and the reason.
fn reason(tr: &Tr, field: &str, code: &str, message: &str) -> String {
    let key = format!("validation.{code}");
    if !tr.has(&key) {
        return message.to_owned();
    }
    let label = tr.t_string(&format!("field.{field}"));
    format!("{label}: {}", tr.t_string(&key))
}

fn report_view(tr: &Tr, job: &ImportJob, report: &ImportReport) -> ReportView {
    ReportView {
        kind: tr.t_string(&format!("import.kind_{}", job.kind.as_str())),
        file_name: job.file_name.clone(),
        columns: report
            .columns
            .iter()
            .map(|c| {
                let feeds = match c.field.as_deref() {
                    None => tr.t("import.ignored").to_owned(),
                    Some(f) => match f.strip_prefix("attribute:") {
                        Some(name) => tr.f("import.custom_field", &[("name", name)]),
                        None => tr.t_string(&format!("field.{f}")),
                    },
                };
                (c.header.clone(), feeds)
            })
            .collect(),
        rows: report.rows,
        valid_rows: report.valid_rows,
        invalid_rows: report.invalid_rows,
        applied: report.applied,
        errors: report
            .errors
            .iter()
            .take(ERRORS_SHOWN)
            .map(|e| ErrorLine {
                line: e.line,
                column: e.column.clone().unwrap_or_default(),
                reason: reason(tr, &e.field, &e.code, &e.message),
            })
            .collect(),
        more_errors: report.error_count.saturating_sub(ERRORS_SHOWN as u64),
    }
}

pub async fn import_form(page: Page) -> Response {
    render(empty_page(page))
}

fn import_error_text(tr: &Tr, e: &ImportError) -> String {
    match e {
        ImportError::MissingColumn(field) => tr.f(
            "import.missing_column",
            &[("field", &tr.t_string(&format!("field.{field}")))],
        ),
        ImportError::Read(r) => tr.f("import.unreadable", &[("reason", &r.to_string())]),
        ImportError::Store(kehu_storage::StoreError::Forbidden(_)) => {
            tr.t("error.forbidden").to_owned()
        }
        ImportError::Store(_) => tr.t("error.internal").to_owned(),
    }
}

/// Receives the upload and validates it; nothing is written.
pub async fn upload(State(state): State<AppState>, page: Page, mut form: Multipart) -> Response {
    let (mut csrf, mut kind, mut file) = (String::new(), None, None);
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                let mut p = empty_page(page);
                p.error = Some(p.tr.t("import.upload_failed").to_owned());
                return (StatusCode::BAD_REQUEST, render(p)).into_response();
            }
        };
        match field.name() {
            Some("_csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("kind") => kind = Kind::parse(&field.text().await.unwrap_or_default()),
            Some("file") => {
                let name = field.file_name().unwrap_or("upload.csv").to_owned();
                match field.bytes().await {
                    Ok(b) => file = Some((name, b.to_vec())),
                    Err(_) => {
                        let mut p = empty_page(page);
                        p.error = Some(p.tr.t("import.upload_failed").to_owned());
                        return (StatusCode::BAD_REQUEST, render(p)).into_response();
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(r) = page.refuse_csrf(&csrf) {
        return r;
    }
    let (Some(kind), Some((name, bytes))) = (kind, file.filter(|(_, b)| !b.is_empty())) else {
        let mut p = empty_page(page);
        p.error = Some(p.tr.t("import.choose_file").to_owned());
        return (StatusCode::UNPROCESSABLE_ENTITY, render(p)).into_response();
    };
    match state
        .imports
        .validate(&state, &page.me.user, kind, name, bytes)
        .await
    {
        Ok(job) => Redirect::to(&format!("/import/{}", job.id)).into_response(),
        Err(e) => {
            let mut p = empty_page(page);
            p.kinds = kinds(&p.tr, Some(kind));
            p.error = Some(import_error_text(&p.tr, &e));
            (StatusCode::UNPROCESSABLE_ENTITY, render(p)).into_response()
        }
    }
}

/// The review, progress or result of one upload.
pub async fn job(State(state): State<AppState>, page: Page, Path(id): Path<String>) -> Response {
    let Some(job) = state.imports.get(&id, page.me.user.id) else {
        return page.error(kehu_storage::StoreError::NotFound);
    };
    let tr = page.tr;
    let mut p = empty_page(page);
    p.job_id = job.id.clone();
    match job.state() {
        JobState::Validated => {
            p.state = "validated";
            p.report = Some(report_view(&tr, &job, &job.preview));
        }
        JobState::Running => {
            p.state = "running";
            let (rows, pass) = job.progress();
            let total = job.preview.rows.max(1);
            // The validation pass is the first half of the work.
            let half = if pass >= 2 { 50 } else { 0 };
            p.percent = (half + rows.min(total) * 50 / total).min(99);
            p.progress_note = tr.f(
                "import.progress",
                &[("rows", &rows.to_string()), ("total", &total.to_string())],
            );
            p.report = Some(report_view(&tr, &job, &job.preview));
        }
        JobState::Done(Ok(report)) => {
            p.state = "done";
            p.percent = 100;
            p.report = Some(report_view(&tr, &job, &report));
        }
        JobState::Done(Err(e)) => {
            p.state = "failed";
            p.failure = e;
            p.report = Some(report_view(&tr, &job, &job.preview));
        }
    }
    render(p)
}

#[derive(Deserialize)]
pub struct ApplyForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    skip_invalid: Option<String>,
}

pub async fn apply(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
    Form(f): Form<ApplyForm>,
) -> Response {
    if let Some(r) = page.refuse_csrf(&f.csrf) {
        return r;
    }
    let Some(job) = state.imports.get(&id, page.me.user.id) else {
        return page.error(kehu_storage::StoreError::NotFound);
    };
    state
        .imports
        .apply(&state, job, page.me.user.clone(), f.skip_invalid.is_some());
    Redirect::to(&format!("/import/{id}")).into_response()
}
