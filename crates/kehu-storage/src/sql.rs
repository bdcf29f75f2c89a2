//! A small SQL builder that numbers parameters `$1, $2, …`, which both
//! SQLite and PostgreSQL accept. (sqlx's `QueryBuilder<Any>` writes `?`,
//! which PostgreSQL rejects.)

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

/// One bound value. Nulls carry their type because PostgreSQL checks it.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I64(i64),
    OptI64(Option<i64>),
    Text(String),
    OptText(Option<String>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(v)
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::OptI64(v)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(v.clone())
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::OptText(v.map(str::to_owned))
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::I64(i64::from(v))
    }
}

/// SQL text plus its arguments, built in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
    /// Write anonymous `?` instead of `$N` (SQLite only). SQLite keeps
    /// `$N` and `?N` in a list searched linearly on every bind, which makes
    /// statements with thousands of parameters quadratic; anonymous
    /// parameters bind by position. The builder binds each value once, in
    /// order, so both spellings mean the same.
    question: bool,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
            question: false,
        }
    }

    /// A builder in the placeholder style that suits the connection.
    pub fn for_conn(text: &str, conn: &sqlx::AnyConnection) -> Self {
        let mut s = Self::new(text);
        s.question = conn.backend_name().eq_ignore_ascii_case("sqlite");
        s
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// The same statement in the placeholder style of `conn` (anonymous `?`
    /// on SQLite, see `question`); valid because every placeholder is bound
    /// once, in order.
    pub fn adapted(mut self, conn: &sqlx::AnyConnection) -> Self {
        if !self.question && conn.backend_name().eq_ignore_ascii_case("sqlite") {
            let mut out = String::with_capacity(self.text.len());
            let mut chars = self.text.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
            self.text = out;
            self.question = true;
        }
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        if self.question {
            self.text.push('?');
        } else {
            self.text.push('$');
            self.text.push_str(&self.args.len().to_string());
        }
        self
    }

    /// Appends `$a, $b, …` for a list of values.
    pub fn bind_list<T: Into<Arg>>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(v);
        }
        self
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        bind_all(sqlx::query(&self.text), &self.args)
    }
}

/// Ids as the text of an `IN (…)` list: integers, nothing to quote.
pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Binds arguments to a prepared query in order.
pub(crate) fn bind_all<'q>(
    mut q: Query<'q, Any, AnyArguments<'q>>,
    args: &'q [Arg],
) -> Query<'q, Any, AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::I64(v) => q.bind(*v),
            Arg::OptI64(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.as_str()),
            Arg::OptText(v) => q.bind(v.as_deref()),
        };
    }
    q
}

/// Most parameters put in one statement: below SQLite's 32766 and
/// PostgreSQL's 65535.
const MAX_PARAMS: usize = 30_000;
/// Rows per multi-row `INSERT`; measured with `kehu demo`: SQLite gains up
/// to ~2000 rows, PostgreSQL levels off from ~200.
const ROWS_PER_INSERT: usize = 1000;

/// Inserts rows with multi-row `INSERT` statements, as many rows per
/// statement as the parameter limit allows.
pub(crate) async fn insert_rows(
    conn: &mut sqlx::AnyConnection,
    head: &str,
    columns: usize,
    rows: Vec<Vec<Arg>>,
) -> Result<u64, sqlx::Error> {
    let per_statement = (MAX_PARAMS / columns.max(1)).clamp(1, ROWS_PER_INSERT);
    let mut sql = Sql::for_conn(head, conn);
    let mut in_batch = 0usize;
    let mut total = 0u64;
    for row in rows {
        debug_assert_eq!(row.len(), columns);
        sql.push(if in_batch == 0 { " VALUES (" } else { ", (" });
        sql.bind_list(row);
        sql.push(")");
        in_batch += 1;
        if in_batch == per_statement {
            total += sql.query().execute(&mut *conn).await?.rows_affected();
            sql = Sql::for_conn(head, conn);
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        total += sql.query().execute(&mut *conn).await?.rows_affected();
    }
    Ok(total)
}

/// `DELETE FROM table WHERE id = $1`.
pub(crate) async fn delete_row(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    id: i64,
) -> Result<(), sqlx::Error> {
    Sql::new(&format!("DELETE FROM {table} WHERE id = "))
        .bind(id)
        .query()
        .execute(conn)
        .await?;
    Ok(())
}
