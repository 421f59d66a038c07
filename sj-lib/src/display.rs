//! Values that evcxr shows richly: tables as HTML (with a plain-text form for diffs and logs).
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
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl Table {
    /// A table with these headers and no rows.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Self {
        Table { columns: columns.into_iter().map(Into::into).collect(), rows: Vec::new() }
    }

    /// Appends a row of displayable cells.
    pub fn row<D: fmt::Display>(mut self, cells: impl IntoIterator<Item = D>) -> Self {
        self.rows.push(cells.into_iter().map(|c| c.to_string()).collect());
        self
    }

    /// The HTML form.
    pub fn to_html(&self) -> String {
        let head: String = self.columns.iter().map(|c| format!("<th>{}</th>", escape(c))).collect();
        let body: String = self
            .rows
            .iter()
            .map(|r| format!("<tr>{}</tr>", r.iter().map(|c| format!("<td>{}</td>", escape(c))).collect::<String>()))
            .collect();
        format!("<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    }

    /// evcxr's display hook: HTML plus the aligned text form.
    pub fn evcxr_display(&self) {
        println!("EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT", self.to_html());
        println!("EVCXR_BEGIN_CONTENT text/plain\n{self}\nEVCXR_END_CONTENT");
    }
}

impl fmt::Display for Table {
    /// Right-aligned columns separated by two spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| self.rows.iter().map(|r| r[i].len()).chain([self.columns[i].len()]).max().unwrap_or(0))
            .collect();
        let line = |cells: &[String]| cells.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}")).collect::<Vec<_>>().join("  ");
        writeln!(f, "{}", line(&self.columns))?;
        for r in &self.rows {
            writeln!(f, "{}", line(r))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_text_forms() {
        let t = Table::new(["t", "rate"]).row(["0", "0.25"]).row(["1", "<1>"]);
        assert_eq!(
            t.to_html(),
            "<table><thead><tr><th>t</th><th>rate</th></tr></thead><tbody><tr><td>0</td><td>0.25</td></tr><tr><td>1</td><td>&lt;1&gt;</td></tr></tbody></table>"
        );
        assert_eq!(t.to_string(), "t  rate\n0  0.25\n1   <1>\n");
    }
}
