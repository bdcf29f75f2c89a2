//! Exporting a filtered customer list as CSV (UTF-8 with BOM, so Excel
//! shows Chinese correctly) or XLSX, with headers in Chinese or English.
//! Rows stream page by page through the same scoped keyset list as the API.

use std::io::Write;

use kehu_domain::Customer;
use kehu_storage::{CustomerFilter, CustomerSort, Scoped, SortDir, StoreError};

use crate::import::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" | "excel" => Some(Format::Xlsx),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the file: {0}")]
    Write(String),
}

/// Field order of the customer export; headers come from the import mapping
/// so an exported file imports back.
const FIELDS: &[&str] = &[
    "external_id",
    "name",
    "kind",
    "classification",
    "status",
    "source",
    "province",
    "city",
    "industry",
    "size",
    "mobile",
    "email",
    "owner",
    "tags",
    "notes",
];

fn header(field: &str, english: bool) -> &'static str {
    Kind::Customers
        .columns()
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, a)| if english { a[1] } else { a[0] })
        .unwrap_or("")
}

fn cells(c: &Customer, owners: &std::collections::HashMap<i64, String>) -> Vec<String> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        o(&c.external_id),
        c.name.clone(),
        c.kind.as_str().into(),
        c.classification.as_str().into(),
        c.status.as_str().into(),
        o(&c.source),
        o(&c.province),
        o(&c.city),
        o(&c.industry),
        o(&c.size),
        o(&c.mobile),
        o(&c.email),
        owners.get(&c.owner_id.0).cloned().unwrap_or_default(),
        c.tags
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
        o(&c.notes),
    ]
}

/// Writes every visible customer matching `filter` to `out`; returns the count.
pub async fn export_customers(
    scoped: &Scoped<'_>,
    filter: &CustomerFilter,
    format: Format,
    english: bool,
    out: &mut (dyn Write + Send),
) -> Result<u64, ExportError> {
    let owners: std::collections::HashMap<i64, String> = scoped
        .store()
        .users()
        .await?
        .into_iter()
        .map(|u| (u.id.0, u.username))
        .collect();
    let mut head: Vec<String> = FIELDS
        .iter()
        .map(|f| header(f, english).to_owned())
        .collect();
    head.extend([
        "total_amount".to_owned(),
        "order_count".to_owned(),
        "last_order_date".to_owned(),
    ]);
    if !english {
        head.truncate(FIELDS.len());
        head.extend([
            "累计金额".to_owned(),
            "订单数".to_owned(),
            "最近下单日期".to_owned(),
        ]);
    }
    let werr = |e: &dyn std::fmt::Display| ExportError::Write(e.to_string());
    let mut n = 0u64;
    let mut cursor: Option<String> = None;
    match format {
        Format::Csv => {
            out.write_all(b"\xEF\xBB\xBF").map_err(|e| werr(&e))?;
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&head).map_err(|e| werr(&e))?;
            loop {
                let page = scoped
                    .customers(
                        filter,
                        CustomerSort::CreatedAt,
                        SortDir::Asc,
                        cursor.as_deref(),
                        kehu_storage::MAX_PAGE,
                    )
                    .await?;
                for c in &page.items {
                    let mut row = cells(c, &owners);
                    row.extend(aggregate_cells(c));
                    w.write_record(&row).map_err(|e| werr(&e))?;
                    n += 1;
                }
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            w.flush().map_err(|e| werr(&e))?;
        }
        Format::Xlsx => {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet();
            let bold = rust_xlsxwriter::Format::new().set_bold();
            let money = rust_xlsxwriter::Format::new().set_num_format("#,##0.00");
            for (i, h) in head.iter().enumerate() {
                ws.write_string_with_format(0, i as u16, h, &bold)
                    .map_err(|e| werr(&e))?;
            }
            let mut row = 1u32;
            loop {
                let page = scoped
                    .customers(
                        filter,
                        CustomerSort::CreatedAt,
                        SortDir::Asc,
                        cursor.as_deref(),
                        kehu_storage::MAX_PAGE,
                    )
                    .await?;
                for c in &page.items {
                    for (i, v) in cells(c, &owners).iter().enumerate() {
                        ws.write_string(row, i as u16, v).map_err(|e| werr(&e))?;
                    }
                    let col = FIELDS.len() as u16;
                    // Minor units to a number cell; exact for any realistic total.
                    let amount = c.aggregates.total_amount as f64 / 100.0;
                    ws.write_number_with_format(row, col, amount, &money)
                        .map_err(|e| werr(&e))?;
                    ws.write_number(row, col + 1, c.aggregates.order_count as f64)
                        .map_err(|e| werr(&e))?;
                    let last = c
                        .aggregates
                        .last_order_date
                        .map(|d| d.to_string())
                        .unwrap_or_default();
                    ws.write_string(row, col + 2, &last).map_err(|e| werr(&e))?;
                    row += 1;
                    n += 1;
                }
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            let buf = wb.save_to_buffer().map_err(|e| werr(&e))?;
            out.write_all(&buf).map_err(|e| werr(&e))?;
        }
    }
    Ok(n)
}

/// Contact export columns (fields of the import mapping).
const CONTACT_FIELDS: &[&str] = &[
    "customer",
    "customer_external_id",
    "name",
    "department",
    "title",
    "level",
    "business_area",
    "authority_scope",
    "budget_authority",
    "is_key_decision_maker",
    "mobile",
    "wechat",
    "email",
    "other_channels",
    "closeness",
    "notes",
];

/// Order export columns.
const ORDER_FIELDS: &[&str] = &[
    "customer",
    "customer_external_id",
    "external_id",
    "order_date",
    "amount",
    "currency",
    "cost",
    "status",
    "note",
];

fn kind_header(kind: Kind, field: &str, english: bool) -> String {
    kind.columns()
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, a)| if english { a[1] } else { a[0] })
        .unwrap_or(field)
        .to_owned()
}

/// Writes the contacts or orders of every visible customer matching
/// `filter`; returns the count. Same formats as [`export_customers`].
pub async fn export_related(
    scoped: &Scoped<'_>,
    kind: Kind,
    filter: &CustomerFilter,
    format: Format,
    english: bool,
    out: &mut (dyn Write + Send),
) -> Result<u64, ExportError> {
    let fields = match kind {
        Kind::Contacts => CONTACT_FIELDS,
        Kind::Orders => ORDER_FIELDS,
        Kind::Customers => return export_customers(scoped, filter, format, english, out).await,
    };
    let head: Vec<String> = fields
        .iter()
        .map(|f| kind_header(kind, f, english))
        .collect();
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut sink = Sink::default();
    let mut after = 0i64;
    loop {
        let page: Vec<Vec<String>> = match kind {
            Kind::Contacts => {
                let page = scoped.contacts_page(filter, after, 1000).await?;
                after = page.last().map_or(after, |r| r.item.id.0);
                page.into_iter()
                    .map(|r| {
                        let k = r.item;
                        vec![
                            r.customer_name,
                            o(&r.customer_external_id),
                            k.name,
                            o(&k.department),
                            o(&k.title),
                            k.level.map(|l| l.as_str().to_owned()).unwrap_or_default(),
                            o(&k.business_area),
                            o(&k.authority_scope),
                            k.budget_authority
                                .map(|b| b.as_str().to_owned())
                                .unwrap_or_default(),
                            if k.is_key_decision_maker { "yes" } else { "no" }.to_owned(),
                            o(&k.mobile),
                            o(&k.wechat),
                            o(&k.email),
                            o(&k.other_channels),
                            k.closeness.as_str().to_owned(),
                            o(&k.notes),
                        ]
                    })
                    .collect()
            }
            _ => {
                let page = scoped.orders_page(filter, after, 1000).await?;
                after = page.last().map_or(after, |r| r.item.id.0);
                page.into_iter()
                    .map(|r| {
                        let x = r.item;
                        vec![
                            r.customer_name,
                            o(&r.customer_external_id),
                            o(&x.external_id),
                            x.order_date.to_string(),
                            kehu_domain::money::format_minor(x.amount),
                            x.currency.to_string(),
                            x.cost
                                .map(kehu_domain::money::format_minor)
                                .unwrap_or_default(),
                            x.status.as_str().to_owned(),
                            o(&x.note),
                        ]
                    })
                    .collect()
            }
        };
        if page.is_empty() {
            break;
        }
        rows.extend(page);
        if format == Format::Csv && rows.len() >= 10_000 {
            // CSV streams: write what we have and keep memory flat.
            sink.write(out, &head, &mut rows, format, false)?;
        }
    }
    sink.write(out, &head, &mut rows, format, true)
}

/// Buffered rows on their way out. CSV goes out in chunks (the BOM and
/// header with the first); XLSX is written at the end in one piece.
#[derive(Default)]
struct Sink {
    started: bool,
    written: u64,
}

impl Sink {
    fn write(
        &mut self,
        out: &mut (dyn Write + Send),
        head: &[String],
        rows: &mut Vec<Vec<String>>,
        format: Format,
        last: bool,
    ) -> Result<u64, ExportError> {
        let werr = |e: &dyn std::fmt::Display| ExportError::Write(e.to_string());
        match format {
            Format::Csv => {
                let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
                if !self.started {
                    self.started = true;
                    out.write_all(b"\xEF\xBB\xBF").map_err(|e| werr(&e))?;
                    w.write_record(head).map_err(|e| werr(&e))?;
                }
                for r in rows.iter() {
                    w.write_record(r).map_err(|e| werr(&e))?;
                }
                let buf = w.into_inner().map_err(|e| werr(&e))?;
                out.write_all(&buf).map_err(|e| werr(&e))?;
            }
            Format::Xlsx => {
                if !last {
                    return Ok(self.written);
                }
                let mut wb = rust_xlsxwriter::Workbook::new();
                let ws = wb.add_worksheet();
                let bold = rust_xlsxwriter::Format::new().set_bold();
                for (i, h) in head.iter().enumerate() {
                    ws.write_string_with_format(0, i as u16, h, &bold)
                        .map_err(|e| werr(&e))?;
                }
                for (r, row) in rows.iter().enumerate() {
                    for (i, v) in row.iter().enumerate() {
                        ws.write_string(r as u32 + 1, i as u16, v)
                            .map_err(|e| werr(&e))?;
                    }
                }
                let buf = wb.save_to_buffer().map_err(|e| werr(&e))?;
                out.write_all(&buf).map_err(|e| werr(&e))?;
            }
        }
        self.written += rows.len() as u64;
        rows.clear();
        Ok(self.written)
    }
}

fn aggregate_cells(c: &Customer) -> [String; 3] {
    [
        kehu_domain::money::format_minor(c.aggregates.total_amount),
        c.aggregates.order_count.to_string(),
        c.aggregates
            .last_order_date
            .map(|d| d.to_string())
            .unwrap_or_default(),
    ]
}
