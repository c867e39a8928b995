//! Reading JUnit XML into suites and test cases, keeping every element the dialects use.
//!
//! The reader hands each test case over as soon as it ends, so a file is never held whole. It
//! is lenient about structure (a root `<testsuites>` or `<testsuite>`, nested
//! suites, unknown elements, missing attributes) and strict about XML: a malformed or truncated
//! file is an error saying what broke and at which byte.

use std::io::BufRead;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// A JUnit file as the dialects need it, without its test cases.
#[derive(Debug, Default)]
pub(crate) struct Document {
    /// The `name` of a root `<testsuites>` (`None` for a root `<testsuite>`).
    pub root_name: Option<String>,
    /// Whether the root `<testsuites>` has an `id` attribute (Playwright writes one).
    pub root_has_id: bool,
    /// The `timestamp` of the root element.
    pub root_timestamp: Option<String>,
    /// The suites opened so far, in file order.
    pub suites: Vec<Suite>,
}

/// One `<testsuite>` element.
#[derive(Debug, Default)]
pub(crate) struct Suite {
    pub name: String,
    pub hostname: Option<String>,
    pub timestamp: Option<String>,
}

/// One `<testcase>` element.
#[derive(Debug, Default)]
pub(crate) struct Case {
    /// The index of the innermost suite around it in [`Document::suites`].
    pub suite: usize,
    pub name: String,
    pub classname: Option<String>,
    pub timestamp: Option<String>,
    /// The result elements, in file order.
    pub results: Vec<ResultElement>,
    pub system_out: String,
    pub system_err: String,
}

/// What a result element inside a `<testcase>` says about an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResultKind {
    /// `<failure>`: the final attempt failed.
    Failure,
    /// `<error>`: the final attempt errored.
    Error,
    /// `<skipped>`.
    Skipped,
    /// `<flakyFailure>`, `<flakyError>`: a failed attempt of a test that passed later.
    Flaky,
    /// `<rerunFailure>`, `<rerunError>`: a failed attempt of a test that failed every attempt.
    Rerun,
}

impl ResultKind {
    fn of(tag: &[u8]) -> Option<Self> {
        Some(match tag {
            b"failure" => Self::Failure,
            b"error" => Self::Error,
            b"skipped" => Self::Skipped,
            b"flakyFailure" | b"flakyError" => Self::Flaky,
            b"rerunFailure" | b"rerunError" => Self::Rerun,
            _ => return None,
        })
    }
}

/// One result element: its attributes and the texts inside it.
#[derive(Debug)]
pub(crate) struct ResultElement {
    pub kind: ResultKind,
    pub message: Option<String>,
    pub timestamp: Option<String>,
    /// The element's own text (a stack trace or report, depending on the writer).
    pub text: String,
    /// `<stackTrace>`, `<system-out>` and `<system-err>` inside the element.
    pub stack_trace: String,
    pub system_out: String,
    pub system_err: String,
}

/// Where text inside the current element goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    Nowhere,
    ResultText,
    ResultStackTrace,
    ResultOut,
    ResultErr,
    CaseOut,
    CaseErr,
}

/// An open element and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Root,
    /// The suite's index in [`Document::suites`].
    Suite(usize),
    Case,
    Result,
    Text(Sink),
    Other,
}

/// Why a file is not JUnit, as one line (the error's source).
#[derive(Debug)]
pub(crate) struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Malformed {}

/// Reads a whole JUnit document, giving each test case to `on_case` with the document read so
/// far (the root and the suites around the case are in it) when the case ends.
pub(crate) fn read_document(
    xml: impl BufRead,
    on_case: &mut dyn FnMut(&Document, Case) -> Result<(), Malformed>,
) -> Result<Document, Malformed> {
    let mut reader = Reader::from_reader(xml);
    let mut state = State::default();
    let mut buf = Vec::new();
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|err| Malformed(format!("{err} (at byte {})", reader.error_position())))?;
        let at = |what: String| Malformed(format!("{what} (at byte {position})"));
        let finished = match event {
            Event::Start(start) => state.open(&start, false).map_err(at)?,
            Event::Empty(start) => state.open(&start, true).map_err(at)?,
            Event::End(_) => state.close(),
            Event::Text(text) => {
                let text = text
                    .xml_content(XmlVersion::Implicit1_0)
                    .map_err(|err| at(err.to_string()))?;
                state.text(&text);
                None
            }
            Event::CData(data) => {
                let text = data
                    .xml_content(XmlVersion::Implicit1_0)
                    .map_err(|err| at(err.to_string()))?;
                state.text(&text);
                None
            }
            Event::GeneralRef(reference) => {
                let text = resolve(&reference).map_err(at)?;
                state.text(&text);
                None
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => None,
        };
        if let Some(case) = finished {
            on_case(&state.document, case)?;
        }
        buf.clear();
    }
    if let Some(open) = state.stack.len().checked_sub(1) {
        let name = state.names.get(open).map_or("", String::as_str);
        return Err(Malformed(format!(
            "the file ends inside <{name}> (it is truncated)"
        )));
    }
    if !state.seen_root {
        return Err(Malformed(
            "no <testsuites> or <testsuite> element".to_owned(),
        ));
    }
    Ok(state.document)
}

/// `&amp;`, `&#10;`, … as text.
fn resolve(reference: &BytesRef<'_>) -> Result<String, String> {
    if let Some(character) = reference
        .resolve_char_ref()
        .map_err(|err| err.to_string())?
    {
        return Ok(character.to_string());
    }
    let name = reference.decode().map_err(|err| err.to_string())?;
    quick_xml::escape::resolve_predefined_entity(&name)
        .map(str::to_owned)
        .ok_or_else(|| format!("unknown entity &{name};"))
}

#[derive(Default)]
struct State {
    document: Document,
    stack: Vec<Frame>,
    /// The tag names of `stack` (the first `open_names`), for the truncation message; the
    /// strings beyond are kept for reuse, so most elements allocate nothing.
    names: Vec<String>,
    open_names: usize,
    seen_root: bool,
    case: Option<Case>,
    result: Option<ResultElement>,
}

impl State {
    /// Starts an element; a self-closing one ends at once, and may end a test case.
    fn open(&mut self, start: &BytesStart<'_>, empty: bool) -> Result<Option<Case>, String> {
        let tag = start.name();
        let tag = tag.as_ref();
        let frame = self.frame_for(tag, start)?;
        self.stack.push(frame);
        if empty {
            return Ok(self.close());
        }
        let tag = String::from_utf8_lossy(tag);
        match self.names.get_mut(self.open_names) {
            Some(name) => {
                name.clear();
                name.push_str(&tag);
            }
            None => self.names.push(tag.into_owned()),
        }
        self.open_names += 1;
        Ok(None)
    }

    /// Decides what a new element means from where it is, and starts it.
    fn frame_for(&mut self, tag: &[u8], start: &BytesStart<'_>) -> Result<Frame, String> {
        let parent = self.stack.last().copied();
        let frame = match (parent, tag) {
            (None, b"testsuites") if !self.seen_root => {
                self.seen_root = true;
                let [name, id, timestamp] = attributes(start, [b"name", b"id", b"timestamp"])?;
                self.document.root_name = name;
                self.document.root_has_id = id.is_some();
                self.document.root_timestamp = timestamp;
                Frame::Root
            }
            (None, b"testsuite") if !self.seen_root => {
                self.seen_root = true;
                let frame = self.start_suite(start)?;
                // The root suite's time is also the root's (Surefire's TEST-*.xml).
                self.document.root_timestamp = self.document.suites[0].timestamp.clone();
                frame
            }
            (None, _) => {
                let name = String::from_utf8_lossy(tag);
                return Err(if self.seen_root {
                    format!("<{name}> after the root element")
                } else {
                    format!("<{name}> where <testsuites> or <testsuite> should be")
                });
            }
            (Some(Frame::Root | Frame::Suite(_)), b"testsuite") => self.start_suite(start)?,
            (Some(Frame::Suite(suite)), b"testcase") => {
                let [name, classname, timestamp] =
                    attributes(start, [b"name", b"classname", b"timestamp"])?;
                self.case = Some(Case {
                    suite,
                    name: name.unwrap_or_default(),
                    classname,
                    timestamp,
                    ..Case::default()
                });
                Frame::Case
            }
            (Some(Frame::Case), b"system-out") => Frame::Text(Sink::CaseOut),
            (Some(Frame::Case), b"system-err") => Frame::Text(Sink::CaseErr),
            (Some(Frame::Case), _) => match ResultKind::of(tag) {
                Some(kind) => {
                    let [message, timestamp] = attributes(start, [b"message", b"timestamp"])?;
                    self.result = Some(ResultElement {
                        kind,
                        message,
                        timestamp,
                        text: String::new(),
                        stack_trace: String::new(),
                        system_out: String::new(),
                        system_err: String::new(),
                    });
                    Frame::Result
                }
                None => Frame::Other,
            },
            (Some(Frame::Result), b"stackTrace") => Frame::Text(Sink::ResultStackTrace),
            (Some(Frame::Result), b"system-out") => Frame::Text(Sink::ResultOut),
            (Some(Frame::Result), b"system-err") => Frame::Text(Sink::ResultErr),
            _ => Frame::Other,
        };
        Ok(frame)
    }

    fn start_suite(&mut self, start: &BytesStart<'_>) -> Result<Frame, String> {
        let index = self.document.suites.len();
        let [name, hostname, timestamp] = attributes(start, [b"name", b"hostname", b"timestamp"])?;
        self.document.suites.push(Suite {
            name: name.unwrap_or_default(),
            hostname,
            timestamp,
        });
        Ok(Frame::Suite(index))
    }

    /// Ends the innermost element; the test case, when that was one.
    fn close(&mut self) -> Option<Case> {
        let frame = self.stack.pop()?;
        self.open_names = self.stack.len();
        match frame {
            Frame::Case => return self.case.take(),
            Frame::Result => {
                if let (Some(case), Some(result)) = (&mut self.case, self.result.take()) {
                    case.results.push(result);
                }
            }
            Frame::Root | Frame::Suite(_) | Frame::Text(_) | Frame::Other => {}
        }
        None
    }

    fn text(&mut self, text: &str) {
        let sink = match self.stack.last() {
            Some(Frame::Result) => Sink::ResultText,
            Some(Frame::Text(sink)) => *sink,
            _ => Sink::Nowhere,
        };
        let target = match sink {
            Sink::Nowhere => None,
            Sink::ResultText => self.result.as_mut().map(|result| &mut result.text),
            Sink::ResultStackTrace => self.result.as_mut().map(|result| &mut result.stack_trace),
            Sink::ResultOut => self.result.as_mut().map(|result| &mut result.system_out),
            Sink::ResultErr => self.result.as_mut().map(|result| &mut result.system_err),
            Sink::CaseOut => self.case.as_mut().map(|case| &mut case.system_out),
            Sink::CaseErr => self.case.as_mut().map(|case| &mut case.system_err),
        };
        if let Some(target) = target {
            target.push_str(text);
        }
    }
}

/// The unescaped values of the attributes `names`, each if present, in one pass.
fn attributes<const N: usize>(
    start: &BytesStart<'_>,
    names: [&[u8]; N],
) -> Result<[Option<String>; N], String> {
    let mut values = [const { None }; N];
    // The duplicate check is quadratic in the attribute count; a repeated attribute keeps
    // its last value instead.
    for attribute in start.attributes().with_checks(false) {
        let attribute = attribute.map_err(|err| err.to_string())?;
        if let Some(index) = names
            .iter()
            .position(|name| *name == attribute.key.as_ref())
        {
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| err.to_string())?;
            values[index] = Some(value.into_owned());
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(xml: &str) -> Result<(Document, Vec<Case>), Malformed> {
        let mut cases = Vec::new();
        let document = read_document(xml.as_bytes(), &mut |_, case| {
            cases.push(case);
            Ok(())
        })?;
        Ok((document, cases))
    }

    #[test]
    fn nested_suites_own_their_cases_and_references_are_resolved() {
        let xml = r#"<testsuites name="all"><testsuite name="outer">
            <testsuite name="inner" hostname="h"><testcase name="a &amp; b" classname="c">
              <failure message="line&#10;two">x &lt; y<![CDATA[ <raw> ]]></failure>
              <system-out>out</system-out>
            </testcase></testsuite>
            <testcase name="later"/></testsuite></testsuites>"#;

        let (document, cases) = read_all(xml).unwrap();

        let suites: Vec<(&str, Option<&str>)> = document
            .suites
            .iter()
            .map(|suite| (suite.name.as_str(), suite.hostname.as_deref()))
            .collect();
        assert_eq!(suites, [("outer", None), ("inner", Some("h"))]);
        let names: Vec<(usize, &str)> = cases
            .iter()
            .map(|case| (case.suite, case.name.as_str()))
            .collect();
        assert_eq!(names, [(1, "a & b"), (0, "later")]);
        let failure = &cases[0].results[0];
        assert_eq!(failure.kind, ResultKind::Failure);
        assert_eq!(failure.message.as_deref(), Some("line\ntwo"));
        assert_eq!(failure.text, "x < y <raw> ");
        assert_eq!(cases[0].system_out, "out");
        assert_eq!(document.root_name.as_deref(), Some("all"));
    }

    #[test]
    fn a_root_testsuite_is_the_document() {
        let xml = r#"<testsuite name="shop.CartTest" timestamp="2026-01-01T00:00:00">
            <testcase name="adds" classname="shop.CartTest"><rerunFailure><stackTrace>t</stackTrace></rerunFailure></testcase>
            </testsuite>"#;

        let (document, cases) = read_all(xml).unwrap();

        assert_eq!(document.root_name, None);
        assert_eq!(
            document.root_timestamp.as_deref(),
            Some("2026-01-01T00:00:00")
        );
        assert_eq!(cases[0].results[0].kind, ResultKind::Rerun);
        assert_eq!(cases[0].results[0].stack_trace, "t");
    }

    #[test]
    fn what_is_not_junit_says_what_and_where() {
        let cases = [
            ("", "no <testsuites> or <testsuite> element"),
            (
                "<report/>",
                "<report> where <testsuites> or <testsuite> should be (at byte 0)",
            ),
            (
                "<testsuite/><testsuite/>",
                "<testsuite> after the root element (at byte 12)",
            ),
            (
                "<testsuites><testsuite>",
                "the file ends inside <testsuite> (it is truncated)",
            ),
            (
                "<testsuites>&nope;</testsuites>",
                "unknown entity &nope; (at byte 12)",
            ),
        ];
        for (xml, expected) in cases {
            let err = read_all(xml).unwrap_err();
            assert_eq!(err.to_string(), expected, "{xml}");
        }
    }
}
