//! Values that evcxr shows richly: tables and polars `DataFrame`s as HTML (with a plain-text
//! form for diffs and logs).
use polars::prelude::{Column, DataFrame};
use std::fmt;

/// A small table: column names and rows of already formatted cells.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<String>>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `cells` padded with empty cells to `width`.
fn padded(cells: &[String], width: usize) -> impl Iterator<Item = &str> {
    let missing = width.saturating_sub(cells.len());
    cells
        .iter()
        .map(String::as_str)
        .chain(std::iter::repeat_n("", missing))
}

/// `<tr>` with one escaped `<tag>` cell per item.
fn html_row(cells: &[String], tag: &str) -> String {
    format!(
        "<tr>{}</tr>",
        cells
            .iter()
            .map(|c| format!("<{tag}>{}</{tag}>", escape(c)))
            .collect::<String>()
    )
}

impl Table {
    /// A table with these headers and no rows.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Self {
        Table {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row of displayable cells.
    pub fn row<D: fmt::Display>(mut self, cells: impl IntoIterator<Item = D>) -> Self {
        self.rows
            .push(cells.into_iter().map(|c| c.to_string()).collect());
        self
    }

    /// The number of columns shown: the headers', or a longer row's (its extra cells get an
    /// empty header, so a ragged row is shown whole rather than cut or refused).
    fn width(&self) -> usize {
        self.rows
            .iter()
            .map(Vec::len)
            .chain([self.columns.len()])
            .max()
            .unwrap_or(0)
    }

    /// The HTML form (rows shorter than the headers are padded with empty cells).
    pub fn to_html(&self) -> String {
        let width = self.width();
        let row = |cells: &[String], tag| {
            html_row(
                &padded(cells, width).map(str::to_string).collect::<Vec<_>>(),
                tag,
            )
        };
        let body: String = self.rows.iter().map(|r| row(r, "td")).collect();
        format!(
            "<table><thead>{}</thead><tbody>{body}</tbody></table>",
            row(&self.columns, "th")
        )
    }

    /// evcxr's display hook: HTML plus the aligned text form.
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT",
            self.to_html()
        );
        println!("EVCXR_BEGIN_CONTENT text/plain\n{self}\nEVCXR_END_CONTENT");
    }
}

impl fmt::Display for Table {
    /// Right-aligned columns separated by two spaces (ragged rows padded as in [`Table::to_html`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.width();
        let mut widths = vec![0; width];
        for cells in std::iter::once(&self.columns).chain(&self.rows) {
            for (w, c) in widths.iter_mut().zip(cells) {
                *w = (*w).max(c.len());
            }
        }
        let line = |cells: &[String]| {
            padded(cells, width)
                .zip(&widths)
                .map(|(c, w)| format!("{c:>w$}"))
                .collect::<Vec<_>>()
                .join("  ")
        };
        writeln!(f, "{}", line(&self.columns))?;
        for r in &self.rows {
            writeln!(f, "{}", line(r))?;
        }
        Ok(())
    }
}

/// A polars `DataFrame` shown as polars shows it in Python notebooks: its shape, the column
/// names and dtypes, then the first and last rows with `…` between. evcxr displays it as HTML
/// when it is a cell's last expression: `Frame::new(monitor.to_dataframe()?)`.
#[derive(Clone, Debug)]
pub struct Frame {
    df: DataFrame,
    rows: usize,
}

impl From<DataFrame> for Frame {
    fn from(df: DataFrame) -> Self {
        Frame::new(df)
    }
}

impl Frame {
    /// Shows the first 5 and last 5 rows.
    pub fn new(df: DataFrame) -> Self {
        Frame { df, rows: 5 }
    }

    /// Shows the first `rows` and the last `rows` rows (0: only the `…` row).
    pub fn with_rows(mut self, rows: usize) -> Self {
        self.rows = rows;
        self
    }

    /// The frame.
    pub fn dataframe(&self) -> &DataFrame {
        &self.df
    }

    /// The frame, by value.
    pub fn into_inner(self) -> DataFrame {
        self.df
    }

    fn cell(column: &Column, row: usize) -> String {
        match column.get(row) {
            Ok(value) => value
                .get_str()
                .map(str::to_string)
                .unwrap_or_else(|| value.to_string()),
            Err(e) => format!("<{e}>"),
        }
    }

    /// The shown rows as a [`Table`], with a row of `…` where rows are left out.
    pub fn to_table(&self) -> Table {
        let columns = self.df.columns();
        let mut table = Table::new(columns.iter().map(|c| c.name().to_string()));
        let height = self.df.height();
        let cut = height > self.rows.saturating_mul(2);
        let shown: Vec<usize> = if cut {
            (0..self.rows).chain(height - self.rows..height).collect()
        } else {
            (0..height).collect()
        };
        for (k, &row) in shown.iter().enumerate() {
            if k == self.rows && cut {
                table = table.row(columns.iter().map(|_| "…"));
            }
            table = table.row(columns.iter().map(|c| Self::cell(c, row)));
        }
        if cut && self.rows == 0 {
            table = table.row(columns.iter().map(|_| "…"));
        }
        table
    }

    /// `shape: (rows, columns)`.
    pub fn shape_line(&self) -> String {
        let (h, w) = self.df.shape();
        format!("shape: ({h}, {w})")
    }

    /// The HTML form: the shape, then a table whose header has the names and the dtypes.
    pub fn to_html(&self) -> String {
        let table = self.to_table();
        let dtypes: Vec<String> = self
            .df
            .columns()
            .iter()
            .map(|c| c.dtype().to_string())
            .collect();
        let body: String = table.rows.iter().map(|r| html_row(r, "td")).collect();
        format!(
            "<div><small>{}</small><table><thead>{}{}</thead><tbody>{body}</tbody></table></div>",
            escape(&self.shape_line()),
            html_row(&table.columns, "th"),
            html_row(&dtypes, "td")
        )
    }

    /// evcxr's display hook: HTML plus the aligned text form.
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT",
            self.to_html()
        );
        println!("EVCXR_BEGIN_CONTENT text/plain\n{self}\nEVCXR_END_CONTENT");
    }
}

impl fmt::Display for Frame {
    /// The shape line, then the shown rows as a [`Table`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.shape_line())?;
        write!(f, "{}", self.to_table())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_text_forms() {
        let t = Table::new(["t", "rate"])
            .row(["0", "0.25"])
            .row(["1", "<1>"]);
        assert_eq!(
            t.to_html(),
            "<table><thead><tr><th>t</th><th>rate</th></tr></thead><tbody><tr><td>0</td><td>0.25</td></tr><tr><td>1</td><td>&lt;1&gt;</td></tr></tbody></table>"
        );
        assert_eq!(t.to_string(), "t  rate\n0  0.25\n1   <1>\n");
    }

    #[test]
    fn frames_show_shape_head_tail_and_dtypes() {
        let df = DataFrame::new_infer_height(vec![
            Column::new(
                "layer".into(),
                (0..7).map(|i| format!("l{i}")).collect::<Vec<_>>(),
            ),
            Column::new(
                "value".into(),
                (0..7).map(|i| i as f64 / 2.0).collect::<Vec<_>>(),
            ),
        ])
        .unwrap();
        let frame = Frame::new(df).with_rows(2);
        assert_eq!(
            frame.to_string(),
            "shape: (7, 2)\nlayer  value\n   l0    0.0\n   l1    0.5\n    …      …\n   l5    2.5\n   l6    3.0\n"
        );
        let html = frame.to_html();
        assert!(html.starts_with("<div><small>shape: (7, 2)</small><table><thead><tr><th>layer</th><th>value</th></tr><tr><td>str</td><td>f64</td></tr></thead>"), "{html}");
        assert_eq!(html.matches("<tr>").count(), 2 + 5);
        // a short frame is shown whole
        assert_eq!(frame.with_rows(5).to_table().rows.len(), 7);
    }
}
