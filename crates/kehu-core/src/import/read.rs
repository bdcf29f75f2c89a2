//! Reading tables from CSV (UTF-8 with or without BOM, or GB18030 as saved
//! by Chinese Excel; comma, semicolon or tab) and XLSX, row by row, with the
//! line number each row starts on.

use std::io::{BufReader, Cursor, Read};
use std::path::Path;

/// A file to import: on disk, or uploaded bytes with their file name.
#[derive(Debug, Clone)]
pub enum Source {
    Path(std::path::PathBuf),
    Bytes {
        name: String,
        bytes: std::sync::Arc<Vec<u8>>,
    },
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Bytes { name, .. } => name.clone(),
        }
    }

    fn is_xlsx(&self) -> std::io::Result<bool> {
        let ext_xlsx = |n: &str| {
            let n = n.to_ascii_lowercase();
            n.ends_with(".xlsx") || n.ends_with(".xlsm")
        };
        if ext_xlsx(&self.name()) {
            return Ok(true);
        }
        // Zip magic: an XLSX under another name.
        let mut head = [0u8; 4];
        let n = match self {
            Source::Path(p) => std::fs::File::open(p)?.read(&mut head)?,
            Source::Bytes { bytes, .. } => {
                let n = bytes.len().min(4);
                head[..n].copy_from_slice(&bytes[..n]);
                n
            }
        };
        Ok(n == 4 && head == *b"PK\x03\x04")
    }

    /// Total size in bytes, for progress.
    pub fn len(&self) -> u64 {
        match self {
            Source::Path(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            Source::Bytes { bytes, .. } => bytes.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One data row: its line (1 is the header) and its cells.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    pub line: u64,
    /// Bytes read so far, for progress.
    pub offset: u64,
    pub cells: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {0}: {1}")]
    Io(String, std::io::Error),
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("cannot read the spreadsheet: {0}")]
    Xlsx(String),
    #[error("the file is empty: no header row")]
    NoHeader,
}

/// A table: its header and its rows.
pub struct Table {
    pub headers: Vec<String>,
    rows: Box<dyn Iterator<Item = Result<RawRow, ReadError>> + Send>,
}

impl Iterator for Table {
    type Item = Result<RawRow, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.rows.next()
    }
}

pub fn open(source: &Source) -> Result<Table, ReadError> {
    let io = |e| ReadError::Io(source.name(), e);
    if source.is_xlsx().map_err(io)? {
        return open_xlsx(source);
    }
    let reader: Box<dyn Read + Send> = match source {
        Source::Path(p) => Box::new(BufReader::with_capacity(
            1 << 16,
            std::fs::File::open(p).map_err(io)?,
        )),
        Source::Bytes { bytes, .. } => Box::new(Cursor::new(SharedBytes(bytes.clone()))),
    };
    open_csv(reader, &source.name())
}

struct SharedBytes(std::sync::Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

fn open_csv(mut reader: Box<dyn Read + Send>, name: &str) -> Result<Table, ReadError> {
    let io = |e| ReadError::Io(name.to_owned(), e);
    // Look at the start to choose the encoding and the delimiter.
    let mut head = vec![0u8; 64 * 1024];
    let mut filled = 0;
    while filled < head.len() {
        let n = reader.read(&mut head[filled..]).map_err(io)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    head.truncate(filled);
    let mut skip = 0;
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        skip = 3;
    }
    let utf8 = match std::str::from_utf8(&head[skip..]) {
        Ok(_) => true,
        // A multi-byte character cut at the end of the sample is fine.
        Err(e) => e.error_len().is_none(),
    };
    let first_line = head[skip..]
        .split(|b| *b == b'\n')
        .next()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .unwrap_or_default();
    let body: Box<dyn Read + Send> = if utf8 {
        Box::new(Cursor::new(head.split_off(skip)).chain(reader))
    } else {
        // GB18030 (a superset of GBK): decode the whole file.
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).map_err(io)?;
        head.extend_from_slice(&rest);
        let (text, _, _) = encoding_rs::GB18030.decode(&head);
        Box::new(Cursor::new(text.into_owned().into_bytes()))
    };
    let delimiter = [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    // The csv reader does not count blank lines; this does, so reported
    // line numbers are the ones an editor shows.
    let newlines = std::sync::Arc::new(std::sync::Mutex::new((
        Vec::<u64>::new(),
        Vec::<u64>::new(),
    )));
    let body = LineCounter {
        inner: body,
        pos: 0,
        newlines: newlines.clone(),
    };
    let line_of = move |byte: u64| {
        let marks = newlines.lock().unwrap_or_else(|e| e.into_inner());
        let (nl, cr) = (&marks.0, &marks.1);
        // The csv reader reports a record after blank lines as starting at
        // the first of them; step over them.
        let mut b = byte;
        loop {
            if nl.binary_search(&b).is_ok() {
                b += 1;
            } else if cr.binary_search(&b).is_ok() && nl.binary_search(&(b + 1)).is_ok() {
                b += 2;
            } else {
                break;
            }
        }
        1 + nl.partition_point(|p| *p < b) as u64
    };
    let csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut records = csv.into_records();
    let headers = match records.next() {
        Some(Ok(r)) => r.iter().map(|h| h.trim().to_owned()).collect(),
        Some(Err(e)) => {
            return Err(ReadError::Csv {
                line: 1,
                message: e.to_string(),
            })
        }
        None => return Err(ReadError::NoHeader),
    };
    let rows = records.filter_map(move |r| match r {
        Ok(rec) => {
            let pos = rec.position().cloned().unwrap_or_else(csv::Position::new);
            let cells: Vec<String> = rec.iter().map(|c| c.trim().to_owned()).collect();
            if cells.iter().all(String::is_empty) {
                return None;
            }
            Some(Ok(RawRow {
                line: line_of(pos.byte()),
                offset: pos.byte(),
                cells,
            }))
        }
        Err(e) => Some(Err(ReadError::Csv {
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })),
    });
    Ok(Table {
        headers,
        rows: Box::new(rows),
    })
}

struct LineCounter<R> {
    inner: R,
    pos: u64,
    /// Positions of `\n` and of `\r`.
    newlines: std::sync::Arc<std::sync::Mutex<(Vec<u64>, Vec<u64>)>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut marks = self.newlines.lock().unwrap_or_else(|e| e.into_inner());
        for (i, b) in buf[..n].iter().enumerate() {
            match b {
                b'\n' => marks.0.push(self.pos + i as u64),
                b'\r' => marks.1.push(self.pos + i as u64),
                _ => {}
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

fn open_xlsx(source: &Source) -> Result<Table, ReadError> {
    use calamine::{Data, Reader, Xlsx};
    let bad = |e: calamine::XlsxError| ReadError::Xlsx(e.to_string());
    let range = match source {
        Source::Path(p) => {
            let mut wb: Xlsx<_> = calamine::open_workbook(Path::new(p)).map_err(bad)?;
            first_sheet(&mut wb)?
        }
        Source::Bytes { bytes, .. } => {
            let mut wb = Xlsx::new(Cursor::new(bytes.as_slice().to_vec())).map_err(bad)?;
            first_sheet(&mut wb)?
        }
    };
    fn first_sheet<R: Read + std::io::Seek>(
        wb: &mut Xlsx<R>,
    ) -> Result<calamine::Range<Data>, ReadError> {
        let name = wb
            .sheet_names()
            .first()
            .cloned()
            .ok_or(ReadError::NoHeader)?;
        wb.worksheet_range(&name)
            .map_err(|e| ReadError::Xlsx(e.to_string()))
    }
    let (top, _) = range.start().unwrap_or((0, 0));
    let mut rows: Vec<(u64, Vec<String>)> = range
        .rows()
        .enumerate()
        .map(|(i, r)| {
            (
                u64::from(top) + i as u64 + 1,
                r.iter().map(cell_text).collect(),
            )
        })
        .collect();
    if rows.is_empty() {
        return Err(ReadError::NoHeader);
    }
    let (_, headers) = rows.remove(0);
    let total = rows.len() as u64;
    let iter = rows
        .into_iter()
        .enumerate()
        .filter_map(move |(i, (line, cells))| {
            if cells.iter().all(String::is_empty) {
                return None;
            }
            Some(Ok(RawRow {
                line,
                offset: (i as u64 + 1) * 1000 / total.max(1),
                cells,
            }))
        });
    Ok(Table {
        headers: headers.into_iter().map(|h| h.trim().to_owned()).collect(),
        rows: Box::new(iter),
    })
}

/// A spreadsheet cell as the text a person would type.
fn cell_text(c: &calamine::Data) -> String {
    use calamine::{Data, DataType};
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => {
            if *b {
                "yes".into()
            } else {
                "no".into()
            }
        }
        Data::Float(f) => float_text(*f),
        Data::DateTime(_) | Data::DateTimeIso(_) => match c.as_datetime() {
            Some(dt) if dt.time() == chrono::NaiveTime::MIN => {
                dt.date().format("%Y-%m-%d").to_string()
            }
            Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S").to_string(),
            None => c.to_string(),
        },
        other => other.to_string(),
    }
}

/// A float without binary noise: at most 6 decimals, trailing zeros cut.
fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let s = format!("{f:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(name: &str, b: &[u8]) -> Source {
        Source::Bytes {
            name: name.into(),
            bytes: std::sync::Arc::new(b.to_vec()),
        }
    }

    fn read_all(s: &Source) -> (Vec<String>, Vec<RawRow>) {
        let t = open(s).unwrap();
        let h = t.headers.clone();
        (h, t.map(Result::unwrap).collect())
    }

    #[test]
    fn csv_with_bom_quotes_and_multiline_cells_keeps_line_numbers() {
        let src = "\u{feff}客户名称,备注\n甲公司,\"第一行\n第二行\"\n\n乙公司,x\n";
        let (h, rows) = read_all(&bytes("a.csv", src.as_bytes()));
        assert_eq!(h, ["客户名称", "备注"]);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].line, rows[0].cells[1].as_str()),
            (2, "第一行\n第二行")
        );
        assert_eq!(
            rows[1].line, 5,
            "the record after a multi-line cell and a blank line"
        );
    }

    #[test]
    fn gbk_files_from_excel_are_decoded() {
        let (encoded, _, _) =
            encoding_rs::GBK.encode("客户名称;手机\n华为技术有限公司;13800138000\n");
        let (h, rows) = read_all(&bytes("gbk.csv", &encoded));
        assert_eq!(h, ["客户名称", "手机"], "semicolon detected too");
        assert_eq!(rows[0].cells[0], "华为技术有限公司");
    }

    #[test]
    fn xlsx_cells_read_as_typed() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "客户名称").unwrap();
        ws.write_string(0, 1, "金额").unwrap();
        ws.write_string(0, 2, "日期").unwrap();
        ws.write_string(1, 0, "甲").unwrap();
        ws.write_number(1, 1, 0.1 + 0.2).unwrap();
        let fmt = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        let d = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 3, 5).unwrap();
        ws.write_datetime_with_format(1, 2, &d, &fmt).unwrap();
        ws.write_string(3, 0, "乙").unwrap();
        ws.write_number(3, 1, 1234.0).unwrap();
        let buf = wb.save_to_buffer().unwrap();
        let (h, rows) = read_all(&bytes("upload.bin", &buf));
        assert_eq!(h, ["客户名称", "金额", "日期"]);
        assert_eq!(rows[0].cells, ["甲", "0.3", "2026-03-05"]);
        assert_eq!((rows[1].line, rows[1].cells[1].as_str()), (4, "1234"));
    }

    #[test]
    fn floats_lose_their_noise() {
        assert_eq!(float_text(1234.5), "1234.5");
        assert_eq!(float_text(0.1 + 0.2), "0.3");
        assert_eq!(float_text(-12.0), "-12");
    }
}
