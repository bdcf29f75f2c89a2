use kehu_domain::ValidationErrors;

/// Everything that can go wrong in storage, in terms the API can answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Absent, or outside the actor's scope: the two are deliberately the same.
    #[error("not found")]
    NotFound,
    /// Visible, but the actor's role may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// A uniqueness rule was hit, e.g. an external id already in use.
    #[error("{field} {message}")]
    Conflict { field: String, message: String },
    #[error("database error: {0}")]
    Db(sqlx::Error),
    /// From the analysis's bulk paths on SQLite.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Url(String),
    /// A stored value that the code cannot read; a bug or a bad manual edit.
    #[error("unreadable stored value: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Unique indexes and the field each one protects.
const UNIQUE_FIELDS: &[(&str, &str)] = &[
    ("external_id", "external_id"),
    ("username", "username"),
    ("teams", "name"),
    ("token_hash", "token"),
];

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                // SQLite names the column in the message, PostgreSQL names the
                // index in the constraint; both contain the column name.
                let text = format!("{} {}", db.message(), db.constraint().unwrap_or(""));
                let field = UNIQUE_FIELDS
                    .iter()
                    .find(|(needle, _)| text.contains(needle))
                    .map(|(_, f)| *f)
                    .unwrap_or("value");
                return StoreError::Conflict {
                    field: field.to_owned(),
                    message: "is already in use".to_owned(),
                };
            }
        }
        if matches!(e, sqlx::Error::RowNotFound) {
            return StoreError::NotFound;
        }
        StoreError::Db(e)
    }
}
