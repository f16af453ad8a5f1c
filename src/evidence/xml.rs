//! A guarded walk over an XML report with quick-xml's streaming reader:
//! elements only, nesting bounded, DTD entity declarations refused (entities
//! are never expanded, so no billion laughs), every error located.

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::errors::SyntaxError;
use quick_xml::events::{BytesStart, Event};

/// Deeper nesting than any real report is refused, which also bounds memory.
pub const MAX_DEPTH: usize = 256;

/// An element opening or closing (`<x/>` is both, one after the other).
pub enum Node<'a, 'e> {
    Open {
        name: &'a str,
        element: &'a BytesStart<'e>,
    },
    Close {
        name: &'a str,
    },
}

/// Walks `text`, calling `visit` for every element; returns the root's name.
/// The visitor may stop the walk with an error of its own.
pub fn walk(
    text: &str,
    mut visit: impl FnMut(Node<'_, '_>) -> Result<(), String>,
) -> Result<String, String> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut open: Vec<String> = Vec::new();
    let mut root: Option<String> = None;
    let at = |pos: u64| {
        let (line, col) = line_col(text, pos as usize);
        format!("line {line}, column {col}")
    };
    loop {
        // Where the event starts: problems with a tag are shown at its `<`.
        let start = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| match e {
            // Every syntax error but a bad `<!` is the input ending inside markup.
            quick_xml::Error::Syntax(s) if s != SyntaxError::InvalidBangMarkup => {
                format!("truncated at {}: {s}", at(reader.error_position()))
            }
            e => format!("malformed XML at {}: {e}", at(reader.error_position())),
        })?;
        let (e, empty) = match ev {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                // check_end_names has matched it against the open element.
                if let Some(name) = open.pop() {
                    visit(Node::Close { name: &name })?;
                }
                continue;
            }
            Event::DocType(d) => {
                if d.as_ref().contains("<!ENTITY") {
                    return Err(format!(
                        "refused at {}: the document declares XML entities, which Slate never expands",
                        at(start)
                    ));
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = local_name(&e);
        if open.is_empty() && root.is_some() {
            return Err(format!(
                "malformed XML at {}: a second root element <{name}> after </{}>",
                at(start),
                root.as_deref().unwrap_or("")
            ));
        }
        if let Some(bad) = e.attributes().find_map(Result::err) {
            return Err(format!("malformed XML at {}: {bad}", at(start)));
        }
        if root.is_none() {
            root = Some(name.clone());
        }
        visit(Node::Open {
            name: &name,
            element: &e,
        })?;
        if empty {
            visit(Node::Close { name: &name })?;
        } else {
            if open.len() == MAX_DEPTH {
                return Err(format!(
                    "malformed XML at {}: elements nested more than {MAX_DEPTH} deep",
                    at(start)
                ));
            }
            open.push(name);
        }
    }
    if let Some(name) = open.last() {
        return Err(format!(
            "truncated: the file ends inside <{name}> (it is never closed)"
        ));
    }
    root.ok_or_else(|| "not XML: the file has no elements".to_string())
}

/// The element's name without a namespace prefix.
fn local_name(e: &BytesStart<'_>) -> String {
    e.local_name().as_ref().to_string()
}

/// An attribute's value (the five predefined entities and character
/// references resolved, nothing else), by local name. The walk has already
/// checked the element's attributes, so they are not checked again here.
pub fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    let mut attrs = e.attributes();
    attrs.with_checks(false);
    attrs.flatten().find_map(|a| {
        (a.key.local_name().as_ref() == name).then(|| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| a.value.clone().into_owned())
        })
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    crate::plan::diagnostic::line_col(text, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        walk(text, |n| {
            out.push(match n {
                Node::Open { name, .. } => format!("+{name}"),
                Node::Close { name } => format!("-{name}"),
            });
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn walks_elements_and_names_problems_with_their_place() {
        assert_eq!(
            names("<?xml version=\"1.0\"?>\n<a x='1'><b/><c></c></a>").unwrap(),
            ["+a", "+b", "-b", "+c", "-c", "-a"]
        );
        let e = names("<a>\n  <b></c>\n</a>").unwrap_err();
        assert!(e.starts_with("malformed XML at line 2, column "), "{e}");
        assert_eq!(
            names("<a><b>").unwrap_err(),
            "truncated: the file ends inside <b> (it is never closed)"
        );
        assert_eq!(
            names("just text").unwrap_err(),
            "not XML: the file has no elements"
        );
        assert!(
            names("<a/><b/>")
                .unwrap_err()
                .contains("a second root element <b>")
        );
        let e = names("<a x='1' x='2'/>").unwrap_err();
        assert!(e.starts_with("malformed XML at line 1"), "{e}");
    }

    #[test]
    fn entity_declarations_are_refused_and_never_expanded() {
        let lol = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<testsuite name="&lol3;" tests="&lol3;"><testcase name="&lol3;"/></testsuite>"#;
        let e = names(lol).unwrap_err();
        assert!(
            e.contains("declares XML entities, which Slate never expands"),
            "{e}"
        );
        assert!(e.starts_with("refused at line "), "{e}");
        // A reference to an undeclared entity is left as written.
        let mut seen = None;
        walk("<a n='x&bogus;y &amp; &#65;'/>", |n| {
            if let Node::Open { element, .. } = n {
                seen = attr(element, "n");
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.as_deref(), Some("x&bogus;y &amp; &#65;"));
        let mut seen = None;
        walk("<a n='x &amp; &#65;'/>", |n| {
            if let Node::Open { element, .. } = n {
                seen = attr(element, "n");
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.as_deref(), Some("x & A"));
    }

    #[test]
    fn deep_nesting_is_refused_before_it_costs_memory() {
        let deep = "<a>".repeat(100_000);
        let e = names(&deep).unwrap_err();
        assert!(e.contains("nested more than 256 deep"), "{e}");
        let ok = format!("{}{}", "<a>".repeat(200), "</a>".repeat(200));
        assert_eq!(names(&ok).unwrap().len(), 400);
    }
}
