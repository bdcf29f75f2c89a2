//! Importing customers, contacts and orders from CSV or XLSX.
//!
//! Two passes over the file. The first validates every row (fields,
//! references, duplicates within the file and against the database) and
//! collects every problem with its line and column. Nothing is written
//! unless the whole file is valid, or the caller asked to skip invalid rows.
//! The second pass reads the file again and writes the valid rows in one
//! transaction, so a crash leaves the database as it was before the import
//! or with the import complete, never in between.

pub mod mapping;
pub mod read;

use std::collections::{HashMap, HashSet};

use kehu_domain::inputs::{
    AmountInput, ContactDraft, ContactInput, CustomerDraft, CustomerInput, OrderDraft, OrderInput,
};
use kehu_domain::*;
use kehu_storage::bulk::{Bulk, IdTable, NewContact, NewCustomer};
use kehu_storage::{Scoped, Searchable, StoreError};
use serde::Serialize;

pub use mapping::Kind;
pub use read::{ReadError, Source};

/// At most this many row errors are kept in a report (all are counted).
pub const MAX_REPORTED_ERRORS: usize = 10_000;
const CHUNK: usize = 1_000;

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Apply the valid rows even when some rows are invalid.
    pub skip_invalid: bool,
    /// Validate only; write nothing.
    pub dry_run: bool,
}

/// One problem of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// Line in the file; the header is line 1.
    pub line: u64,
    /// The column header as written in the file, when one column is at fault.
    pub column: Option<String>,
    pub field: String,
    pub code: String,
    pub message: String,
}

/// How a file's columns were understood.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ColumnMapping {
    pub header: String,
    /// The field it feeds; `attribute:NAME` for a custom attribute; none when ignored.
    pub field: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub kind: String,
    pub columns: Vec<ColumnMapping>,
    pub rows: u64,
    pub valid_rows: u64,
    pub invalid_rows: u64,
    /// Rows written; 0 when nothing was applied.
    pub applied: u64,
    pub dry_run: bool,
    pub error_count: u64,
    pub errors: Vec<RowError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the file has no column for {0}")]
    MissingColumn(String),
}

/// Progress: (rows done, pass 1 or 2).
pub type Progress<'a> = &'a (dyn Fn(u64, u8) + Sync);

/// A validated row ready to write.
enum Prepared {
    Customer {
        draft: CustomerDraft,
        owner: UserId,
        team: Option<TeamId>,
    },
    Contact {
        draft: ContactDraft,
        superior: Option<String>,
    },
    Order {
        draft: OrderDraft,
    },
}

struct Columns {
    /// Field of each column (None: ignored; Some("attribute:…")).
    fields: Vec<Option<String>>,
    headers: Vec<String>,
}

impl Columns {
    fn new(kind: Kind, headers: &[String]) -> Columns {
        let fields = headers
            .iter()
            .map(|h| match kind.field_of(h) {
                Some(f) => Some(f.to_owned()),
                None if kind == Kind::Customers && !h.trim().is_empty() => {
                    Some(format!("attribute:{}", h.trim()))
                }
                None => None,
            })
            .collect();
        Columns {
            fields,
            headers: headers.to_vec(),
        }
    }

    fn has(&self, field: &str) -> bool {
        self.fields.iter().any(|f| f.as_deref() == Some(field))
    }

    fn header_of(&self, field: &str) -> Option<String> {
        self.fields
            .iter()
            .position(|f| f.as_deref() == Some(field))
            .map(|i| self.headers[i].clone())
    }

    fn row<'r>(&self, cells: &'r [String]) -> HashMap<&str, &'r str> {
        let mut m = HashMap::new();
        for (i, f) in self.fields.iter().enumerate() {
            if let (Some(f), Some(v)) = (f, cells.get(i)) {
                if !v.trim().is_empty() {
                    m.insert(f.as_str(), v.as_str());
                }
            }
        }
        m
    }
}

/// State that must evolve identically in both passes.
#[derive(Default)]
struct Seen {
    /// First line of each external id in the file.
    external: HashMap<String, u64>,
    /// First line of each (name key, mobile) in the file.
    name_mobile: HashMap<(String, String), u64>,
}

/// Users the importer may name as owners.
struct Owners {
    by_name: HashMap<String, (UserId, Option<TeamId>, Role, bool)>,
}

pub async fn import(
    scoped: &Scoped<'_>,
    kind: Kind,
    source: &Source,
    opts: ImportOptions,
    progress: Progress<'_>,
) -> Result<ImportReport, ImportError> {
    if !scoped.actor().can_write() {
        return Err(StoreError::Forbidden("read-only users cannot import").into());
    }
    let table = read::open(source)?;
    let cols = Columns::new(kind, &table.headers);
    let required: &[&[&str]] = match kind {
        Kind::Customers => &[&["name"]],
        Kind::Contacts => &[&["name"], &["customer", "customer_external_id"]],
        Kind::Orders => &[
            &["order_date"],
            &["amount"],
            &["customer", "customer_external_id"],
        ],
    };
    for any_of in required {
        if !any_of.iter().any(|f| cols.has(f)) {
            let headers: Vec<&str> = any_of
                .iter()
                .filter_map(|f| kind.columns().iter().find(|(k, _)| k == f))
                .map(|(_, a)| a[0])
                .collect();
            return Err(ImportError::MissingColumn(headers.join(" / ")));
        }
    }
    let owners = load_owners(scoped).await?;
    let mut report = ImportReport {
        kind: kind.as_str().into(),
        columns: table
            .headers
            .iter()
            .zip(&cols.fields)
            .map(|(h, f)| ColumnMapping {
                header: h.clone(),
                field: f.clone(),
            })
            .collect(),
        rows: 0,
        valid_rows: 0,
        invalid_rows: 0,
        applied: 0,
        dry_run: opts.dry_run,
        error_count: 0,
        errors: Vec::new(),
    };

    // Pass 1: validate everything.
    let mut seen = Seen::default();
    let mut bad_lines: HashSet<u64> = HashSet::new();
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut table = table;
    loop {
        let next = table.next();
        let end = next.is_none();
        if let Some(r) = next {
            match r {
                Ok(row) => chunk.push(row),
                Err(ReadError::Csv { line, message }) => {
                    report.rows += 1;
                    bad_lines.insert(line);
                    push_error(
                        &mut report,
                        RowError {
                            line,
                            column: None,
                            field: "row".into(),
                            code: "unreadable".into(),
                            message,
                        },
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        if chunk.len() == CHUNK || (end && !chunk.is_empty()) {
            let rows = std::mem::take(&mut chunk);
            report.rows += rows.len() as u64;
            for (line, result) in prepare(scoped, kind, &cols, &owners, &mut seen, rows).await? {
                if let Err(errors) = result {
                    bad_lines.insert(line);
                    for e in errors {
                        push_error(&mut report, e);
                    }
                }
            }
            progress(report.rows, 1);
        }
        if end {
            break;
        }
    }
    report.invalid_rows = bad_lines.len() as u64;
    report.valid_rows = report.rows - report.invalid_rows;
    report.errors.sort_by_key(|e| e.line);
    if opts.dry_run || (report.invalid_rows > 0 && !opts.skip_invalid) || report.valid_rows == 0 {
        return Ok(report);
    }

    // Pass 2: write the valid rows in one transaction.
    let store = scoped.store();
    let mut bulk = store.bulk(Some(scoped.actor().user_id)).await?;
    let mut seen = Seen::default();
    let mut state = ApplyState::default();
    let mut table = read::open(source)?;
    let mut done = 0u64;
    loop {
        let next = table.next();
        let end = next.is_none();
        if let Some(Ok(row)) = next {
            chunk.push(row);
        }
        if chunk.len() == CHUNK || (end && !chunk.is_empty()) {
            let rows = std::mem::take(&mut chunk);
            done += rows.len() as u64;
            let prepared = prepare(scoped, kind, &cols, &owners, &mut seen, rows).await?;
            let good: Vec<Prepared> = prepared
                .into_iter()
                .filter(|(line, _)| !bad_lines.contains(line))
                .filter_map(|(_, r)| r.ok())
                .collect();
            report.applied += apply(&mut bulk, scoped, &mut state, good).await?;
            progress(done, 2);
        }
        if end {
            break;
        }
    }
    finish(&mut bulk, kind, &state).await?;
    bulk.commit().await?;
    Ok(report)
}

fn push_error(report: &mut ImportReport, e: RowError) {
    report.error_count += 1;
    if report.errors.len() < MAX_REPORTED_ERRORS {
        report.errors.push(e);
    }
}

async fn load_owners(scoped: &Scoped<'_>) -> Result<Owners, StoreError> {
    let mut by_name = HashMap::new();
    for u in scoped.store().users().await? {
        let v = (u.id, u.team_id, u.role, u.active);
        by_name.insert(u.username.to_lowercase(), v);
        by_name.entry(u.display_name.clone()).or_insert(v);
        if let Some(e) = &u.email {
            by_name.entry(e.to_lowercase()).or_insert(v);
        }
    }
    Ok(Owners { by_name })
}

/// Translates a Chinese choice spelling to its key; other text passes as is.
fn choice(field: &str, v: Option<&str>) -> Option<String> {
    v.map(|v| mapping::choice_alias(field, v).map_or_else(|| v.to_owned(), str::to_owned))
}

/// Amounts as written (`1,234.50`, `¥200`): the domain's parser reads them.
fn amount(v: Option<&str>) -> Option<AmountInput> {
    v.map(|s| AmountInput::Text(s.to_owned()))
}

fn field_errors(cols: &Columns, line: u64, v: ValidationErrors) -> Vec<RowError> {
    v.0.into_iter()
        .map(|f| RowError {
            line,
            column: cols.header_of(&f.field),
            field: f.field,
            code: f.code.into(),
            message: f.message,
        })
        .collect()
}

fn row_error(cols: &Columns, line: u64, field: &str, code: &str, message: String) -> RowError {
    RowError {
        line,
        column: cols.header_of(field),
        field: field.into(),
        code: code.into(),
        message,
    }
}

type Prepared1 = (u64, Result<Prepared, Vec<RowError>>);

/// Validates a chunk of rows, resolving references and duplicates in batches.
async fn prepare(
    scoped: &Scoped<'_>,
    kind: Kind,
    cols: &Columns,
    owners: &Owners,
    seen: &mut Seen,
    rows: Vec<read::RawRow>,
) -> Result<Vec<Prepared1>, StoreError> {
    match kind {
        Kind::Customers => prepare_customers(scoped, cols, owners, seen, rows).await,
        Kind::Contacts | Kind::Orders => prepare_children(scoped, kind, cols, seen, rows).await,
    }
}

async fn prepare_customers(
    scoped: &Scoped<'_>,
    cols: &Columns,
    owners: &Owners,
    seen: &mut Seen,
    rows: Vec<read::RawRow>,
) -> Result<Vec<Prepared1>, StoreError> {
    let actor = scoped.actor();
    let mut out: Vec<Prepared1> = Vec::with_capacity(rows.len());
    for row in &rows {
        let m = cols.row(&row.cells);
        let mut attributes = serde_json::Map::new();
        for (k, v) in &m {
            if let Some(name) = k.strip_prefix("attribute:") {
                attributes.insert(name.to_owned(), serde_json::Value::String((*v).to_owned()));
            }
        }
        let tags = m.get("tags").map(|t| {
            t.split([';', '；', '|'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
        let input = CustomerInput {
            kind: choice("kind", m.get("kind").copied()),
            name: m.get("name").map(|s| (*s).to_owned()),
            classification: choice("classification", m.get("classification").copied()),
            status: choice("status", m.get("status").copied()),
            source: m.get("source").map(|s| (*s).to_owned()),
            province: m.get("province").map(|s| (*s).to_owned()),
            city: m.get("city").map(|s| (*s).to_owned()),
            industry: m.get("industry").map(|s| (*s).to_owned()),
            size: m.get("size").map(|s| (*s).to_owned()),
            mobile: m.get("mobile").map(|s| (*s).to_owned()),
            email: m.get("email").map(|s| (*s).to_owned()),
            external_id: m.get("external_id").map(|s| (*s).to_owned()),
            notes: m.get("notes").map(|s| (*s).to_owned()),
            owner_id: None,
            tags,
            attributes: (!attributes.is_empty()).then_some(attributes),
        };
        let mut errors = Vec::new();
        let draft = match input.validate() {
            Ok(d) => Some(d),
            Err(v) => {
                errors.extend(field_errors(cols, row.line, v));
                None
            }
        };
        // The owner: a username, display name or email the importer may assign to.
        let (owner, team) = match m.get("owner") {
            None => (actor.user_id, actor.team_id),
            Some(name) => match owners
                .by_name
                .get(&name.to_lowercase())
                .or_else(|| owners.by_name.get(*name))
            {
                Some(&(id, team, _, true)) if actor.sees(id, team) || actor.is_admin() => {
                    let ok = match actor.scope() {
                        Scope::Owner(me) => id == me,
                        _ => true,
                    };
                    if ok {
                        (id, team)
                    } else {
                        errors.push(row_error(
                            cols,
                            row.line,
                            "owner",
                            "invalid_owner",
                            format!("you may not assign customers to {name}"),
                        ));
                        (actor.user_id, actor.team_id)
                    }
                }
                Some(_) => {
                    errors.push(row_error(
                        cols,
                        row.line,
                        "owner",
                        "invalid_owner",
                        format!("{name} is outside your team or deactivated"),
                    ));
                    (actor.user_id, actor.team_id)
                }
                None => {
                    errors.push(row_error(
                        cols,
                        row.line,
                        "owner",
                        "unknown_user",
                        format!("no user named {name}"),
                    ));
                    (actor.user_id, actor.team_id)
                }
            },
        };
        // Duplicates within the file.
        if let Some(d) = &draft {
            if let Some(x) = &d.external_id {
                if let Some(first) = seen.external.get(x) {
                    errors.push(row_error(
                        cols,
                        row.line,
                        "external_id",
                        "duplicate",
                        format!("external id {x} is also on line {first}"),
                    ));
                } else {
                    seen.external.insert(x.clone(), row.line);
                }
            }
            let mobile = d
                .mobile
                .as_ref()
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default();
            let key = (d.name_key(), mobile);
            if let Some(first) = seen.name_mobile.get(&key) {
                errors.push(row_error(
                    cols,
                    row.line,
                    "name",
                    "duplicate",
                    format!("same name and mobile as line {first}"),
                ));
            } else {
                seen.name_mobile.insert(key, row.line);
            }
        }
        out.push((
            row.line,
            match (draft, errors.is_empty()) {
                (Some(draft), true) => Ok(Prepared::Customer { draft, owner, team }),
                _ => Err(errors),
            },
        ));
    }
    // Duplicates against the database, in two batch lookups.
    let store = scoped.store();
    let externals: Vec<String> = out
        .iter()
        .filter_map(|(_, r)| match r {
            Ok(Prepared::Customer { draft, .. }) => draft.external_id.clone(),
            _ => None,
        })
        .collect();
    let taken: HashMap<String, CustomerId> = store
        .taken_customer_external_ids(&externals)
        .await?
        .into_iter()
        .collect();
    let keys: Vec<String> = out
        .iter()
        .filter_map(|(_, r)| match r {
            Ok(Prepared::Customer { draft, .. }) => Some(draft.name_key()),
            _ => None,
        })
        .collect();
    let mut existing: HashMap<(String, String), CustomerId> = HashMap::new();
    for (k, m, id) in store.customers_by_name_key(&keys).await? {
        existing.entry((k, m.unwrap_or_default())).or_insert(id);
    }
    for (line, r) in &mut out {
        let Ok(Prepared::Customer { draft, .. }) = r else {
            continue;
        };
        let mut errors = Vec::new();
        if let Some(id) = draft.external_id.as_ref().and_then(|x| taken.get(x)) {
            errors.push(row_error(
                cols,
                *line,
                "external_id",
                "duplicate",
                format!("external id is already used by customer {id}"),
            ));
        }
        let mobile = draft
            .mobile
            .as_ref()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        if let Some(id) = existing.get(&(draft.name_key(), mobile)) {
            errors.push(row_error(
                cols,
                *line,
                "name",
                "duplicate",
                format!("customer {id} has the same name and mobile"),
            ));
        }
        if !errors.is_empty() {
            *r = Err(errors);
        }
    }
    Ok(out)
}

async fn prepare_children(
    scoped: &Scoped<'_>,
    kind: Kind,
    cols: &Columns,
    seen: &mut Seen,
    rows: Vec<read::RawRow>,
) -> Result<Vec<Prepared1>, StoreError> {
    // Resolve customer references in two batch lookups.
    let maps: Vec<HashMap<&str, &str>> = rows.iter().map(|r| cols.row(&r.cells)).collect();
    let ext: Vec<String> = maps
        .iter()
        .filter_map(|m| m.get("customer_external_id").map(|s| (*s).to_owned()))
        .collect();
    let names: Vec<String> = maps
        .iter()
        .filter(|m| !m.contains_key("customer_external_id"))
        .filter_map(|m| m.get("customer").map(|s| (*s).to_owned()))
        .collect();
    let by_ext: HashMap<String, CustomerId> = scoped
        .customers_by_external_id(&ext)
        .await?
        .into_iter()
        .collect();
    let mut by_name: HashMap<String, Vec<CustomerId>> = HashMap::new();
    for (n, id) in scoped.customers_by_name(&names).await? {
        by_name.entry(n).or_default().push(id);
    }
    let mut order_ext: Vec<String> = Vec::new();
    let mut out: Vec<Prepared1> = Vec::with_capacity(rows.len());
    for (row, m) in rows.iter().zip(&maps) {
        let mut errors = Vec::new();
        let customer = if let Some(x) = m.get("customer_external_id") {
            match by_ext.get(*x) {
                Some(id) => Some(*id),
                None => {
                    errors.push(row_error(
                        cols,
                        row.line,
                        "customer_external_id",
                        "unknown_customer",
                        format!("no customer of yours has external id {x}"),
                    ));
                    None
                }
            }
        } else if let Some(n) = m.get("customer") {
            match by_name.get(*n).map(Vec::as_slice) {
                Some([id]) => Some(*id),
                Some(_) => {
                    errors.push(row_error(
                        cols,
                        row.line,
                        "customer",
                        "ambiguous_customer",
                        format!("several customers are named {n}; use the customer external id"),
                    ));
                    None
                }
                None => {
                    errors.push(row_error(
                        cols,
                        row.line,
                        "customer",
                        "unknown_customer",
                        format!("no customer of yours is named {n}"),
                    ));
                    None
                }
            }
        } else {
            errors.push(row_error(
                cols,
                row.line,
                "customer",
                "required",
                "customer is required".into(),
            ));
            None
        };
        let placeholder = Some(customer.unwrap_or(CustomerId(0)));
        let prepared = match kind {
            Kind::Contacts => {
                let input = ContactInput {
                    customer_id: placeholder,
                    name: m.get("name").map(|s| (*s).to_owned()),
                    department: m.get("department").map(|s| (*s).to_owned()),
                    title: m.get("title").map(|s| (*s).to_owned()),
                    level: choice("level", m.get("level").copied()),
                    superior_id: None,
                    business_area: m.get("business_area").map(|s| (*s).to_owned()),
                    authority_scope: m.get("authority_scope").map(|s| (*s).to_owned()),
                    budget_authority: choice(
                        "budget_authority",
                        m.get("budget_authority").copied(),
                    ),
                    is_key_decision_maker: match m.get("is_key_decision_maker") {
                        None => None,
                        Some(v) => {
                            match kehu_domain::inputs::parse_yes_no("is_key_decision_maker", v) {
                                Ok(b) => Some(b),
                                Err(e) => {
                                    errors.extend(field_errors(cols, row.line, e.into()));
                                    None
                                }
                            }
                        }
                    },
                    mobile: m.get("mobile").map(|s| (*s).to_owned()),
                    wechat: m.get("wechat").map(|s| (*s).to_owned()),
                    email: m.get("email").map(|s| (*s).to_owned()),
                    other_channels: m.get("other_channels").map(|s| (*s).to_owned()),
                    closeness: choice("closeness", m.get("closeness").copied()),
                    notes: m.get("notes").map(|s| (*s).to_owned()),
                };
                input
                    .validate()
                    .map(|draft| Prepared::Contact {
                        draft,
                        superior: m.get("superior").map(|s| (*s).to_owned()),
                    })
                    .map_err(|v| field_errors(cols, row.line, v))
            }
            _ => {
                let input = OrderInput {
                    customer_id: placeholder,
                    external_id: m.get("external_id").map(|s| (*s).to_owned()),
                    order_date: m.get("order_date").map(|s| (*s).to_owned()),
                    amount: amount(m.get("amount").copied()),
                    currency: m.get("currency").map(|s| (*s).to_owned()),
                    cost: amount(m.get("cost").copied()),
                    status: choice("order_status", m.get("status").copied()),
                    note: m.get("note").map(|s| (*s).to_owned()),
                };
                let r = input
                    .validate()
                    .map_err(|v| field_errors(cols, row.line, v));
                if let Ok(d) = &r {
                    if let Some(x) = &d.external_id {
                        if let Some(first) = seen.external.get(x) {
                            errors.push(row_error(
                                cols,
                                row.line,
                                "external_id",
                                "duplicate",
                                format!("order number {x} is also on line {first}"),
                            ));
                        } else {
                            seen.external.insert(x.clone(), row.line);
                            order_ext.push(x.clone());
                        }
                    }
                }
                r.map(|draft| Prepared::Order { draft })
            }
        };
        let result = match prepared {
            Ok(p) if errors.is_empty() && customer.is_some() => Ok(p),
            Ok(_) => Err(errors),
            Err(mut e) => {
                errors.append(&mut e);
                Err(errors)
            }
        };
        out.push((row.line, result));
    }
    if kind == Kind::Orders && !order_ext.is_empty() {
        let taken: HashSet<String> = scoped
            .store()
            .taken_order_external_ids(&order_ext)
            .await?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        for (line, r) in &mut out {
            if let Ok(Prepared::Order { draft }) = r {
                if draft
                    .external_id
                    .as_ref()
                    .is_some_and(|x| taken.contains(x))
                {
                    *r = Err(vec![row_error(
                        cols,
                        *line,
                        "external_id",
                        "duplicate",
                        "order number is already recorded".into(),
                    )]);
                }
            }
        }
    }
    Ok(out)
}

#[derive(Default)]
struct ApplyState {
    touched: HashSet<CustomerId>,
    /// Contacts written in this import: (customer, name) → id, for superiors.
    contacts: HashMap<(CustomerId, String), ContactId>,
    pending_superiors: Vec<(ContactId, CustomerId, String)>,
}

async fn apply(
    bulk: &mut Bulk,
    scoped: &Scoped<'_>,
    state: &mut ApplyState,
    rows: Vec<Prepared>,
) -> Result<u64, StoreError> {
    let now = scoped.store().clock().now();
    let n = rows.len() as u64;
    let mut customers = Vec::new();
    let mut contacts = Vec::new();
    let mut orders = Vec::new();
    for p in rows {
        match p {
            Prepared::Customer { draft, owner, team } => customers.push((draft, owner, team)),
            Prepared::Contact { draft, superior } => contacts.push((draft, superior)),
            Prepared::Order { draft } => orders.push((draft, now)),
        }
    }
    if !customers.is_empty() {
        let ids = bulk
            .reserve_ids(IdTable::Customers, customers.len())
            .await?;
        let mut rows = Vec::with_capacity(customers.len());
        let mut terms = Vec::with_capacity(customers.len());
        for ((draft, owner, team), id) in customers.into_iter().zip(ids) {
            let id = CustomerId(id);
            terms.push((id, Searchable::of_draft(&draft)));
            rows.push(NewCustomer {
                id,
                draft,
                owner,
                team,
                created_at: now,
                aggregates: Aggregates::default(),
            });
        }
        bulk.customers(&rows).await?;
        bulk.search_terms(&terms).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id.0).collect();
        bulk.audit("customer", "import", &ids).await?;
    }
    if !contacts.is_empty() {
        let ids = bulk.reserve_ids(IdTable::Contacts, contacts.len()).await?;
        let mut rows = Vec::with_capacity(contacts.len());
        for ((draft, superior), id) in contacts.into_iter().zip(ids) {
            let id = ContactId(id);
            state.touched.insert(draft.customer_id);
            state
                .contacts
                .insert((draft.customer_id, draft.name.clone()), id);
            if let Some(s) = superior {
                state.pending_superiors.push((id, draft.customer_id, s));
            }
            rows.push(NewContact {
                id,
                draft,
                created_at: now,
            });
        }
        bulk.contacts(&rows).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id.0).collect();
        bulk.audit("contact", "import", &ids).await?;
    }
    if !orders.is_empty() {
        for (o, _) in &orders {
            state.touched.insert(o.customer_id);
        }
        bulk.orders(&orders).await?;
    }
    Ok(n)
}

/// Work that needs every row written: superiors, search terms, aggregates.
async fn finish(bulk: &mut Bulk, kind: Kind, state: &ApplyState) -> Result<(), StoreError> {
    let mut touched: Vec<CustomerId> = state.touched.iter().copied().collect();
    touched.sort();
    match kind {
        Kind::Customers => {}
        Kind::Contacts => {
            let links: Vec<(ContactId, ContactId)> = state
                .pending_superiors
                .iter()
                .filter_map(|(id, customer, name)| {
                    state
                        .contacts
                        .get(&(*customer, name.clone()))
                        .filter(|s| *s != id)
                        .map(|s| (*id, *s))
                })
                .collect();
            bulk.set_superiors(&links).await?;
            bulk.rebuild_search(&touched).await?;
        }
        Kind::Orders => {
            bulk.recompute(&touched).await?;
            let ids: Vec<i64> = touched.iter().map(|c| c.0).collect();
            bulk.audit("customer", "import_orders", &ids).await?;
        }
    }
    Ok(())
}
