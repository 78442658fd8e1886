//! Taint mode: a rule file with `mode: taint` names `sources` (where untrusted data enters), `sinks` (where it does
//! harm) and `sanitizers` (what makes it safe for this sink class), each a list of ast-grep rules. The analysis is
//! intraprocedural: every function body, and a module's top level, is interpreted statement by statement with the
//! set of tainted variables as its state.
//!
//! - Taint flows through assignments (augmented ones add to it), unpacking, f-strings and template literals, `%`,
//!   `+`, `.format()`, `strings.Join`/`fmt.Sprintf` and any call whose argument or receiver is tainted, container
//!   literals, `append`/`push`/`add`/`update`/`WriteString` into their receiver, and subscripts.
//! - Reassigning a variable with an untainted value clears it. Comparisons and `not` give untainted booleans.
//! - A callback or nested function written in the body runs with the variables it captures, as they hold where it
//!   is written; its parameters hide the outer names.
//! - A branch's arms are interpreted from the same state and joined; a condition that is a literal (`if False:`,
//!   `if (0)`, `if false {`) leaves its dead arm out. Loops run until the state stops changing.
//! - A sink reports when the node its `$SINK` metavariable names (or, without one, any argument of the matched
//!   call) is tainted and not inside a sanitizer; the finding carries the path from the source to the sink.
//! - `propagators` (rules binding `$FROM` and `$TO`, e.g. `$TO.extend_from($FROM)`) add taint the built-in
//!   steps do not know about.
//! - A sanitizer called in a branch's condition on a variable (`if not url_has_allowed_host_and_scheme(url)`)
//!   is a check: the variable counts as sanitized from there on. So is a sanitizer called as a statement of its
//!   own (`check_access(base, path)`), which must raise to have any effect.
//! - In the arm a condition guards, a variable compared with literals (`sort in ["title", "date"]`,
//!   `mode == "fast"`, `["a", "b"].includes(x)`) or found equal to an untainted name (`req.url === config.root`)
//!   holds one of them and is clean; after `if (x !== trusted) return`, so is what falls through. A conditional
//!   expression reads each arm under its condition. For JavaScript URL rules, `new URL(x, base).host === host`
//!   checks `x`.
//! - A check on a value also covers what was built from it plus literal text before the check (`${file}.gz`),
//!   and a field of an object literal (`cache = { key, body }`) holds its own value.
//! - A call named as a predicate, a check or a lookup (`is_safe(x)`, `_check_transaction(id)`,
//!   `find_user(name)`) answers about its argument, and a lookup by an id (`get_book(book_id)`) returns a stored
//!   record: neither result carries the argument's taint.
//! - With `tainted-start: true` (URL sinks), only taint that can decide the start of the string counts:
//!   `BASE_URL + path`, `f"/books/{name}"` and `"https://host/{}".format(x)` cannot change the host.
//! - One flow into nested sinks (`cursor.execute(text(query))`) is reported once, at the innermost, and one value
//!   reaching several sinks of a rule (written, read back, then deleted) once, at the first, naming the others'
//!   lines ([`merge_shared_flows`]).
//! - With `handler-parameters: true`, the request fields of Express-style route handlers (`app.get(path, (rq, rs)
//!   => ...)`: `rq.query`, `params`, `body`, `cookies`, `headers`) and the parameters of Python web handlers (Flask and `FastAPI` route decorators,
//!   Django views taking `request` first) are sources too.

mod summaries;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use ast_grep_config::RuleConfig;
use ast_grep_core::Matcher as _;
use ast_grep_core::Node;
use ast_grep_core::matcher::MatcherExt as _;
use ast_grep_core::tree_sitter::StrDoc;
use ast_grep_language::SupportLang;

use super::language::Language;
use summaries::{Functions, Summary};

type SyntaxNode<'r> = Node<'r, StrDoc<SupportLang>>;

/// A taint rule's parts besides its sinks, compiled for one language.
pub(crate) struct CompiledTaint {
    pub(crate) sources: Matcher,
    /// The sources as written: rules with the same sources share one search for them in a file.
    pub(crate) sources_key: String,
    /// Finds the text every file with a source holds one of (see [`source_texts`]).
    pub(crate) source_finder: Option<aho_corasick::AhoCorasick>,
    /// The same for sinks: a function without any is not followed.
    pub(crate) sink_texts: Option<Vec<String>>,
    pub(crate) sanitizers: Option<Matcher>,
    /// Rules binding `$FROM` and `$TO`: where one matches, `$FROM`'s taint is added to `$TO`.
    pub(crate) propagators: Option<Matcher>,
    pub(crate) handler_parameters: bool,
    /// With `tainted-start: true`, a sink reports only when tainted data can decide the start of its string
    /// (for a URL: its scheme and host): `BASE_URL + "/books/" + id` and `f"/users/{name}"` are not open
    /// redirects or SSRF.
    pub(crate) tainted_start: bool,
    /// With `segments-are-safe: true` (path sinks), a Flask route segment (`<name>`, `<string:name>`), which
    /// cannot hold a `/`, is not a source; `<path:name>` is.
    pub(crate) segments_are_safe: bool,
    /// Exceptions a check of this sink class raises (`PermissionError` for a path outside its directory): a call
    /// given tainted data in a `try` that catches one of them is such a check, and what it returns is clean.
    pub(crate) raised_by_checks: Vec<String>,
    /// The kinds the rule's sinks (its `config`) can match.
    pub(crate) sink_kinds: Kinds,
}

/// The node kinds a rule can match, looked up before trying it (most nodes are not candidates, and asking the
/// rule for its kinds costs as much as a match).
pub(crate) struct Kinds(Option<Vec<bool>>);

impl Kinds {
    pub(crate) fn of(rule: &RuleConfig<SupportLang>) -> Kinds {
        Kinds(rule.matcher.potential_kinds().map(|kinds| {
            let mut table = Vec::new();
            for kind in &kinds {
                if table.len() <= kind {
                    table.resize(kind + 1, false);
                }
                table[kind] = true;
            }
            table
        }))
    }

    fn may_match(&self, node: &SyntaxNode<'_>) -> bool {
        self.0.as_ref().is_none_or(|kinds| {
            kinds
                .get(usize::from(node.kind_id()))
                .copied()
                .unwrap_or(false)
        })
    }
}

/// An ast-grep rule with its [`Kinds`].
pub(crate) struct Matcher {
    rule: RuleConfig<SupportLang>,
    kinds: Kinds,
}

impl Matcher {
    pub(crate) fn new(rule: RuleConfig<SupportLang>) -> Matcher {
        let kinds = Kinds::of(&rule);
        Matcher { rule, kinds }
    }

    fn may_match(&self, node: &SyntaxNode<'_>) -> bool {
        self.kinds.may_match(node)
    }

    fn matches(&self, node: &SyntaxNode<'_>) -> bool {
        self.may_match(node) && self.rule.matcher.match_node(node.clone()).is_some()
    }
}

/// One step of a flow: what the value was called there and where (byte range in the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) label: String,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// A sink reached by tainted data: the sink's byte range and the steps from the source to it.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) flow: Vec<Step>,
}

/// The function nodes of the file under `root`, in document order: found once per file for every taint rule.
pub(crate) fn functions_of<'r>(root: &SyntaxNode<'r>) -> Vec<SyntaxNode<'r>> {
    root.dfs().filter(is_function).collect()
}

/// Where a file's sources are, found once for all the taint rules that share the sources.
pub(crate) struct Sources {
    ranges: Vec<std::ops::Range<usize>>,
    outside_functions: bool,
    /// Whether the file can hold a source or a handler at all; when it cannot, nothing is followed.
    may_hold: bool,
}

impl Sources {
    /// Whether the file's functions are worth listing for these sources.
    pub(crate) fn may_hold(&self) -> bool {
        self.may_hold
    }

    /// Looks for `taint`'s sources in the file under `root`, unless its text shows none can be there.
    pub(crate) fn find(
        root: &SyntaxNode<'_>,
        content: &str,
        language: Language,
        taint: &CompiledTaint,
    ) -> Sources {
        let mut found = Sources {
            ranges: Vec::new(),
            outside_functions: false,
            may_hold: false,
        };
        let python_handlers = taint.handler_parameters && language == Language::Python;
        let express_handlers = taint.handler_parameters && is_javascript_like(language);
        let go_handlers = taint.handler_parameters && language == Language::Go;
        let may_hold = taint
            .source_finder
            .as_ref()
            .is_none_or(|finder| finder.is_match(content))
            || python_handlers
                && (content.contains('@')
                    || content.contains("request")
                    || content.contains("Handler"))
            || express_handlers
                && [
                    ".query", ".params", ".body", ".cookies", ".headers", ".request",
                ]
                .iter()
                .any(|field| content.contains(field))
            || go_handlers
                && GO_REQUEST_TYPES
                    .iter()
                    .any(|(kind, _)| content.contains(kind.trim_start_matches('*')));
        if !may_hold {
            return found;
        }
        found.may_hold = true;
        let mut consider = |node: &SyntaxNode<'_>| {
            if taint.sources.matches(node)
                && !(is_javascript_like(language) && names_a_local_variable(node))
            {
                found.ranges.push(node.range());
                if !node.ancestors().any(|ancestor| is_function(&ancestor)) {
                    found.outside_functions = true;
                }
            }
        };
        match &taint.source_finder {
            // A node can only be a source if it holds one of the sources' texts: only the nodes around each
            // occurrence are tried, each once, climbing from the smallest.
            Some(finder) => {
                let mut tried = HashSet::new();
                let inner = root.get_inner_node();
                for occurrence in finder.find_overlapping_iter(content) {
                    let Some(smallest) =
                        inner.descendant_for_byte_range(occurrence.start(), occurrence.end())
                    else {
                        continue;
                    };
                    let mut node = Some(root.root().adopt(smallest));
                    while let Some(current) = node {
                        // Its ancestors were tried with it.
                        if !tried.insert(current.node_id()) {
                            break;
                        }
                        consider(&current);
                        node = current.parent();
                    }
                }
            }
            None => root.dfs().for_each(|node| consider(&node)),
        }
        // In document order, a node before the nodes inside it.
        found
            .ranges
            .sort_unstable_by_key(|range| (range.start, std::cmp::Reverse(range.end)));
        found
    }
}

/// Whether a JavaScript source (`request.params`, `req.query`) reads a variable its function declares itself
/// (`var request = JSON.parse(message.data)`) rather than a request handed to a handler.
fn names_a_local_variable(source: &SyntaxNode<'_>) -> bool {
    let mut base = source.clone();
    while let Some(object) = base.field("object") {
        base = object;
    }
    if base.kind() != "identifier" {
        return false;
    }
    let name = base.text();
    let Some(function) = source.ancestors().find(is_function) else {
        return false;
    };
    function.dfs().any(|node| {
        node.kind() == "variable_declarator"
            && node
                .field("name")
                .is_some_and(|declared| declared.text() == name)
    })
}

/// For each source entry, a piece of text any match of it contains (`request.args`, `.FormValue`); `None` when
/// some entry has none, so that no file can be skipped on its text.
pub(crate) fn source_texts(sources: &serde_json::Value) -> Option<Vec<String>> {
    let entries = sources.get("any")?.as_array()?;
    let mut texts = Vec::new();
    for entry in entries {
        let pattern = match entry.get("pattern")? {
            serde_json::Value::String(pattern) => pattern.clone(),
            serde_json::Value::Object(object) => {
                let context = object.get("context")?.as_str()?;
                let inner = context
                    .find('{')
                    .map_or(context, |open| &context[open + 1..]);
                inner.trim_end().trim_end_matches('}').to_owned()
            }
            _ => return None,
        };
        // The longest run of literal name characters (`$`-metavariables and spaces break runs).
        let longest = pattern
            .split(|character: char| {
                !(character.is_alphanumeric()
                    || character == '_'
                    || character == '.'
                    || character == '$')
            })
            .flat_map(|word| {
                word.split('$').enumerate().map(|(index, part)| {
                    // After a `$`, the metavariable's own name is not literal text.
                    if index == 0 {
                        part.to_owned()
                    } else {
                        part.trim_start_matches(|character: char| {
                            character.is_ascii_uppercase()
                                || character == '_'
                                || character.is_ascii_digit()
                        })
                        .to_owned()
                    }
                })
            })
            .max_by_key(String::len)?;
        if longest.trim_matches('.').len() < 3 {
            return None;
        }
        texts.push(longest);
    }
    Some(texts)
}

/// Most steps a flow keeps: the source, the last variables before the sink.
const MAX_STEPS: usize = 8;
/// Passes over a loop body before its state is taken as settled.
const LOOP_PASSES: usize = 4;
/// Longest label a step shows.
const LABEL_CHARS: usize = 48;

type State = HashMap<String, Vec<Step>>;

/// Every sink of `sinks` that tainted data reaches in the file under `root`, whose functions are `all_functions`
/// ([`functions_of`]).
pub(crate) fn find_flows<'r>(
    root: &SyntaxNode<'r>,
    all_functions: &[SyntaxNode<'r>],
    language: Language,
    sinks: &RuleConfig<SupportLang>,
    taint: &CompiledTaint,
    sources: &Sources,
    path: &str,
) -> Vec<Hit> {
    let handlers = taint.handler_parameters
        && (language == Language::Python
            || language == Language::Go
            || is_javascript_like(language));
    if !sources.may_hold || sources.ranges.is_empty() && !handlers {
        return Vec::new();
    }
    let functions = Functions::new(
        all_functions,
        language,
        taint.sink_texts.as_deref(),
        &sources.ranges,
    );
    let mut analysis = Analysis {
        language,
        sinks,
        taint,
        functions: &functions,
        sources: &sources.ranges,
        hits: Vec::new(),
        summarizing: None,
        checked_by_raising: false,
    };
    // The module's top level when a source lies outside every function, then each function that holds a
    // source or is a web handler: nothing can be tainted anywhere else. A function reaches a sink when it holds
    // one or calls a function of the file that does.
    let may_reach_a_sink = |node: &SyntaxNode<'_>| {
        let text = node.text();
        taint
            .sink_texts
            .as_ref()
            .is_none_or(|texts| texts.iter().any(|sink| text.contains(sink.as_str())))
            || functions.calls_a_sink(&text)
    };
    if sources.outside_functions && may_reach_a_sink(root) {
        analysis.scope(root, State::new());
    }
    for node in all_functions {
        let state = if taint.handler_parameters {
            handler_parameters(node, language, path, taint.segments_are_safe)
        } else {
            State::new()
        };
        let range = node.range();
        let holds_source = sources
            .ranges
            .iter()
            .any(|source| range.start <= source.start && source.end <= range.end)
            || functions.calls_a_source(&node.text());
        if !holds_source && state.is_empty() || !may_reach_a_sink(node) {
            continue;
        }
        if let Some(body) = node.field("body") {
            analysis.scope(&body, state);
        }
    }
    analysis.hits.sort_by_key(|hit| (hit.start, hit.end));
    analysis.hits.dedup_by_key(|hit| (hit.start, hit.end));
    // `cursor.execute(text(query))`: one flow into nested sinks is one finding, at the innermost.
    let ranges: Vec<(usize, usize)> = analysis
        .hits
        .iter()
        .map(|hit| (hit.start, hit.end))
        .collect();
    analysis.hits.retain(|hit| {
        !ranges.iter().any(|&(start, end)| {
            (start, end) != (hit.start, hit.end) && hit.start <= start && end <= hit.end
        })
    });
    analysis.hits
}

/// One value reaching several sinks of a rule is one finding: the hits whose flows agree on every step before the
/// sink (the same source, through the same variables) are reported at the first, with the byte offsets of the
/// others. `hits` are in document order.
pub(crate) fn merge_shared_flows(hits: Vec<Hit>) -> Vec<(Hit, Vec<usize>)> {
    let mut merged: Vec<(Hit, Vec<usize>)> = Vec::new();
    for hit in hits {
        let before_sink = &hit.flow[..hit.flow.len().saturating_sub(1)];
        match merged.iter_mut().find(|(first, _)| {
            !before_sink.is_empty() && first.flow[..first.flow.len() - 1] == *before_sink
        }) {
            Some((_, also)) => also.push(hit.start),
            None => merged.push((hit, Vec::new())),
        }
    }
    merged
}

fn is_javascript_like(language: Language) -> bool {
    matches!(
        language,
        Language::JavaScript | Language::TypeScript | Language::Tsx
    )
}

fn is_function(node: &SyntaxNode<'_>) -> bool {
    matches!(
        node.kind().as_ref(),
        "function_definition"
            | "lambda"
            | "function_declaration"
            | "function_expression"
            | "arrow_function"
            | "method_definition"
            | "generator_function_declaration"
            | "generator_function"
            | "method_declaration"
            | "func_literal"
    )
}

fn is_class(node: &SyntaxNode<'_>) -> bool {
    matches!(
        node.kind().as_ref(),
        "class_definition" | "class_declaration" | "class" | "decorated_definition"
    )
}

struct Analysis<'a, 'r> {
    language: Language,
    sinks: &'a RuleConfig<SupportLang>,
    taint: &'a CompiledTaint,
    /// The file's functions, for the calls to them (see [`summaries`]).
    functions: &'a Functions<'a, 'r>,
    /// Where the file's sources are.
    sources: &'a [std::ops::Range<usize>],
    hits: Vec<Hit>,
    /// While a function is summarized: what it returns and which variables its checks cleared.
    summarizing: Option<RefCell<Collected>>,
    /// Inside a `try` that catches what this sink class's checks raise (see `raised_by_checks`).
    checked_by_raising: bool,
}

/// What a call to a function of the file returns.
enum Through {
    /// Not a call to one function of the file, or one that cannot be followed: the general rule applies.
    NotFollowed,
    /// The summary's answer: the taint of the call's result, if any.
    Returns(Option<Vec<Step>>),
}

/// What a function's interpretation collects for its summary.
#[derive(Default)]
struct Collected {
    /// Each returned value's flow, and whether its taint reaches its start (always, for rules that do not track
    /// starts).
    returns: Vec<(Vec<Step>, bool)>,
    cleared: Vec<String>,
}

impl<'a, 'r> Analysis<'a, 'r> {
    fn scope(&mut self, body: &SyntaxNode<'_>, mut state: State) {
        if body.kind() == "statement_block"
            || body.kind() == "block"
            || body.kind() == "module"
            || body.kind() == "program"
            || body.kind() == "source_file"
        {
            self.block(body, &mut state);
        } else {
            // An arrow function's expression body, which is what it returns.
            self.statement(body, &mut state);
            self.returned(body, &state);
        }
    }

    /// Whether a Python `try` catches an exception this sink class's checks raise.
    fn catches_a_check(&self, node: &SyntaxNode<'_>) -> bool {
        !self.taint.raised_by_checks.is_empty()
            && node
                .children()
                .filter(|child| child.kind() == "except_clause")
                .any(|clause| {
                    let caught = clause
                        .children()
                        .filter(SyntaxNode::is_named)
                        .find(|part| part.kind() != "block")
                        .map(|part| part.text().into_owned())
                        .unwrap_or_default();
                    caught
                        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                        .any(|name| {
                            let name = name.rsplit('.').next().unwrap_or(name);
                            self.taint
                                .raised_by_checks
                                .iter()
                                .any(|check| check == name)
                        })
                })
    }

    /// In a `try` whose handler catches what a check raises: a call given a tainted variable is taken as that
    /// check (`path = confined_path(path)` under `except PermissionError`), which cleans the variable and
    /// returns clean data.
    fn check_by_raising(&self, value: &SyntaxNode<'_>, state: &mut State) -> bool {
        if !self.checked_by_raising {
            return false;
        }
        let Some(call) = unawaited(value).filter(|call| call.kind() == "call") else {
            return false;
        };
        let given = tainted_variables(&call, state);
        for argument in &given {
            self.clear(argument, state);
        }
        !given.is_empty()
    }

    /// Whether `value` is a call to one of the rule's sanitizers named as a check (`…allowed…`, `…safe…`,
    /// `…valid…`, `check…`, `verify…`, `is_…`), given a tainted variable: its answer is a yes or a no.
    fn is_stored_check(&self, value: &SyntaxNode<'_>, state: &State) -> bool {
        if !matches!(value.kind().as_ref(), "call" | "call_expression") {
            return false;
        }
        let Some(name) = value
            .field("function")
            .map(|function| called_name(function).text().to_ascii_lowercase())
        else {
            return false;
        };
        let named_as_check = ["allowed", "safe", "valid", "check", "verify"]
            .iter()
            .any(|word| name.contains(word))
            || name.starts_with("is_")
            || name.starts_with("is") && name.len() > 2;
        named_as_check
            && !tainted_variables(value, state).is_empty()
            && self
                .taint
                .sanitizers
                .as_ref()
                .is_some_and(|sanitizers| sanitizers.matches(value))
    }

    /// Records what a summarized function returns.
    fn returned(&self, value: &SyntaxNode<'_>, state: &State) {
        if let Some(collected) = &self.summarizing
            && let Some(flow) = self.taint_of(value, state)
        {
            let starts = !self.taint.tainted_start || self.start_taint(value, state).is_some();
            collected.borrow_mut().returns.push((flow, starts));
        }
    }

    /// A fresh analysis of another body of the same file for the same rule (a function summarized, a callback),
    /// with no hits yet.
    fn inner(&self, summarizing: Option<RefCell<Collected>>) -> Analysis<'a, 'r> {
        Analysis {
            language: self.language,
            sinks: self.sinks,
            taint: self.taint,
            functions: self.functions,
            sources: self.sources,
            hits: Vec::new(),
            summarizing,
            checked_by_raising: false,
        }
    }

    /// What the function `node` of the file does with the taint of each of its parameters, for this rule.
    fn summarize(&self, function: &summaries::Function<'r>) -> Option<Summary> {
        let node = &function.node;
        let parameters = summaries::parameters(node, self.language)?;
        let body = node.field("body")?;
        let interpret = |state: State| {
            let mut inner = self.inner(Some(RefCell::new(Collected::default())));
            inner.scope(&body, state);
            let collected = inner.summarizing.take().unwrap_or_default().into_inner();
            (collected, inner.hits)
        };
        let mut summary = Summary::default();
        for parameter in &parameters {
            let within = parameter.target.range();
            let mut state = State::new();
            Self::assign(&parameter.target, Some(Vec::new()), false, &mut state);
            let from_here = |flow: &Vec<Step>| {
                flow.first()
                    .is_some_and(|first| within.start <= first.start && first.end <= within.end)
            };
            let (collected, hits) = interpret(state);
            summary.returns_start.push(
                collected
                    .returns
                    .iter()
                    .any(|(flow, starts)| *starts && from_here(flow)),
            );
            summary.returns.push(
                collected
                    .returns
                    .into_iter()
                    .map(|(flow, _)| flow)
                    .find(|flow| from_here(flow)),
            );
            summary.sinks.push(
                hits.into_iter()
                    .filter(|hit| from_here(&hit.flow))
                    .collect(),
            );
            summary.checks.push(
                parameter
                    .target
                    .kind()
                    .eq("identifier")
                    .then(|| parameter.target.text())
                    .is_some_and(|name| collected.cleared.iter().any(|cleared| *cleared == name)),
            );
        }
        if self.functions.may_return_a_source(function) {
            let (collected, _) = interpret(State::new());
            summary.returns_source_start = collected.returns.iter().any(|(_, starts)| *starts);
            summary.returns_source = collected.returns.into_iter().next().map(|(flow, _)| flow);
        }
        Some(summary)
    }

    /// The summary of the function of the file `call` names, with the call's arguments by parameter.
    fn summary_of_call<'c>(
        &self,
        call: &SyntaxNode<'c>,
    ) -> Option<(std::rc::Rc<Summary>, summaries::Arguments<'c>)> {
        let (function, arguments) = self.functions.resolve(call, self.language)?;
        let summary = self
            .functions
            .summary(function, |function| self.summarize(function))?;
        Some((summary, arguments))
    }

    fn block(&mut self, node: &SyntaxNode<'_>, state: &mut State) {
        for child in node.children().filter(SyntaxNode::is_named) {
            self.statement(&child, state);
        }
    }

    fn statement(&mut self, node: &SyntaxNode<'_>, state: &mut State) {
        if is_function(node) {
            self.closure(node, state);
            return;
        }
        if is_class(node) {
            return;
        }
        match node.kind().as_ref() {
            "if_statement" => self.branch(node, state),
            "for_statement" | "for_in_statement" | "while_statement" | "do_statement" => {
                self.repeat(node, state);
            }
            "try_statement" if self.catches_a_check(node) => {
                let outer = self.checked_by_raising;
                for child in node.children().filter(SyntaxNode::is_named) {
                    self.checked_by_raising = child.kind() == "block";
                    self.statement(&child, state);
                }
                self.checked_by_raising = outer;
            }
            "try_statement" => self.try_statement(node, state),
            "block"
            | "statement_block"
            | "statement_list"
            | "else_clause"
            | "except_clause"
            | "finally_clause"
            | "catch_clause"
            | "finally"
            | "with_statement"
            | "with_clause"
            | "expression_switch_statement"
            | "type_switch_statement"
            | "switch_statement"
            | "switch_body"
            | "switch_case"
            | "switch_default"
            | "expression_case"
            | "default_case"
            | "labeled_statement"
            | "match_statement"
            | "case_clause" => {
                for child in node.children().filter(SyntaxNode::is_named) {
                    self.statement(&child, state);
                }
            }
            _ => {
                self.check_sinks(node, state);
                self.closures(node, state);
                self.effects(node, state);
                if node.kind() == "return_statement"
                    && let Some(value) = node.children().find(SyntaxNode::is_named)
                {
                    self.returned(&value, state);
                }
            }
        }
    }

    /// The functions written inside `node` (`fs.stat(file, (err) => res.sendFile(file))`,
    /// `process.nextTick(function () { that.servePath(pathname) })`, a `lambda`).
    fn closures(&mut self, node: &SyntaxNode<'_>, state: &State) {
        if state.keys().all(|key| is_marker_key(key)) {
            return;
        }
        let mut pending: Vec<SyntaxNode<'_>> = node.children().collect();
        while let Some(current) = pending.pop() {
            if is_function(&current) {
                self.closure(&current, state);
            } else if !is_class(&current) {
                pending.extend(current.children());
            }
        }
    }

    /// A function written inside the one analysed, a callback or a nested declaration (`function statFile() {...}`
    /// called later): it runs with the variables it captures as they hold where it is written, its own parameters
    /// hiding the outer names. What it returns is its own, not the enclosing function's.
    fn closure(&mut self, function: &SyntaxNode<'_>, state: &State) {
        if state.keys().all(|key| is_marker_key(key)) {
            return;
        }
        let (Some(body), Some(parameters)) = (
            function.field("body"),
            summaries::parameters(function, self.language),
        ) else {
            return;
        };
        let mut captured = state.clone();
        for parameter in &parameters {
            Self::assign(&parameter.target, None, false, &mut captured);
        }
        let mut inner = self.inner(None);
        inner.scope(&body, captured);
        self.hits.append(&mut inner.hits);
    }

    /// A handler is an alternative to the rest of the `try` body, not its continuation: it starts from what held
    /// before the body or at its end, and after the `try` holds the union of the body's end (then its `else`) and
    /// the end of each handler that falls through (`except ValueError: next_url = index_url` does not clean the
    /// body's `next_url`). A handler that returns or raises reaches nothing after the `try`; `finally` runs last.
    fn try_statement(&mut self, node: &SyntaxNode<'_>, state: &mut State) {
        let entry = state.clone();
        let mut handlers = Vec::new();
        let mut finals = Vec::new();
        let mut elses = Vec::new();
        for child in node.children().filter(SyntaxNode::is_named) {
            match child.kind().as_ref() {
                "except_clause" | "except_group_clause" | "catch_clause" => handlers.push(child),
                "finally_clause" | "finally" => finals.push(child),
                "else_clause" => elses.push(child),
                _ => self.statement(&child, state),
            }
        }
        let mut start = entry;
        union(&mut start, state.clone());
        for clause in &elses {
            self.statement(clause, state);
        }
        for handler in &handlers {
            let mut arm = start.clone();
            self.statement(handler, &mut arm);
            let leaves = handler
                .children()
                .filter(|child| matches!(child.kind().as_ref(), "block" | "statement_block"))
                .last()
                .is_some_and(|body| always_exits(&body));
            if !leaves {
                union(state, arm);
            }
        }
        for clause in &finals {
            self.statement(clause, state);
        }
    }

    fn branch(&mut self, node: &SyntaxNode<'_>, state: &mut State) {
        if let Some(initializer) = node.field("initializer") {
            self.statement(&initializer, state);
        }
        let condition = node.field("condition");
        if let Some(condition) = &condition {
            self.check_sinks(condition, state);
            self.effects(condition, state);
        }
        // `if is_safe(x): return x` checks `x` in the arm that returns: what falls through failed the check.
        let consequence_exits = node
            .field("consequence")
            .is_some_and(|consequence| always_exits(&consequence));
        let mut passed_in_consequence = Vec::new();
        if let Some(condition) = &condition {
            for (checked, negated) in self.guarded(condition, state) {
                if negated || !consequence_exits {
                    self.clear(&checked, state);
                } else {
                    passed_in_consequence.push(checked.text().into_owned());
                }
            }
        }
        let known = condition.as_ref().and_then(constant_truth);
        let entry = state.clone();
        let alternatives: Vec<SyntaxNode<'_>> = node.field_children("alternative").collect();
        // `if (url !== config.rootPath) return;`: what falls through holds the trusted value, and the arm that
        // leaves joins nothing.
        let mut rest = entry.clone();
        let narrowed = consequence_exits
            && alternatives.is_empty()
            && known.is_none()
            && condition
                .as_ref()
                .is_some_and(|condition| self.assume(condition, false, &mut rest));
        let mut joined: Option<State> = None;
        let mut join = |end: State| {
            joined = Some(match joined.take() {
                None => end,
                Some(mut all) => {
                    union(&mut all, end);
                    all
                }
            });
        };
        if known != Some(false) {
            let mut arm = entry.clone();
            if let Some(condition) = &condition {
                self.assume(condition, true, &mut arm);
            }
            for name in &passed_in_consequence {
                arm.remove(name);
            }
            if let Some(consequence) = node.field("consequence") {
                self.statement(&consequence, &mut arm);
            }
            if !narrowed {
                join(arm);
            }
        }
        // Known true: the consequence always runs, as if there were an `else` that never does.
        let mut has_else = known == Some(true);
        if known != Some(true) {
            for alternative in &alternatives {
                if alternative.kind() == "elif_clause" {
                    let condition = alternative.field("condition");
                    let mut arm = entry.clone();
                    if let Some(condition) = &condition {
                        self.check_sinks(condition, &arm);
                    }
                    if condition.as_ref().and_then(constant_truth) == Some(false) {
                        continue;
                    }
                    if let Some(condition) = &condition {
                        self.assume(condition, true, &mut arm);
                    }
                    if let Some(consequence) = alternative.field("consequence") {
                        self.statement(&consequence, &mut arm);
                    }
                    join(arm);
                } else {
                    has_else = true;
                    let mut arm = entry.clone();
                    self.statement(alternative, &mut arm);
                    join(arm);
                }
            }
        }
        if !has_else {
            join(if narrowed { rest } else { entry });
        }
        if let Some(all) = joined {
            *state = all;
        }
    }

    fn repeat(&mut self, node: &SyntaxNode<'_>, state: &mut State) {
        for pass in 0..LOOP_PASSES {
            let before = state.clone();
            let mut body_state = state.clone();
            for child in node.children().filter(SyntaxNode::is_named) {
                match child.kind().as_ref() {
                    "range_clause" => {
                        if let (Some(left), Some(right)) =
                            (child.field("left"), child.field("right"))
                        {
                            let flow = self.taint_of(&right, &body_state);
                            let starts = self.starts_tainted(&right, &body_state);
                            Self::assign(&left, flow, false, &mut body_state);
                            mark_start(&left, starts, false, &mut body_state);
                        }
                    }
                    "for_clause" => {
                        for part in child.children().filter(SyntaxNode::is_named) {
                            self.statement(&part, &mut body_state);
                        }
                    }
                    _ if Some(child.range()) == node.field("left").map(|left| left.range()) => {
                        if let Some(right) = node.field("right") {
                            let flow = self.taint_of(&right, &body_state);
                            let starts = self.starts_tainted(&right, &body_state);
                            Self::assign(&child, flow, false, &mut body_state);
                            mark_start(&child, starts, false, &mut body_state);
                        }
                    }
                    _ if Some(child.range()) == node.field("right").map(|right| right.range()) => {
                        self.check_sinks(&child, &body_state);
                    }
                    _ => self.statement(&child, &mut body_state),
                }
            }
            union(state, body_state);
            if *state == before && pass > 0 {
                break;
            }
        }
    }

    /// A sanitizer called in a condition on a variable (`if not url_has_allowed_host_and_scheme(url, ...)`,
    /// `if !strings.HasPrefix(path, base)`) is a check the code branches on: the variables it checks, each with
    /// whether the check is negated. The caller clears them from there on, in both arms, except after an arm
    /// that runs when the check passed and always leaves (`if validate_url(x): return redirect(x)`): what falls
    /// through is what failed it.
    fn guarded<'c>(
        &self,
        condition: &SyntaxNode<'c>,
        state: &State,
    ) -> Vec<(SyntaxNode<'c>, bool)> {
        let mut guarded = Vec::new();
        for node in condition.dfs() {
            let found = self
                .taint
                .sanitizers
                .as_ref()
                .filter(|sanitizers| sanitizers.may_match(&node))
                .and_then(|sanitizers| sanitizers.rule.matcher.match_node(node.clone()));
            // The value bound to `$X`, or without one (a validator recognised by its name) every variable
            // passed to the call; or what a function of the file given a tainted variable checks.
            let checked: Vec<SyntaxNode<'_>> = match found {
                Some(found) => match found.get_env().get_match("X") {
                    Some(checked) => vec![checked.clone()],
                    None => node
                        .field("arguments")
                        .map(|arguments| {
                            arguments.children().filter(SyntaxNode::is_named).collect()
                        })
                        .unwrap_or_default(),
                },
                None => self.checked_by_call(&node, state),
            };
            for checked in checked {
                // `check(url=value)`: the keyword's value is what is checked.
                let checked = if checked.kind() == "keyword_argument" {
                    checked.field("value")
                } else {
                    Some(checked)
                };
                if let Some(checked) = checked
                    && checked.kind() == "identifier"
                {
                    guarded.push((checked, negated(&node, condition)));
                }
            }
        }
        guarded
    }

    /// Every variable a check in `node` was given is clean from here on (a check kept or called as a statement).
    fn clear_guarded(&self, node: &SyntaxNode<'_>, state: &mut State) {
        for (checked, _) in self.guarded(node, state) {
            self.clear(&checked, state);
        }
    }

    /// A variable a check was given is clean from here on (and a summarized function checks it).
    fn clear(&self, checked: &SyntaxNode<'_>, state: &mut State) {
        if checked.kind() != "identifier" {
            return;
        }
        let name = checked.text();
        let Some(flow) = state.remove(name.as_ref()) else {
            return;
        };
        // What was built from the checked value followed by literal text (`${file}.gz`) passes the check too.
        let prefix = format!("{EXTENDS}{name}\u{1}");
        let derived: Vec<String> = if state.contains_key(EXTENDS) {
            state
                .iter()
                .filter(|(key, held)| key.starts_with(&prefix) && **held == flow)
                .map(|(key, _)| key[prefix.len()..].to_owned())
                .collect()
        } else {
            Vec::new()
        };
        for other in derived {
            state.remove(&other);
            state.remove(&format!("{prefix}{other}"));
        }
        if let Some(collected) = &self.summarizing {
            collected.borrow_mut().cleared.push(name.into_owned());
        }
    }

    /// What a condition compares with trusted values holds one of them in the arm where the condition has the
    /// truth value `truth`: a variable or field compared with literals (`sort in ["title", "date"]`,
    /// `mode == "fast"`, `["a", "b"].includes(order)`, `kind == "x" and ...`) or equal to an untainted name
    /// (`req.url === config.rootPath`; `!==` where the condition is false). For URL sinks, a URL whose host equals a
    /// trusted host (`new URL(path, base).host === base.host`) checks the value it was parsed from. A source
    /// expression is marked clean there (`clean_key`); a variable is cleared. Answers whether anything changed.
    fn assume(&self, condition: &SyntaxNode<'_>, truth: bool, state: &mut State) -> bool {
        let mut changed = false;
        let mut pending = vec![(condition.clone(), truth)];
        while let Some((node, truth)) = pending.pop() {
            let named: Vec<SyntaxNode<'_>> = node.children().filter(SyntaxNode::is_named).collect();
            let operator: String = node
                .children()
                .filter(|child| !child.is_named())
                .map(|child| child.text().into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            match node.kind().as_ref() {
                "parenthesized_expression" => {
                    pending.extend(named.into_iter().map(|inner| (inner, truth)));
                }
                "not_operator" => {
                    pending.extend(named.into_iter().map(|inner| (inner, !truth)));
                }
                "unary_expression" if operator == "!" => {
                    pending.extend(named.into_iter().map(|inner| (inner, !truth)));
                }
                // `a and b` true, or `a or b` false: both hold.
                "boolean_operator" | "binary_expression"
                    if truth && (operator == "and" || operator == "&&")
                        || !truth && (operator == "or" || operator == "||") =>
                {
                    pending.extend(named.into_iter().map(|inner| (inner, truth)));
                }
                // `LIST.includes(x) === false`: the check itself, with its truth turned.
                "comparison_operator" | "binary_expression"
                    if named.len() == 2
                        && matches!(
                            operator.as_str(),
                            "==" | "===" | "!=" | "!==" | "is" | "is not"
                        )
                        && matches!(named[1].kind().as_ref(), "true" | "false") =>
                {
                    let equal = matches!(operator.as_str(), "==" | "===" | "is");
                    let value = named[1].kind() == "true";
                    pending.push((named[0].clone(), truth == (equal == value)));
                }
                "comparison_operator" | "binary_expression" if named.len() == 2 => {
                    let (left, right) = (&named[0], &named[1]);
                    match (operator.as_str(), truth) {
                        ("in", true) if is_literal_collection(right) => {
                            changed |= self.clean(left, state);
                        }
                        ("==" | "===", true) | ("!=" | "!==", false) => {
                            if self.is_trusted_value(right, state) {
                                changed |= self.clean(left, state);
                            } else if self.is_trusted_value(left, state) {
                                changed |= self.clean(right, state);
                            }
                        }
                        _ => {}
                    }
                }
                "call_expression" if truth => {
                    let includes = node.field("function").filter(|function| {
                        function.kind() == "member_expression"
                            && function
                                .field("property")
                                .is_some_and(|p| p.text() == "includes")
                            && function
                                .field("object")
                                .is_some_and(|o| is_literal_collection(&o))
                    });
                    let argument = node
                        .field("arguments")
                        .and_then(|arguments| arguments.children().find(SyntaxNode::is_named));
                    if let (Some(_), Some(argument)) = (includes, argument) {
                        changed |= self.clean(&argument, state);
                    }
                }
                _ => {}
            }
        }
        changed
    }

    /// A value an equality check can trust: a literal, or a name or field that holds no taint (`config.rootPath`).
    /// A call is not trusted: what it returns is not known to be fixed.
    fn is_trusted_value(&self, value: &SyntaxNode<'_>, state: &State) -> bool {
        literal_text(value).is_some()
            || matches!(
                value.kind().as_ref(),
                "identifier" | "attribute" | "member_expression" | "selector_expression"
            ) && self.taint_of(value, state).is_none()
    }

    /// `checked` holds a trusted value in this arm: a variable or tracked field is cleared, a source expression
    /// (`req.url`) is marked clean. Answers whether that changed the state.
    fn clean(&self, checked: &SyntaxNode<'_>, state: &mut State) -> bool {
        match checked.kind().as_ref() {
            "identifier" => state.remove(checked.text().as_ref()).is_some(),
            "attribute" | "member_expression" | "selector_expression" => {
                let text = checked.text();
                // Only the WHATWG parser reads `\` as `/` the way browsers do: after Python's `urlparse` or Go's
                // `url.Parse`, `/\evil.example` has no host and still leaves the site.
                if self.taint.tainted_start
                    && is_javascript_like(self.language)
                    && let Some(parsed) = host_of(checked)
                {
                    return self.clean_parsed(&parsed, state);
                }
                if state.remove(text.as_ref()).is_some() {
                    return true;
                }
                if !self.taint.sources.matches(checked) {
                    return false;
                }
                state.insert(CLEAN_MARKER.to_owned(), Vec::new());
                state.insert(clean_key(&text), Vec::new()).is_none()
            }
            _ => false,
        }
    }

    /// A URL whose host was found equal to a trusted host: `parsed` is the URL (`target`, `new URL(path, base)`,
    /// `urlparse(url)`). The value it was parsed from is what the check vouches for: the variable passed to the
    /// parser, or for a variable holding a parse, the variable its flow came through last. Answers whether that
    /// changed the state.
    fn clean_parsed(&self, parsed: &SyntaxNode<'_>, state: &mut State) -> bool {
        match parsed.kind().as_ref() {
            "identifier" => {
                let Some(flow) = state.remove(parsed.text().as_ref()) else {
                    return false;
                };
                let parsed_from = &flow[..flow.len().saturating_sub(1)];
                state.retain(|name, other| {
                    is_marker_key(name) || parsed_from.is_empty() || other.as_slice() != parsed_from
                });
                true
            }
            "call" | "call_expression" | "new_expression" => parsed
                .field("arguments")
                .and_then(|arguments| arguments.children().find(SyntaxNode::is_named))
                .is_some_and(|argument| self.clean(&argument, state)),
            "parenthesized_expression" => parsed
                .children()
                .find(SyntaxNode::is_named)
                .is_some_and(|inner| self.clean_parsed(&inner, state)),
            _ => false,
        }
    }

    /// After `target = { key: value, ... }` (JavaScript): each tainted field is tracked as `target.key`, and the
    /// object's other fields are known to be clean (`fields_key`) while `target` holds what it got here.
    fn mark_fields(&self, target: &SyntaxNode<'_>, value: &SyntaxNode<'_>, state: &mut State) {
        if !is_javascript_like(self.language) || target.kind() != "identifier" {
            return;
        }
        let name = target.text();
        let marker = fields_key(&name);
        let had_fields = state.remove(&marker).is_some();
        let value = innermost_value(value.clone());
        if value.kind() != "object" || !state.contains_key(name.as_ref()) {
            return;
        }
        let mut fields = Vec::new();
        for member in value.children().filter(SyntaxNode::is_named) {
            let field = match member.kind().as_ref() {
                "pair" => member.field("key").zip(member.field("value")),
                "shorthand_property_identifier" => Some((member.clone(), member.clone())),
                "comment" => continue,
                // A spread, a method or a computed key: the fields are not all known.
                _ => return,
            };
            let Some((key, field_value)) = field else {
                return;
            };
            let key = match key.kind().as_ref() {
                "property_identifier" | "shorthand_property_identifier" => key.text().into_owned(),
                _ => match literal_text(&key) {
                    Some(text) => text,
                    None => return,
                },
            };
            fields.push((key, self.taint_of(&field_value, state), member.range()));
        }
        if had_fields {
            let prefix = format!("{name}.");
            state.retain(|key, _| !key.starts_with(&prefix));
        }
        for (key, flow, range) in fields {
            let field = format!("{name}.{key}");
            match flow {
                Some(flow) => {
                    let step = Step {
                        label: label(&field),
                        start: range.start,
                        end: range.end,
                    };
                    state.insert(field, shorten(with(flow, step)));
                }
                None => {
                    state.remove(&field);
                }
            }
        }
        let held = state.get(name.as_ref()).cloned().unwrap_or_default();
        state.insert(marker, held);
    }

    /// Whether `node` (`cache.body`) reads an untainted field of an object literal assigned whole (`mark_fields`).
    fn fields_known(node: &SyntaxNode<'_>, state: &State) -> bool {
        let Some(object) = node
            .field("object")
            .filter(|object| object.kind() == "identifier")
        else {
            return false;
        };
        let name = object.text();
        node.field("property")
            .is_some_and(|property| property.kind() == "property_identifier")
            && state
                .get(&fields_key(&name))
                .is_some_and(|held| state.get(name.as_ref()) == Some(held))
    }

    /// The tainted variables `call` passes to a function of the file that checks them.
    fn checked_by_call<'c>(&self, call: &SyntaxNode<'c>, state: &State) -> Vec<SyntaxNode<'c>> {
        let is_call = matches!(call.kind().as_ref(), "call" | "call_expression");
        if !is_call || tainted_variables(call, state).is_empty() {
            return Vec::new();
        }
        let Some((summary, arguments)) = self.summary_of_call(call) else {
            return Vec::new();
        };
        arguments
            .into_iter()
            .filter(|(slot, _)| summary.checks.get(*slot).copied().unwrap_or(false))
            .map(|(_, argument)| argument)
            .collect()
    }

    /// Reports the sinks in `node` that tainted data reaches.
    fn check_sinks(&mut self, node: &SyntaxNode<'_>, state: &State) {
        let mut pending = vec![node.clone()];
        while let Some(current) = pending.pop() {
            if is_function(&current) {
                continue;
            }
            if self.taint.sink_kinds.may_match(&current)
                && let Some(found) = self.sinks.matcher.match_node(current.clone())
            {
                let flow = match found.get_env().get_match("SINK") {
                    Some(target) if self.taint.tainted_start => self.start_taint(target, state),
                    Some(target) => self.taint_of(target, state),
                    None => current
                        .field("arguments")
                        .and_then(|arguments| self.taint_of(&arguments, state)),
                };
                if let Some(mut flow) = flow
                    && !in_development_only_code(&current)
                {
                    let range = current.range();
                    flow.push(Step {
                        label: label(&callee(&current)),
                        start: range.start,
                        end: range.end,
                    });
                    self.hits.push(Hit {
                        start: range.start,
                        end: range.end,
                        flow: shorten(flow),
                    });
                }
            }
            if matches!(current.kind().as_ref(), "call" | "call_expression") {
                self.sinks_through_call(&current, state);
            }
            pending.extend(current.children().filter(SyntaxNode::is_named));
        }
    }

    /// Whether `call` returns a value no text can be smuggled in: a built-in that returns a number or a truth
    /// value (`len(x)`, `int(x)`, `parseInt(x)`, `Number(x)`, `Math.max(x, 1)`, Go's `len` and `cap`), or a
    /// digest written in hexadecimal (`hashlib.sha256(body).hexdigest()`, `hash.digest("hex")`,
    /// `hex.EncodeToString(sum[:])`): a cache file named by the hash of a request holds no `..` or quote.
    fn returns_inert(&self, call: &SyntaxNode<'_>) -> bool {
        let Some(function) = call.field("function") else {
            return false;
        };
        let name = function.text();
        match self.language {
            Language::Python => {
                matches!(
                    name.as_ref(),
                    "len" | "int" | "float" | "bool" | "abs" | "round" | "hash" | "id" | "ord"
                ) || name.ends_with(".hexdigest")
            }
            Language::Go => matches!(name.as_ref(), "len" | "cap" | "hex.EncodeToString"),
            _ if is_javascript_like(self.language) => {
                matches!(
                    name.as_ref(),
                    "parseInt" | "parseFloat" | "Number" | "Boolean" | "isNaN" | "isFinite"
                ) || name.starts_with("Math.")
                    || name.ends_with(".digest")
                        && call.field("arguments").is_some_and(|arguments| {
                            let text = arguments.text();
                            text == "('hex')" || text == "(\"hex\")"
                        })
            }
            _ => false,
        }
    }

    /// `run(command)` where `run` is a function of the file that passes its parameter to a sink: the sink
    /// inside it is reached, through the call.
    fn sinks_through_call(&mut self, call: &SyntaxNode<'_>, state: &State) {
        let Some((function, arguments)) = self.functions.resolve(call, self.language) else {
            return;
        };
        if !self.functions.may_reach_a_sink(function) {
            return;
        }
        let tainted: Vec<(usize, Vec<Step>)> = arguments
            .iter()
            .filter_map(|(slot, argument)| {
                let flow = if self.taint.tainted_start {
                    self.start_taint(argument, state)
                } else {
                    self.taint_of(argument, state)
                }?;
                Some((*slot, flow))
            })
            .collect();
        if tainted.is_empty() {
            return;
        }
        let Some(summary) = self
            .functions
            .summary(function, |function| self.summarize(function))
        else {
            return;
        };
        for (slot, flow) in tainted {
            for hit in summary.sinks.get(slot).into_iter().flatten() {
                let mut joined = flow.clone();
                joined.extend(hit.flow.iter().cloned());
                self.hits.push(Hit {
                    start: hit.start,
                    end: hit.end,
                    flow: shorten(joined),
                });
            }
        }
    }

    /// The taint a call to a function of the file returns, from its summary.
    fn through_function(&self, call: &SyntaxNode<'_>, state: &State) -> Through {
        let Some((function, arguments)) = self.functions.resolve(call, self.language) else {
            return Through::NotFollowed;
        };
        let tainted: Vec<(usize, Vec<Step>)> = arguments
            .iter()
            .filter_map(|(slot, argument)| Some((*slot, self.taint_of(argument, state)?)))
            .collect();
        if tainted.is_empty() && !self.functions.may_return_a_source(function) {
            return Through::Returns(None);
        }
        let Some(summary) = self
            .functions
            .summary(function, |function| self.summarize(function))
        else {
            return Through::NotFollowed;
        };
        let through = tainted.into_iter().find_map(|(slot, flow)| {
            let inner = summary.returns.get(slot)?.as_ref()?;
            let mut joined = flow;
            joined.extend(inner.iter().cloned());
            Some(shorten(joined))
        });
        // `page()` returning `request.args["page"]`: the call is a step of the flow.
        Through::Returns(through.or_else(|| {
            let flow = summary.returns_source.clone()?;
            Some(shorten(with(flow, step_for(call))))
        }))
    }

    /// Applies what `node` assigns to the state, in source order.
    fn effects(&mut self, node: &SyntaxNode<'_>, state: &mut State) {
        if is_function(node) {
            return;
        }
        match node.kind().as_ref() {
            // Python `a = b = value` nests assignments on the right.
            "assignment" | "assignment_expression" | "named_expression" => {
                let target = node.field("left").or_else(|| node.field("name"));
                let value = node.field("right").or_else(|| node.field("value"));
                if let (Some(target), Some(value)) = (target, value) {
                    self.effects(&value, state);
                    let value = innermost_value(value);
                    if self.check_by_raising(&value, state) {
                        Self::assign(&target, None, false, state);
                        return;
                    }
                    // `url_is_safe = url_has_allowed_host_and_scheme(url=redirect_to, ...)`: a check whose answer is
                    // kept to branch on later; what it checked is taken as clean from here on.
                    if self.is_stored_check(&value, state) {
                        self.clear_guarded(&value, state);
                    }
                    let flow = self.taint_of(&value, state);
                    let starts = self.starts_tainted(&value, state);
                    Self::assign(&target, flow, false, state);
                    mark_start(&target, starts, false, state);
                    mark_extends(&target, &value, state);
                    self.mark_fields(&target, &value, state);
                    if self.taint.segments_are_safe {
                        mark_pieces(&target, &value, state);
                    }
                }
                return;
            }
            "augmented_assignment" | "augmented_assignment_expression" => {
                if let (Some(target), Some(value)) = (node.field("left"), node.field("right")) {
                    let flow = self.taint_of(&value, state);
                    let starts = self.starts_tainted(&target, state);
                    Self::assign(&target, flow, true, state);
                    mark_start(&target, starts, true, state);
                }
                return;
            }
            "variable_declarator" | "var_spec" | "const_spec" => {
                let value = node.field("value");
                if let Some(value) = &value {
                    self.effects(value, state);
                }
                let flow = value.as_ref().and_then(|value| self.taint_of(value, state));
                let names: Vec<SyntaxNode<'_>> = node.field_children("name").collect();
                if let (Some(value), true) = (&value, names.len() > 1) {
                    self.assign_pairwise(&names, value, state);
                } else if let Some(name) = names.first() {
                    let starts = value
                        .as_ref()
                        .and_then(|value| self.starts_tainted(value, state));
                    Self::assign(name, flow, false, state);
                    mark_start(name, starts, false, state);
                    if let Some(value) = &value {
                        mark_extends(name, value, state);
                        self.mark_fields(name, value, state);
                    }
                }
                return;
            }
            "short_var_declaration" | "assignment_statement" => {
                if let (Some(left), Some(right)) = (node.field("left"), node.field("right")) {
                    let augmented = node
                        .field("operator")
                        .is_some_and(|operator| operator.text() != "=" && operator.text() != ":=");
                    let targets: Vec<SyntaxNode<'_>> =
                        left.children().filter(SyntaxNode::is_named).collect();
                    let values: Vec<SyntaxNode<'_>> =
                        right.children().filter(SyntaxNode::is_named).collect();
                    if targets.len() == values.len() && !augmented {
                        for (target, value) in targets.iter().zip(&values) {
                            let flow = self.taint_of(value, state);
                            let starts = self.starts_tainted(value, state);
                            Self::assign(target, flow, false, state);
                            mark_start(target, starts, false, state);
                            mark_extends(target, value, state);
                        }
                    } else {
                        let flow = self.taint_of(&right, state);
                        for target in &targets {
                            Self::assign(target, flow.clone(), augmented, state);
                        }
                    }
                }
                return;
            }
            "call" | "call_expression" => {
                self.receiver_effect(node, state);
            }
            // `check_access(base, path)` on its own: a sanitizer whose result is dropped must raise or return
            // early to do anything, so what it was given is clean after it.
            "expression_statement" => {
                if let Some(expression) = node.children().find(SyntaxNode::is_named) {
                    let call = unawaited(&expression);
                    if let Some(call) = &call
                        && self.check_by_raising(call, state)
                    {
                        return;
                    }
                    // Only a call given a tainted variable can clean one: the sanitizers are matched then.
                    if let Some(call) = call
                        && !tainted_variables(&call, state).is_empty()
                    {
                        let sanitizes = self
                            .taint
                            .sanitizers
                            .as_ref()
                            .is_some_and(|sanitizers| sanitizers.matches(&call));
                        if sanitizes {
                            self.clear_guarded(&call, state);
                        } else {
                            // `check_path(path)`, a function of the file that checks what it is given.
                            for checked in self.checked_by_call(&call, state) {
                                self.clear(&checked, state);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        if let Some(propagators) = &self.taint.propagators
            && propagators.may_match(node)
            && let Some(found) = propagators.rule.matcher.match_node(node.clone())
        {
            let env = found.get_env();
            if let (Some(from), Some(to)) = (env.get_match("FROM"), env.get_match("TO")) {
                let flow = self.taint_of(from, state);
                Self::assign(to, flow, true, state);
            }
        }
        for child in node.children().filter(SyntaxNode::is_named) {
            self.effects(&child, state);
        }
    }

    /// `items.append(tainted)`, `parts.push(tainted)`, `builder.WriteString(tainted)`: the receiver is tainted.
    fn receiver_effect(&mut self, call: &SyntaxNode<'_>, state: &mut State) {
        let Some(function) = call.field("function") else {
            return;
        };
        let (object, method) = match function.kind().as_ref() {
            "attribute" => (function.field("object"), function.field("attribute")),
            "member_expression" => (function.field("object"), function.field("property")),
            "selector_expression" => (function.field("operand"), function.field("field")),
            _ => return,
        };
        let (Some(object), Some(method)) = (object, method) else {
            return;
        };
        let adds = matches!(
            method.text().as_ref(),
            "append"
                | "extend"
                | "insert"
                | "add"
                | "update"
                | "push"
                | "unshift"
                | "concat"
                | "set"
                | "setdefault"
                | "write"
                | "Write"
                | "WriteString"
                | "WriteByte"
                | "WriteRune"
                | "Set"
                | "Add"
        );
        if !adds || object.kind() != "identifier" {
            return;
        }
        if let Some(flow) = call
            .field("arguments")
            .and_then(|arguments| self.taint_of(&arguments, state))
        {
            let name = object.text().into_owned();
            state
                .entry(name)
                .or_insert_with(|| shorten(with(flow, step_for(&object))));
        }
    }

    fn assign_pairwise(
        &mut self,
        names: &[SyntaxNode<'_>],
        value: &SyntaxNode<'_>,
        state: &mut State,
    ) {
        let values: Vec<SyntaxNode<'_>> = value.children().filter(SyntaxNode::is_named).collect();
        if values.len() == names.len() {
            for (name, value) in names.iter().zip(&values) {
                let flow = self.taint_of(value, state);
                Self::assign(name, flow, false, state);
            }
        } else {
            let flow = self.taint_of(value, state);
            for name in names {
                Self::assign(name, flow.clone(), false, state);
            }
        }
    }

    /// Gives `target` the taint `flow` (or clears it). Unpacking patterns give it to every name; a subscript or
    /// attribute target taints its base object and never clears it.
    fn assign(
        target: &SyntaxNode<'_>,
        flow: Option<Vec<Step>>,
        augmented: bool,
        state: &mut State,
    ) {
        match target.kind().as_ref() {
            "identifier" | "shorthand_property_identifier_pattern" => {
                let name = target.text().into_owned();
                match flow {
                    Some(flow) => {
                        if !(augmented && state.contains_key(&name)) {
                            if !augmented {
                                state.remove(&tail_key(&name));
                            }
                            state.insert(name, shorten(with(flow, step_for(target))));
                        }
                    }
                    None if augmented => {}
                    None => {
                        state.remove(&tail_key(&name));
                        state.remove(&name);
                    }
                }
            }
            // `c.Params = value`, `self.name = value`: that field holds the taint, not the whole object (whose
            // other fields, `c.Request`, `self.base_url`, stay what they were).
            "attribute" | "member_expression" | "selector_expression" => {
                let key: String = target
                    .text()
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                match flow {
                    Some(flow) => {
                        if !(augmented && state.contains_key(&key)) {
                            state.insert(key, shorten(with(flow, step_for(target))));
                        }
                    }
                    None if augmented => {}
                    None => {
                        state.remove(&key);
                    }
                }
            }
            "subscript" | "subscript_expression" | "index_expression" => {
                let base = target
                    .field("value")
                    .or_else(|| target.field("object"))
                    .or_else(|| target.field("operand"));
                if let (Some(base), Some(flow)) = (base, flow) {
                    Self::assign(&base, Some(flow), true, state);
                }
            }
            "pattern_list"
            | "tuple_pattern"
            | "list_pattern"
            | "expression_list"
            | "array_pattern"
            | "object_pattern"
            | "parenthesized_expression"
            | "list_splat_pattern"
            | "pair_pattern"
            | "assignment_pattern"
            | "rest_pattern" => {
                for child in target.children().filter(SyntaxNode::is_named) {
                    if child.kind() == "property_identifier" {
                        continue;
                    }
                    Self::assign(&child, flow.clone(), augmented, state);
                }
            }
            _ => {}
        }
    }

    /// The flow that makes `node`'s value tainted, if any.
    fn taint_of(&self, node: &SyntaxNode<'_>, state: &State) -> Option<Vec<Step>> {
        if is_function(node) {
            return None;
        }
        if let Some(sanitizers) = &self.taint.sanitizers
            && sanitizers.matches(node)
        {
            return None;
        }
        if state.contains_key(CLEAN_MARKER)
            && matches!(
                node.kind().as_ref(),
                "attribute" | "member_expression" | "selector_expression"
            )
            && state.contains_key(&clean_key(&node.text()))
        {
            return None;
        }
        if self.taint.sources.matches(node) {
            return Some(vec![step_for(node)]);
        }
        let kind = node.kind();
        match kind.as_ref() {
            "identifier" | "shorthand_property_identifier" => {
                state.get(node.text().as_ref()).cloned()
            }
            "comparison_operator"
            | "not_operator"
            | "true"
            | "false"
            | "none"
            | "null"
            | "undefined"
            | "nil"
            | "integer"
            | "float"
            | "number"
            | "int_literal"
            | "float_literal" => None,
            // `base + "/" + ext` where `ext` holds no `.`: after other text it cannot leave the directory.
            "binary_expression" | "binary_operator"
                if self.taint.segments_are_safe
                    && node
                        .field("operator")
                        .is_some_and(|operator| operator.text() == "+") =>
            {
                let mut parts = Vec::new();
                plus_operands(node, &mut parts);
                parts
                    .iter()
                    .enumerate()
                    .filter(|(index, part)| *index == 0 || !is_dotless(part, state))
                    .find_map(|(_, part)| self.taint_of(part, state))
            }
            "binary_expression" | "unary_expression" => {
                let operator = node
                    .field("operator")
                    .map(|operator| operator.text().into_owned())
                    .unwrap_or_default();
                if matches!(
                    operator.as_str(),
                    "==" | "!="
                        | "==="
                        | "!=="
                        | "<"
                        | "<="
                        | ">"
                        | ">="
                        | "!"
                        | "instanceof"
                        | "in"
                ) && self.language != Language::Python
                {
                    return None;
                }
                self.first_tainted(node, state)
            }
            "conditional_expression" | "ternary_expression" => {
                self.either_arm(node, state, |arm, state| self.taint_of(arm, state))
            }
            // A length is a number, whatever the text was.
            "member_expression"
                if node
                    .field("property")
                    .is_some_and(|property| property.text() == "length") =>
            {
                None
            }
            // `rq.query` where `rq` is an Express handler's request, `r.Header`, `c.Query` where `r`, `c` are a
            // Go handler's: the field is tainted, not the object.
            "attribute" | "member_expression" | "selector_expression"
                if state.contains_key(node.text().as_ref()) =>
            {
                state.get(node.text().as_ref()).cloned()
            }
            // `cache = { key: req.query.v, body: str }`: a field of an object literal holds its own value.
            "member_expression" if Self::fields_known(node, state) => None,
            // A Django model's options and a record's key are the application's, not the client's text.
            "attribute"
                if node
                    .field("attribute")
                    .is_some_and(|name| matches!(name.text().as_ref(), "_meta" | "pk" | "id")) =>
            {
                None
            }
            "attribute" | "member_expression" => node
                .field("object")
                .and_then(|object| self.taint_of(&object, state)),
            "selector_expression" => node
                .field("operand")
                .and_then(|operand| self.taint_of(&operand, state)),
            "keyword_argument" | "pair" => node
                .field("value")
                .and_then(|value| self.taint_of(&value, state)),
            // `f"{id}.{ext}"` where `ext` holds no `.`: after other text it cannot leave the directory.
            "string" | "template_string" if self.taint.segments_are_safe => {
                let mut at_start = true;
                for child in node.children() {
                    match child.kind().as_ref() {
                        "interpolation" | "template_substitution" => {
                            if let Some(expression) = child.children().find(SyntaxNode::is_named)
                                && (at_start || !is_dotless(&expression, state))
                                && let Some(flow) = self.taint_of(&expression, state)
                            {
                                return Some(flow);
                            }
                            at_start = false;
                        }
                        "string_content" | "string_fragment" | "escape_sequence" => {
                            at_start = false;
                        }
                        _ => {}
                    }
                }
                None
            }
            "subscript" | "subscript_expression" | "index_expression"
                if self.taint.segments_are_safe && is_one_piece(node, state) =>
            {
                None
            }
            "subscript" | "subscript_expression" | "index_expression" => node
                .field("value")
                .or_else(|| node.field("object"))
                .or_else(|| node.field("operand"))
                .and_then(|base| self.taint_of(&base, state)),
            "call" | "call_expression" | "new_expression" => {
                if self.returns_inert(node) {
                    return None;
                }
                // A function of the file: its summary says what it returns.
                if node.kind() != "new_expression"
                    && let Through::Returns(returned) = self.through_function(node, state)
                {
                    return returned;
                }
                let from_arguments = node.field("arguments").and_then(|arguments| {
                    let name = node.field("function").map(called_name);
                    // A lookup by a tainted key (`Model.objects.get(pk=value)`, `get_object(id=value)`)
                    // returns stored data, not the key: Python keyword arguments carry taint only into
                    // string building (`.format(name=value)`) and `dict(...)`.
                    // A Python `table.get(key, default)` on an untainted mapping returns a stored value or
                    // the default, not the key.
                    let looks_up = self.language == Language::Python
                        && name.as_ref().is_some_and(|name| name.text() == "get")
                        && node
                            .field("function")
                            .and_then(|function| function.field("object"))
                            .is_some_and(|object| self.taint_of(&object, state).is_none());
                    let mut keywords = false;
                    let flow = arguments
                        .children()
                        .filter(SyntaxNode::is_named)
                        .skip(usize::from(looks_up))
                        .find_map(|argument| {
                            if argument.kind() == "keyword_argument" {
                                keywords = true;
                                None
                            } else {
                                self.taint_of(&argument, state)
                            }
                        })
                        .or_else(|| {
                            let builds_text = name.as_ref().is_some_and(|name| {
                                matches!(name.text().as_ref(), "format" | "format_map" | "dict")
                            });
                            (keywords && builds_text)
                                .then(|| {
                                    arguments
                                        .children()
                                        .filter(|argument| argument.kind() == "keyword_argument")
                                        .find_map(|argument| self.taint_of(&argument, state))
                                })
                                .flatten()
                        })?;
                    // Only now that an argument is tainted, the callee's name: a predicate or a check answers
                    // about its argument (`is_admin(name)`, `_check_transaction(trans_id)`, `find_user(name)`),
                    // and a lookup by an id returns a stored record. Neither result is the argument.
                    let name = name
                        .map(|name| name.text().into_owned())
                        .unwrap_or_default();
                    (!answers_about_argument(&name) && !looks_up_by_id(&name, &arguments))
                        .then_some(flow)
                });
                from_arguments.or_else(|| {
                    let function = node
                        .field("function")
                        .or_else(|| node.field("constructor"))?;
                    match function.kind().as_ref() {
                        "attribute" | "member_expression" | "selector_expression" => {
                            self.taint_of(&function, state)
                        }
                        _ => None,
                    }
                })
            }
            _ => self.first_tainted(node, state),
        }
    }

    /// For `tainted-start` rules: whether `value`'s taint reaches its start; `None` for other rules.
    fn starts_tainted(&self, value: &SyntaxNode<'_>, state: &State) -> Option<bool> {
        self.taint
            .tainted_start
            .then(|| self.start_taint(value, state).is_some())
    }

    /// The taint of `node` where it can decide the start of the string: for `BASE + tainted`,
    /// `f"/users/{name}"`, `"https://api.example.com/{}".format(name)` or `fmt.Sprintf("/a/%s", name)`, none.
    fn start_taint(&self, node: &SyntaxNode<'_>, state: &State) -> Option<Vec<Step>> {
        let flow = self.taint_of(node, state)?;
        if self.taint.sources.matches(node) {
            return Some(flow);
        }
        let kind = node.kind();
        match kind.as_ref() {
            "identifier" => (!state.contains_key(&tail_key(&node.text()))).then_some(flow),
            "attribute" | "member_expression" | "selector_expression"
                if state.contains_key(node.text().as_ref()) =>
            {
                (!state.contains_key(&tail_key(&node.text()))).then_some(flow)
            }
            // `res["data"]`, `image.url` of a value whose start is not the request's (what an unknown function
            // returned): its items and fields are that function's too.
            "attribute"
            | "member_expression"
            | "selector_expression"
            | "subscript"
            | "subscript_expression"
            | "index_expression"
                if node
                    .field("object")
                    .or_else(|| node.field("value"))
                    .or_else(|| node.field("operand"))
                    .is_some_and(|base| {
                        base.kind() == "identifier" && state.contains_key(&tail_key(&base.text()))
                    }) =>
            {
                None
            }
            "parenthesized_expression" | "await" | "await_expression" => node
                .children()
                .find(SyntaxNode::is_named)
                .and_then(|inner| self.start_taint(&inner, state)),
            // `a if condition else b`, `condition ? a : b`: either value may be the string, each as the condition
            // leaves it.
            "conditional_expression" | "ternary_expression" => {
                self.either_arm(node, state, |arm, state| self.start_taint(arm, state))
            }
            "binary_expression" | "binary_operator" | "boolean_operator" => {
                let operator = node
                    .field("operator")
                    .map(|operator| operator.text().into_owned())
                    .unwrap_or_default();
                match operator.as_str() {
                    // `next or fallback`: whichever is used starts the string.
                    "or" | "and" | "||" | "&&" | "??" => node
                        .children()
                        .filter(SyntaxNode::is_named)
                        .find_map(|operand| self.start_taint(&operand, state)),
                    "+" => {
                        let mut parts = Vec::new();
                        plus_operands(node, &mut parts);
                        self.start_of_parts(&parts, state)
                    }
                    "%" => {
                        let format = node.field("left").and_then(|left| literal_text(&left));
                        let values = node.field("right").map(|right| {
                            if right.kind() == "tuple" {
                                let first = right.children().find(SyntaxNode::is_named);
                                first.unwrap_or(right)
                            } else {
                                right
                            }
                        });
                        match format {
                            Some(format) => {
                                self.start_of_format(&format, '%', values.as_ref(), flow, state)
                            }
                            None => Some(flow),
                        }
                    }
                    _ => Some(flow),
                }
            }
            "string" | "template_string" | "concatenated_string" => {
                let (lead, interpolated) = string_lead(node);
                if !interpolated || fixes_start(&lead) {
                    return if interpolated { None } else { Some(flow) };
                }
                let first = node
                    .children()
                    .find(|child| {
                        matches!(
                            child.kind().as_ref(),
                            "interpolation" | "template_substitution"
                        )
                    })
                    .and_then(|part| part.children().find(SyntaxNode::is_named));
                match first {
                    Some(first) if lead.is_empty() => self.start_taint(&first, state),
                    Some(first) => self.taint_of(&first, state),
                    None => Some(flow),
                }
            }
            "call" | "call_expression" => {
                let function = node.field("function");
                let arguments: Vec<SyntaxNode<'_>> = node
                    .field("arguments")
                    .map(|arguments| arguments.children().filter(SyntaxNode::is_named).collect())
                    .unwrap_or_default();
                // `"https://host/{}".format(value)`
                if let Some(function) = &function
                    && matches!(function.kind().as_ref(), "attribute" | "member_expression")
                    && function
                        .field("attribute")
                        .or_else(|| function.field("property"))
                        .is_some_and(|name| name.text() == "format")
                    && let Some(format) = function
                        .field("object")
                        .and_then(|object| literal_text(&object))
                {
                    return self.start_of_format(&format, '{', arguments.first(), flow, state);
                }
                // `url_path_join(self.base_url, "tree", path)` (Jupyter, Tornado apps): every piece is joined as a
                // path segment, slashes stripped, after the first, so an untainted base keeps the host.
                // (`urljoin` is not one: an absolute second argument replaces the base.)
                if let Some(function) = &function
                    && function.text().ends_with("url_path_join")
                    && let Some(base) = arguments.first()
                {
                    return self.start_taint(base, state);
                }
                // `"?".join([base_url, query])`: the first piece starts the string, unless the separator is tainted.
                if self.language == Language::Python
                    && let Some(function) = &function
                    && function.kind() == "attribute"
                    && function
                        .field("attribute")
                        .is_some_and(|name| name.text() == "join")
                    && let [pieces] = arguments.as_slice()
                    && matches!(pieces.kind().as_ref(), "list" | "tuple")
                {
                    if let Some(separator) = function.field("object")
                        && let Some(flow) = self.taint_of(&separator, state)
                    {
                        return Some(flow);
                    }
                    return pieces
                        .children()
                        .find(SyntaxNode::is_named)
                        .and_then(|first| self.start_taint(&first, state));
                }
                // `self.get_url(".edit", path=value)`, `url_for("admin.index", q=value)`: a URL built for one of
                // the application's own endpoints, named first, is on the application's host.
                let builds_url = function.clone().is_some_and(|function| {
                    called_name(function)
                        .text()
                        .to_ascii_lowercase()
                        .contains("url")
                });
                if builds_url
                    && arguments
                        .first()
                        .and_then(literal_text)
                        .is_some_and(|endpoint| is_endpoint(&endpoint))
                {
                    return None;
                }
                // `fmt.Sprintf("https://host/%s", value)`
                if function
                    .as_ref()
                    .is_some_and(|function| function.text() == "fmt.Sprintf")
                    && let Some(format) = arguments.first().and_then(literal_text)
                {
                    return self.start_of_format(&format, '%', arguments.get(1), flow, state);
                }
                self.call_keeps_start(node, function.as_ref(), &arguments, state)
                    .then_some(flow)
            }
            _ => Some(flow),
        }
    }

    /// Whether a tainted call's result can start with its tainted input, for `tainted-start` rules: a method of
    /// the tainted value itself (`next.strip()`, `request.args.get("next")`), a function of the file that returns
    /// it (its summary says so), or a function known to hand a URL back whole (`str`, `unquote`, `urljoin`,
    /// `decodeURIComponent`, ...). What an unknown function returns when given request data among its arguments
    /// (`self.get_success_url(obj)`, `task.on_action(state, **form.cleaned_data)`) is that function's URL.
    fn call_keeps_start(
        &self,
        call: &SyntaxNode<'_>,
        function: Option<&SyntaxNode<'_>>,
        arguments: &[SyntaxNode<'_>],
        state: &State,
    ) -> bool {
        let Some(function) = function else {
            return true;
        };
        let receiver = function
            .field("object")
            .or_else(|| function.field("operand"));
        // `next.strip()`, `url_parts._replace(query=q)`: a method of the tainted value starts where it does.
        if let Some(receiver) = &receiver
            && self.taint_of(receiver, state).is_some()
        {
            return self.start_taint(receiver, state).is_some();
        }
        // A function of the file: its summary says whether what it returns starts with what it was given.
        if let Some((summary, arguments)) = self.summary_of_call(call) {
            return summary.returns_source.is_some() && summary.returns_source_start
                || arguments.iter().any(|(slot, argument)| {
                    summary.returns_start.get(*slot).copied().unwrap_or(false)
                        && self.start_taint(argument, state).is_some()
                });
        }
        let name = function.text();
        let last = name.rsplit('.').next().unwrap_or(&name);
        // A URL builder or a function that hands a URL back: its result starts where its tainted argument does.
        // By its name: a function of a module (`url_concat`, `urllib.parse.urlparse`), not a method of the
        // application's own class (`self.get_next_url(user)` reads and checks its own `?next`).
        let own_method = receiver
            .as_ref()
            .is_some_and(|receiver| matches!(receiver.text().as_ref(), "self" | "cls" | "this"));
        let hands_back = !own_method && last.to_ascii_lowercase().contains("url")
            || matches!(
                last,
                "str"
                    | "String"
                    | "unquote"
                    | "unquote_plus"
                    | "urljoin"
                    | "urlunparse"
                    | "urlunsplit"
                    | "iri_to_uri"
                    | "uri_to_iri"
                    | "force_str"
                    | "smart_str"
                    | "escape_uri_path"
                    // A parsed URL or document: its fields (`url.parse(next).pathname`) are the text's.
                    | "parse"
                    | "urlparse"
                    | "urlsplit"
                    | "Parse"
                    | "ParseRequestURI"
                    | "decodeURIComponent"
                    | "decodeURI"
                    | "resolve"
                    | "QueryUnescape"
                    | "PathUnescape"
                    | "Join"
                    | "Sprint"
                    | "Sprintf"
                    | "TrimSpace"
                    | "ToLower"
                    | "Trim"
            );
        if !hands_back {
            return false;
        }
        // `urljoin(base, value)`, `path.resolve(root, value)`: an absolute later argument replaces the start.
        // Otherwise the first argument is what the result starts with (`url_concat(base, {"next": value})`).
        if matches!(last, "urljoin" | "resolve") {
            arguments
                .iter()
                .find(|argument| self.taint_of(argument, state).is_some())
                .is_some_and(|argument| self.start_taint(argument, state).is_some())
        } else {
            arguments
                .first()
                .is_some_and(|argument| self.start_taint(argument, state).is_some())
        }
    }

    /// The start's taint of a concatenation: literals add to a prefix until it fixes the start; the first other
    /// part decides, and an untainted one (a configured base URL) fixes it.
    fn start_of_parts(&self, parts: &[SyntaxNode<'_>], state: &State) -> Option<Vec<Step>> {
        let mut prefix = String::new();
        for part in parts {
            if let Some(text) = literal_text(part) {
                prefix.push_str(&text);
                if fixes_start(&prefix) {
                    return None;
                }
                continue;
            }
            if prefix == "/" && self.leading_slashes_stripped(part, state) {
                return None;
            }
            return if prefix.is_empty() {
                self.start_taint(part, state)
            } else {
                self.taint_of(part, state)
            };
        }
        None
    }

    /// `"/" + path.strip("/")`: one leading slash and a value that cannot start with another is a path on this
    /// host, when the value cannot start with a backslash either (browsers read `/\host` as `//host`): the
    /// backslash is stripped too, or the value is the raw request URI or path, where a browser never sends one.
    fn leading_slashes_stripped(&self, part: &SyntaxNode<'_>, state: &State) -> bool {
        let Some(function) = part.field("function") else {
            return false;
        };
        let strips = matches!(called_name(function).text().as_ref(), "strip" | "lstrip");
        let Some(characters) = part
            .field("arguments")
            .and_then(|arguments| arguments.children().find(SyntaxNode::is_named))
            .and_then(|argument| literal_text(&argument))
        else {
            return false;
        };
        if !strips || !characters.contains('/') {
            return false;
        }
        characters.contains('\\')
            || self.taint_of(part, state).is_some_and(|flow| {
                flow.first().is_some_and(|source| {
                    source.label.ends_with("request.uri") || source.label.ends_with("request.path")
                })
            })
    }

    /// The start's taint of a format string filled with values: the text before the first placeholder fixes the
    /// start, or the first value decides it.
    fn start_of_format(
        &self,
        format: &str,
        placeholder: char,
        first_value: Option<&SyntaxNode<'_>>,
        flow: Vec<Step>,
        state: &State,
    ) -> Option<Vec<Step>> {
        let lead = format.split(placeholder).next().unwrap_or_default();
        if fixes_start(lead) {
            return None;
        }
        match first_value {
            Some(value) if lead.is_empty() => self.start_taint(value, state),
            _ => Some(flow),
        }
    }

    /// The first answer of `of` for the arms of `a if condition else b` / `condition ? a : b`, each under what
    /// the condition says there (see `assume`).
    fn either_arm(
        &self,
        node: &SyntaxNode<'_>,
        state: &State,
        of: impl Fn(&SyntaxNode<'_>, &State) -> Option<Vec<Step>>,
    ) -> Option<Vec<Step>> {
        let parts = match (
            node.field("condition"),
            node.field("consequence"),
            node.field("alternative"),
        ) {
            (Some(condition), Some(consequence), Some(alternative)) => {
                Some((condition, consequence, alternative))
            }
            _ => match node
                .children()
                .filter(SyntaxNode::is_named)
                .collect::<Vec<_>>()[..]
            {
                [ref consequence, ref condition, ref alternative] => {
                    Some((condition.clone(), consequence.clone(), alternative.clone()))
                }
                _ => None,
            },
        };
        let Some((condition, consequence, alternative)) = parts else {
            return self.first_tainted(node, state);
        };
        let text = condition.text();
        if !(text.contains('=') || text.contains("in")) {
            return of(&consequence, state).or_else(|| of(&alternative, state));
        }
        let arm = |value: &SyntaxNode<'_>, truth: bool| {
            let mut narrowed = state.clone();
            if self.assume(&condition, truth, &mut narrowed) {
                of(value, &narrowed)
            } else {
                of(value, state)
            }
        };
        arm(&consequence, true).or_else(|| arm(&alternative, false))
    }

    fn first_tainted(&self, node: &SyntaxNode<'_>, state: &State) -> Option<Vec<Step>> {
        node.children()
            .filter(SyntaxNode::is_named)
            .find_map(|child| self.taint_of(&child, state))
    }
}

/// Whether `node` (a check inside `condition`) is negated on its way up to the condition: `not ok(x)`, `!ok(x)`.
fn negated(node: &SyntaxNode<'_>, condition: &SyntaxNode<'_>) -> bool {
    // A check written as an inequality (`file.slice(0, root.length) !== root`) holds when it is false.
    let mut negations = usize::from(
        matches!(
            node.kind().as_ref(),
            "binary_expression" | "comparison_operator"
        ) && node
            .children()
            .any(|child| !child.is_named() && matches!(child.text().as_ref(), "!=" | "!==")),
    );
    let mut current = node.clone();
    while current.range() != condition.range() {
        let Some(parent) = current.parent() else {
            break;
        };
        let kind = parent.kind();
        if kind == "not_operator"
            || kind == "unary_expression"
                && parent
                    .field("operator")
                    .is_some_and(|operator| operator.text() == "!")
        {
            negations += 1;
        }
        current = parent;
    }
    negations % 2 == 1
}

/// Whether a branch's body always leaves it: its last statement returns, raises, throws, breaks or continues,
/// or calls `abort()`/`os.Exit`/`panic`-style functions.
fn always_exits(body: &SyntaxNode<'_>) -> bool {
    let last = if matches!(
        body.kind().as_ref(),
        "block" | "statement_block" | "statement_list"
    ) {
        body.children()
            .filter(|child| child.is_named() && child.kind() != "comment")
            .last()
    } else {
        Some(body.clone())
    };
    let Some(last) = last else {
        return false;
    };
    match last.kind().as_ref() {
        "return_statement" | "raise_statement" | "throw_statement" | "continue_statement"
        | "break_statement" => true,
        "block" | "statement_block" | "statement_list" => always_exits(&last),
        "expression_statement" => last
            .children()
            .find(SyntaxNode::is_named)
            .filter(|call| matches!(call.kind().as_ref(), "call" | "call_expression"))
            .and_then(|call| call.field("function"))
            .is_some_and(|function| {
                let name = called_name(function).text();
                matches!(
                    name.as_ref(),
                    "abort" | "Exit" | "panic" | "Fatal" | "Fatalf"
                )
            }),
        _ => false,
    }
}

/// `await call()` → `call()`; any other expression as it is.
fn unawaited<'r>(expression: &SyntaxNode<'r>) -> Option<SyntaxNode<'r>> {
    if matches!(expression.kind().as_ref(), "await" | "await_expression") {
        expression.children().find(SyntaxNode::is_named)
    } else {
        Some(expression.clone())
    }
}

/// The tainted variables a call is given, as arguments or keyword arguments' values (`check(base, path)`,
/// `check(url=next_url)`).
fn tainted_variables<'r>(call: &SyntaxNode<'r>, state: &State) -> Vec<SyntaxNode<'r>> {
    let Some(arguments) = call.field("arguments") else {
        return Vec::new();
    };
    arguments
        .children()
        .filter_map(|argument| {
            if argument.kind() == "keyword_argument" {
                argument.field("value")
            } else {
                Some(argument)
            }
        })
        .filter(|value| value.kind() == "identifier" && state.contains_key(value.text().as_ref()))
        .collect()
}

/// The name a call is made by: `name` in `name(...)`, `obj.name(...)`, `pkg.Name(...)`.
fn called_name(function: SyntaxNode<'_>) -> SyntaxNode<'_> {
    function
        .field("attribute")
        .or_else(|| function.field("property"))
        .or_else(|| function.field("field"))
        .unwrap_or(function)
}

/// Whether a function named `name` answers a question about its arguments (a predicate, a check or a
/// lookup) rather than passing them on: `is_safe`, `has_perm`, `check_token`, `_check_for_transaction`,
/// `validate_form`, `verify`, `exists`, `find_user`, `lookup`, `count_rows`, `isValid`; or opens a file by name
/// (`open`, `os.Open`, `fs.readFileSync`).
fn answers_about_argument(name: &str) -> bool {
    // A file opened or read by a tainted name holds the file's content, not the name (the name itself is
    // what path rules check, at the call).
    if matches!(
        name,
        "open"
            | "Open"
            | "OpenFile"
            | "ReadFile"
            | "readFile"
            | "readFileSync"
            | "createReadStream"
    ) {
        return true;
    }
    let name = name.trim_start_matches('_');
    [
        "is", "has", "check", "validate", "verify", "exists", "find", "lookup", "count",
    ]
    .iter()
    .any(|verb| {
        name.strip_prefix(verb).is_some_and(|rest| {
            rest.is_empty()
                || rest.starts_with('_')
                || rest.starts_with(|c: char| c.is_ascii_uppercase())
        })
    })
}

/// `get_book(book_id)`, `load_user(pk)`, `fetchOrder(orderId)`, `get_book_format(book_id, fmt)`,
/// `get_project(request, slug)`: a record looked up by its id (or by a view's URL captures) is stored data, not the
/// id. It takes a call named as a lookup of something other than a path or a
/// URL, with a plain id-named variable among its arguments: `get_path(name)` and `get_file_path(user_id, name)`
/// still pass their arguments on.
fn looks_up_by_id(name: &str, arguments: &SyntaxNode<'_>) -> bool {
    let name = name.trim_start_matches('_');
    let lookup = ["get", "load", "fetch", "read"].iter().any(|verb| {
        name.strip_prefix(verb).is_some_and(|rest| {
            rest.starts_with('_') || rest.starts_with(|c: char| c.is_ascii_uppercase())
        })
    });
    if !lookup {
        return false;
    }
    // `getProfileByUsername(name)`, `get_user_by_email(email)`: a record found by what it is given; Django's
    // `get_object_or_404(Book, slug=slug)` and `get_list_or_404(...)` too.
    if name.contains("By") || name.contains("_by_") || name.ends_with("_or_404") {
        return true;
    }
    let lower = name.to_ascii_lowercase();
    let builds_a_location = ["path", "url", "uri", "file", "dir", "name", "link"]
        .iter()
        .any(|word| lower.contains(word));
    if builds_a_location {
        return false;
    }
    // `get_project(request, slug)`, `get_translation(request, project, component, lang)`: a view's helper that
    // finds a record by the URL's captures (and checks the user may see it). One named for what the request
    // says (`get_next(request)`, `get_redirect_target(request)`, `get_param(request, "q")`) passes it on.
    let request_first = arguments
        .children()
        .find(SyntaxNode::is_named)
        .is_some_and(|first| first.kind() == "identifier" && first.text() == "request");
    if request_first {
        let passes_on = [
            "next", "redirect", "return", "target", "dest", "location", "back", "refer", "param",
            "arg", "query", "value", "input", "data", "field", "cookie", "header", "body", "json",
            "form", "text", "string", "str", "host", "domain",
        ]
        .iter()
        .any(|word| lower.contains(word));
        return !passes_on;
    }
    let id_named = |argument: &SyntaxNode<'_>| {
        let text = argument.text();
        let lower = text.to_ascii_lowercase();
        argument.kind() == "identifier"
            && (lower == "id"
                || lower == "pk"
                || lower.ends_with("_id")
                || lower.ends_with("_pk")
                || lower.ends_with("uuid")
                || text.ends_with("Id")
                || text.ends_with("ID"))
    };
    arguments.children().any(|argument| id_named(&argument))
}

/// Whether `node` runs only in development or tests: it lies in the arm an `if` on a development flag guards
/// (`if (config.dev)`, `if settings.DEBUG:`, `if (process.env.NODE_ENV === "test")`), where a test server's
/// routes or a debugging page are registered. Such code is not exposed to anyone.
fn in_development_only_code(node: &SyntaxNode<'_>) -> bool {
    let mut child = node.clone();
    for ancestor in node.ancestors() {
        if ancestor.kind() == "if_statement"
            && ancestor
                .field("consequence")
                .is_some_and(|consequence| consequence.range() == child.range())
            && ancestor
                .field("condition")
                .is_some_and(|condition| is_development_flag(&condition))
        {
            return true;
        }
        child = ancestor;
    }
    false
}

fn is_development_flag(condition: &SyntaxNode<'_>) -> bool {
    let text = condition.text();
    let text = text
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    let flag = |name: &str| {
        let last = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
        matches!(
            last.as_str(),
            "dev"
                | "debug"
                | "development"
                | "isdev"
                | "isdevelopment"
                | "is_dev"
                | "testing"
                | "istest"
                | "istesting"
                | "is_testing"
                | "test_mode"
                | "testmode"
        )
    };
    if text
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        return flag(text);
    }
    // `NODE_ENV === "development"`, `env == 'test'`
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    ["===", "=="].iter().any(|operator| {
        compact.split_once(operator).is_some_and(|(left, right)| {
            let value = right.trim_matches(|c| c == '"' || c == '\'' || c == '`');
            left.to_ascii_lowercase().ends_with("env")
                && matches!(value, "development" | "dev" | "test" | "testing")
        })
    })
}

/// `a = b = value`: the value at the end of a chain of assignments.
fn innermost_value(value: SyntaxNode<'_>) -> SyntaxNode<'_> {
    let mut value = value;
    while value.kind() == "assignment" || value.kind() == "assignment_expression" {
        match value.field("right") {
            Some(right) => value = right,
            None => break,
        }
    }
    value
}

/// A condition whose value is known without running the program: `True`, `false`, `0`, `None`, `nil`, `not True`.
fn constant_truth(condition: &SyntaxNode<'_>) -> Option<bool> {
    let kind = condition.kind();
    match kind.as_ref() {
        "parenthesized_expression" => condition
            .children()
            .find(SyntaxNode::is_named)
            .as_ref()
            .and_then(constant_truth),
        "true" => Some(true),
        "false" | "none" | "null" | "undefined" | "nil" => Some(false),
        "integer" | "number" | "int_literal" => Some(condition.text().trim() != "0"),
        "not_operator" => condition
            .field("argument")
            .as_ref()
            .and_then(constant_truth)
            .map(|value| !value),
        _ => None,
    }
}

/// Joins two states. A variable whose taint reaches its start on either side reaches it after the join.
fn union(into: &mut State, other: State) {
    let starting = |state: &State| -> Vec<String> {
        state
            .keys()
            .filter(|name| !is_marker_key(name) && !state.contains_key(&tail_key(name)))
            .cloned()
            .collect()
    };
    let mut starts = starting(into);
    starts.extend(starting(&other));
    // A source expression is clean after the join only if it is in every arm.
    let clean_in_one: Vec<String> = into
        .keys()
        .filter(|key| key.starts_with(CLEAN_MARKER) && !other.contains_key(*key))
        .chain(
            other
                .keys()
                .filter(|key| key.starts_with(CLEAN_MARKER) && !into.contains_key(*key)),
        )
        .cloned()
        .collect();
    for (name, flow) in other {
        into.entry(name).or_insert(flow);
    }
    for name in starts {
        into.remove(&tail_key(&name));
    }
    for key in clean_in_one {
        into.remove(&key);
    }
    if !into
        .keys()
        .any(|key| key.starts_with(CLEAN_MARKER) && key != CLEAN_MARKER)
    {
        into.remove(CLEAN_MARKER);
    }
}

/// The state key marking that `name`'s taint does not reach the start of its string (`BASE + path`). Only rules
/// with `tainted-start: true` set it; no variable name can collide with it.
fn tail_key(name: &str) -> String {
    format!("\u{1}tail:{name}")
}

/// The state key marking that the source expression `text` (`req.url`) was found equal to a trusted value in this
/// arm (see `assume`).
fn clean_key(text: &str) -> String {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    format!("\u{1}clean:{text}")
}

/// Present while any `clean_key` is: expressions are looked up only then.
const CLEAN_MARKER: &str = "\u{1}clean";

/// Whether `key` is a marker about a variable (`tail_key`, `pieces_key`) rather than a variable.
fn is_marker_key(key: &str) -> bool {
    key.starts_with('\u{1}')
}

/// After `target = value` (`augmented` for `+=`) with `starts` = whether `value`'s taint reaches its start
/// (`None` when the rule does not track starts): marks a tainted target whose start is not tainted.
fn mark_start(target: &SyntaxNode<'_>, starts: Option<bool>, augmented: bool, state: &mut State) {
    let Some(starts) = starts else {
        return;
    };
    let name: String = match target.kind().as_ref() {
        "identifier" => target.text().into_owned(),
        // A field holds its own taint (see `assign`), and so its own start.
        "attribute" | "member_expression" | "selector_expression" => target
            .text()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect(),
        _ => return,
    };
    let key = tail_key(&name);
    if !state.contains_key(name.as_str()) {
        state.remove(&key);
    } else if augmented {
        // `url += tainted`: the start is what `url` held before, untainted if it was.
        if !starts {
            state.entry(key).or_default();
        }
    } else if starts {
        state.remove(&key);
    } else {
        state.insert(key, Vec::new());
    }
}

/// The state key marking that `name` holds the pieces of a string split on `separator` (`/` or `.`; path rules
/// only).
fn pieces_key(name: &str, separator: &str) -> String {
    format!("\u{1}pieces{separator}:{name}")
}

/// The state key marking that `name` holds one piece of a string split on `.` (path rules only).
fn dotless_key(name: &str) -> String {
    format!("\u{1}dotless:{name}")
}

/// Whether `value` splits a string on `separator`: `path.split("/")`, `url.rsplit("/", 1)`,
/// `strings.Split(p, "/")`, `name.split(".")`.
fn splits_on(value: &SyntaxNode<'_>, separator: &str) -> bool {
    if !matches!(value.kind().as_ref(), "call" | "call_expression") {
        return false;
    }
    let Some(function) = value.field("function") else {
        return false;
    };
    let name = called_name(function).text();
    if !matches!(name.as_ref(), "split" | "rsplit" | "Split" | "SplitN") {
        return false;
    }
    value.field("arguments").is_some_and(|arguments| {
        arguments
            .children()
            .filter(SyntaxNode::is_named)
            .any(|argument| literal_text(&argument).is_some_and(|text| text == separator))
    })
}

/// After `target = value`: marks a variable that holds the pieces of a string split on `/` (whose items hold no
/// `/`) or on `.`, or one piece of a string split on `.` (which holds no `.`).
fn mark_pieces(target: &SyntaxNode<'_>, value: &SyntaxNode<'_>, state: &mut State) {
    if target.kind() != "identifier" {
        return;
    }
    let name = target.text();
    let value = innermost_value(value.clone());
    for separator in ["/", "."] {
        let key = pieces_key(&name, separator);
        if splits_on(&value, separator) {
            state.insert(key, Vec::new());
        } else {
            state.remove(&key);
        }
    }
    let key = dotless_key(&name);
    if is_piece_of(&value, ".", state) {
        state.insert(key, Vec::new());
    } else {
        state.remove(&key);
    }
}

/// After `target = value`: when `value` is a tainted variable followed by literal text only
/// (`` gzipped = `${file}.gz` ``), a check on that variable later vouches for `target` too, while the variable
/// holds what it held here (see `clear`).
fn mark_extends(target: &SyntaxNode<'_>, value: &SyntaxNode<'_>, state: &mut State) {
    if target.kind() != "identifier" {
        return;
    }
    let name = target.text();
    if state.contains_key(EXTENDS) {
        let suffix = format!("\u{1}{name}");
        state.retain(|key, _| !(key.starts_with(EXTENDS) && key.ends_with(&suffix)));
    }
    if let Some(base) = extended_name(&innermost_value(value.clone()))
        && let Some(flow) = state.get(base.as_str()).cloned()
        && state.contains_key(name.as_ref())
    {
        state.insert(format!("{EXTENDS}{base}\u{1}{name}"), flow);
        state.insert(EXTENDS.to_owned(), Vec::new());
    }
}

/// The state key marking that `name` was assigned an object literal whose fields are tracked one by one; it holds
/// the flow `name` got then (see `mark_fields`).
fn fields_key(name: &str) -> String {
    format!("\u{1}fields:{name}")
}

/// The prefix of the state keys `{EXTENDS}{base}\u{1}{name}`: `name` was built as `base` followed by literal text
/// only, and `base` held the flow the key holds; the key `EXTENDS` alone is present while any is.
const EXTENDS: &str = "\u{1}extends:";

/// `base` when `value` is `base` followed by literal text only: `` `${file}.gz` ``, `f"{path}.tmp"`,
/// `file + ".br"`.
fn extended_name(value: &SyntaxNode<'_>) -> Option<String> {
    let (first, rest): (SyntaxNode<'_>, Vec<SyntaxNode<'_>>) = match value.kind().as_ref() {
        "template_string" | "string" => {
            let mut parts = value.children().filter(|part| {
                part.is_named() && !matches!(part.kind().as_ref(), "string_start" | "string_end")
            });
            let first = parts.next()?;
            if !matches!(
                first.kind().as_ref(),
                "template_substitution" | "interpolation"
            ) {
                return None;
            }
            let inner = first.children().find(SyntaxNode::is_named)?;
            let rest = parts.collect::<Vec<_>>();
            if !rest.iter().all(|part| {
                matches!(
                    part.kind().as_ref(),
                    "string_fragment" | "string_content" | "escape_sequence"
                )
            }) {
                return None;
            }
            (inner, Vec::new())
        }
        "binary_expression" | "binary_operator"
            if value
                .field("operator")
                .is_some_and(|operator| operator.text() == "+") =>
        {
            let mut parts = Vec::new();
            plus_operands(value, &mut parts);
            let mut parts = parts.into_iter();
            (parts.next()?, parts.collect())
        }
        _ => return None,
    };
    (first.kind() == "identifier" && rest.iter().all(|part| literal_text(part).is_some()))
        .then(|| first.text().into_owned())
}

/// Whether `node` holds no `.`: one piece of a string split on `.` (`filename.split(".")[-1]`, or `ext` after
/// `ext = filename.split(".")[-1]`). Such a value cannot hold `..`; inside a string after other text it can
/// neither climb out of a directory nor make the path absolute.
fn is_dotless(node: &SyntaxNode<'_>, state: &State) -> bool {
    match node.kind().as_ref() {
        "identifier" => state.contains_key(&dotless_key(&node.text())),
        _ => is_piece_of(node, ".", state),
    }
}

/// `name.split("/")[-1]`, `parts[0]` where `parts` holds a string split on `/`: one piece, which holds no `/` and
/// so cannot leave the directory it is joined to (at most `..` names the directory above, which no file API
/// opens as a file). A slice (`parts[1:]`) is still many pieces.
fn is_one_piece(subscript: &SyntaxNode<'_>, state: &State) -> bool {
    is_piece_of(subscript, "/", state)
}

/// Whether `subscript` takes one item (not a slice) of a string split on `separator`.
fn is_piece_of(subscript: &SyntaxNode<'_>, separator: &str, state: &State) -> bool {
    if !matches!(
        subscript.kind().as_ref(),
        "subscript" | "subscript_expression" | "index_expression"
    ) {
        return false;
    }
    let index = subscript
        .field("subscript")
        .or_else(|| subscript.field("index"));
    if index.is_none_or(|index| index.kind() == "slice" || index.kind() == "slice_expression") {
        return false;
    }
    let Some(base) = subscript
        .field("value")
        .or_else(|| subscript.field("object"))
        .or_else(|| subscript.field("operand"))
    else {
        return false;
    };
    splits_on(&base, separator)
        || base.kind() == "identifier" && state.contains_key(&pieces_key(&base.text(), separator))
}

/// `target.host`, `urlparse(url).netloc`: the parsed URL whose host (`host`, `hostname`, `origin`, `netloc`)
/// `node` reads.
fn host_of<'r>(node: &SyntaxNode<'r>) -> Option<SyntaxNode<'r>> {
    let property = node
        .field("property")
        .or_else(|| node.field("attribute"))
        .or_else(|| node.field("field"))?;
    matches!(
        property.text().as_ref(),
        "host" | "hostname" | "origin" | "netloc" | "Host"
    )
    .then(|| node.field("object").or_else(|| node.field("operand")))
    .flatten()
}

/// `["a", "b"]`, `("a", "b")`, `{"a", "b"}`: a collection of string literals only.
fn is_literal_collection(node: &SyntaxNode<'_>) -> bool {
    matches!(node.kind().as_ref(), "list" | "tuple" | "set" | "array")
        && node
            .children()
            .filter(SyntaxNode::is_named)
            .all(|element| literal_text(&element).is_some())
}

/// The text of a string literal without interpolation (`"a"`, `'a'`, `r"a"`, a template literal without `${}`,
/// a Go string), or `None` for anything else.
fn literal_text(node: &SyntaxNode<'_>) -> Option<String> {
    if !matches!(
        node.kind().as_ref(),
        "string" | "template_string" | "interpreted_string_literal" | "raw_string_literal"
    ) {
        return None;
    }
    let (lead, interpolated) = string_lead(node);
    (!interpolated).then_some(lead)
}

/// A string literal's text up to its first interpolation, and whether it has one.
fn string_lead(node: &SyntaxNode<'_>) -> (String, bool) {
    let mut lead = String::new();
    let mut content = false;
    for child in node.children() {
        match child.kind().as_ref() {
            "interpolation" | "template_substitution" => return (lead, true),
            "string_content"
            | "string_fragment"
            | "escape_sequence"
            | "interpreted_string_literal_content" => {
                content = true;
                lead.push_str(&child.text());
            }
            _ => {}
        }
    }
    if !content {
        // A grammar that keeps no content node: the text between the quotes.
        let text = node.text();
        let text = text.trim_start_matches(|c: char| c.is_ascii_alphabetic());
        text.trim_matches(|c| c == '"' || c == '\'' || c == '`')
            .clone_into(&mut lead);
    }
    (lead, false)
}

/// Whether a string that starts with `prefix` has its start fixed whatever follows: a URL with its host
/// (`https://api.example.com/`), a path (`/books/`, not `/` or `//`), or a relative reference (`books/`,
/// `?page=`). `""`, `https://`, `http` and `/` leave the host to what follows.
fn fixes_start(prefix: &str) -> bool {
    let scheme_end = prefix.find(':').filter(|&end| {
        end > 0
            && prefix[..end]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
    });
    if let Some(end) = scheme_end {
        let rest = &prefix[end + 1..];
        return match rest.strip_prefix("//") {
            Some(authority) => authority
                .char_indices()
                .any(|(at, c)| at > 0 && matches!(c, '/' | '?' | '#')),
            None => !"//".starts_with(rest),
        };
    }
    let mut chars = prefix.chars();
    match chars.next() {
        None => false,
        Some('/' | '\\') => chars.next().is_some_and(|c| c != '/' && c != '\\'),
        Some(_) => {
            let lower = prefix.to_ascii_lowercase();
            !("https://".starts_with(&lower) || "http://".starts_with(&lower))
        }
    }
}

/// An endpoint's name as URL builders take it: `index`, `.edit`, `admin.index_view` (no `/` or `:`).
fn is_endpoint(text: &str) -> bool {
    let name = text.strip_prefix('.').unwrap_or(text);
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// `a + b + c` as `[a, b, c]`.
fn plus_operands<'r>(node: &SyntaxNode<'r>, into: &mut Vec<SyntaxNode<'r>>) {
    let is_plus = matches!(
        node.kind().as_ref(),
        "binary_expression" | "binary_operator"
    ) && node
        .field("operator")
        .is_some_and(|operator| operator.text() == "+");
    match (is_plus, node.field("left"), node.field("right")) {
        (true, Some(left), Some(right)) => {
            plus_operands(&left, into);
            plus_operands(&right, into);
        }
        _ => into.push(node.clone()),
    }
}

fn with(mut flow: Vec<Step>, step: Step) -> Vec<Step> {
    flow.push(step);
    flow
}

/// Keeps the source and the steps nearest the sink.
fn shorten(mut flow: Vec<Step>) -> Vec<Step> {
    if flow.len() > MAX_STEPS {
        flow.drain(1..flow.len() - (MAX_STEPS - 1));
    }
    flow
}

fn step_for(node: &SyntaxNode<'_>) -> Step {
    let range = node.range();
    Step {
        label: label(&node.text()),
        start: range.start,
        end: range.end,
    }
}

/// What a sink is called in a flow: the function of a call (`cursor.execute`), or the node's text.
fn callee(node: &SyntaxNode<'_>) -> String {
    node.field("function")
        .or_else(|| node.field("constructor"))
        .or_else(|| node.field("left"))
        .map_or_else(
            || node.text().into_owned(),
            |function| function.text().into_owned(),
        )
}

/// A step's name on one line, whole: it is clipped by [`clip_label`] only after secrets are masked, so that no
/// clipped secret escapes the mask.
fn label(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A label short enough to read in a flow line.
pub(crate) fn clip_label(label: &mut String) {
    if label.chars().count() > LABEL_CHARS {
        let mut cut: String = label.chars().take(LABEL_CHARS - 1).collect();
        cut.push('…');
        *label = cut;
    }
}

/// Parameters of a Python web handler: Flask and `FastAPI` route decorators (`@app.route`, `@router.get`, ...)
/// and Django views (a module-level function in `views.py` or a `views/` package taking `request` first; their
/// defaulted parameters come from the `URLconf`). `self`, `cls`, `request` itself and `FastAPI` dependencies (`= Depends(...)`) are left out.
fn handler_parameters(
    function: &SyntaxNode<'_>,
    language: Language,
    path: &str,
    segments_are_safe: bool,
) -> State {
    let mut state = State::new();
    if is_javascript_like(language) {
        return express_request_fields(function);
    }
    if language == Language::Go {
        return go_request_fields(function);
    }
    if language != Language::Python || function.kind() != "function_definition" {
        return state;
    }
    let decorated = function
        .parent()
        .filter(|parent| parent.kind() == "decorated_definition");
    // `@app.route(...)`, `@router.get(...)`: the decorator's own call, not one among its arguments
    // (`@click.option(default=os.environ.get(...))` is a command-line option).
    let routed = is_tornado_handler(function)
        || decorated.as_ref().is_some_and(|decorated| {
            decorated
                .children()
                .filter(|child| child.kind() == "decorator")
                .any(|decorator| {
                    decorator
                        .children()
                        .find(SyntaxNode::is_named)
                        .filter(|call| call.kind() == "call")
                        .and_then(|call| call.field("function"))
                        .filter(|callee| callee.kind() == "attribute")
                        .and_then(|callee| callee.field("attribute"))
                        .is_some_and(|method| {
                            matches!(
                                method.text().as_ref(),
                                "route"
                                    | "get"
                                    | "post"
                                    | "put"
                                    | "patch"
                                    | "delete"
                                    | "api_route"
                                    | "websocket"
                            )
                        })
                })
        });
    let Some(parameters) = function.field("parameters") else {
        return state;
    };
    // Flask's `<int:id>`, `<uuid:key>` and `<float:x>` (`{id:int}` in FastAPI) are parsed before the view runs;
    // `<name>`, `<string:name>` and `{name}` cannot hold a `/` (`<path:name>` and `{name:path}` can).
    let converters: HashMap<String, String> = decorated
        .iter()
        .flat_map(|decorated| {
            decorated
                .children()
                .filter(|child| child.kind() == "decorator")
        })
        .flat_map(|decorator| route_converters(&decorator.text()))
        .collect();
    let parsed = |name: &str| {
        converters.get(name).is_some_and(|converter| {
            matches!(converter.as_str(), "int" | "float" | "uuid")
                || segments_are_safe && matches!(converter.as_str(), "" | "string" | "str")
        })
    };
    let names: Vec<(String, SyntaxNode<'_>, bool)> = parameters
        .children()
        .filter(SyntaxNode::is_named)
        .filter_map(|parameter| {
            let (name, dependency) = match parameter.kind().as_ref() {
                "identifier" => (parameter.clone(), false),
                // FastAPI validates a parameter annotated with a number, a UUID or a date before the handler runs.
                // A Django URL capture is a string: a parameter annotated with another class
                // (`translation: Translation`) is an object the view's caller passes.
                "typed_parameter" => (
                    parameter
                        .children()
                        .find(|child| child.kind() == "identifier")?,
                    parameter.field("type").is_some_and(|kind| {
                        let kind = kind.text();
                        parsed_type(&kind)
                            || !routed
                                && !matches!(
                                    kind.as_ref(),
                                    "str" | "Optional[str]" | "str | None" | "None | str"
                                )
                    }),
                ),
                "default_parameter" | "typed_default_parameter" => (
                    parameter.field("name")?,
                    // A Django view's defaulted parameters come from the URLconf's `kwargs`, not the URL.
                    !routed
                        || parameter.field("value").is_some_and(|value| {
                            let text = value.text();
                            text.starts_with("Depends(") || text.starts_with("Security(")
                        })
                        || parameter
                            .field("type")
                            .is_some_and(|kind| parsed_type(&kind.text())),
                ),
                _ => return None,
            };
            Some((name.text().into_owned(), name, dependency))
        })
        .collect();
    // Many helpers take `request` first; Django's views are the ones in `views.py` or a `views/` package.
    let in_views =
        path.ends_with("views.py") || path.contains("/views/") || path.starts_with("views/");
    // A view may be decorated (`@login_required`, `@api_view(["POST"])`); one the file calls itself is a helper,
    // whose arguments are its callers' (followed through its summary).
    let top_level = function
        .parent()
        .filter(|parent| parent.kind() == "decorated_definition")
        .unwrap_or_else(|| function.clone())
        .parent()
        .is_some_and(|parent| parent.kind() == "module");
    let django = !routed
        && in_views
        && top_level
        && names.first().is_some_and(|(name, _, _)| name == "request")
        && !called_in_its_file(function);
    if !routed && !django {
        return state;
    }
    for (name, node, dependency) in names {
        if dependency || parsed(&name) || matches!(name.as_str(), "self" | "cls" | "request") {
            continue;
        }
        let step = step_for(&node);
        state.insert(name, vec![step]);
    }
    state
}

/// Whether the file calls the function `function` defines (`handle_suggestions(request, ...)` from a view).
fn called_in_its_file(function: &SyntaxNode<'_>) -> bool {
    let Some(name) = function.field("name") else {
        return false;
    };
    let Some(root) = function.ancestors().last() else {
        return false;
    };
    let call = format!("{}(", name.text());
    let text = root.text();
    text.match_indices(&call).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
            && !text[..at].ends_with("def ")
    })
}

/// A Tornado handler's HTTP method (`def get(self, path)` in a class deriving from a `...Handler`): its
/// parameters are the groups of its URL pattern.
fn is_tornado_handler(function: &SyntaxNode<'_>) -> bool {
    let verb = function.field("name").is_some_and(|name| {
        matches!(
            name.text().as_ref(),
            "get" | "post" | "put" | "patch" | "delete" | "head" | "options"
        )
    });
    if !verb {
        return false;
    }
    let mut parent = function.parent();
    if parent
        .as_ref()
        .is_some_and(|parent| parent.kind() == "decorated_definition")
    {
        parent = parent.and_then(|parent| parent.parent());
    }
    parent
        .filter(|block| block.kind() == "block")
        .and_then(|block| block.parent())
        .filter(|class| class.kind() == "class_definition")
        .and_then(|class| class.field("superclasses"))
        .is_some_and(|bases| bases.text().contains("Handler"))
}

/// The placeholders of a route decorator, as `(name, converter)` (`""` for a bare name): Flask's
/// `<converter:name>` and the `{name:converter}` of `FastAPI` and Starlette.
fn route_converters(decorator: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (open, close) in [('<', '>'), ('{', '}')] {
        let mut rest = decorator;
        while let Some(at) = rest.find(open) {
            rest = &rest[at + 1..];
            let Some(end) = rest.find(close) else {
                break;
            };
            let placeholder = &rest[..end];
            let (converter, name) = match (open, placeholder.rsplit_once(':')) {
                // `<string(length=2):code>`: the converter's name without its arguments.
                ('<', Some((converter, name))) => {
                    (converter.split('(').next().unwrap_or_default(), name)
                }
                (_, Some((name, converter))) => (converter, name),
                (_, None) => ("", placeholder),
            };
            let name = name.trim();
            if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                found.push((name.to_owned(), converter.trim().to_owned()));
            }
            rest = &rest[end + 1..];
        }
    }
    found
}

/// A `FastAPI` annotation whose value is parsed and validated before the handler runs: `int`, `float`, `bool`,
/// `UUID`, `datetime`, `date`, `Decimal` (also `Optional[int]`, `int | None`).
fn parsed_type(annotation: &str) -> bool {
    let inner = annotation
        .trim()
        .trim_start_matches("Optional[")
        .trim_end_matches(']')
        .trim_end_matches(" | None")
        .trim();
    matches!(
        inner.rsplit('.').next().unwrap_or(inner),
        "int"
            | "float"
            | "bool"
            | "UUID"
            | "datetime"
            | "date"
            | "time"
            | "Decimal"
            | "PositiveInt"
    )
}

/// Go's request types and what of them the client chooses: `net/http`'s request, Gin's and Echo's contexts.
const GO_REQUEST_TYPES: [(&str, &[&str]); 3] = [
    (
        "*http.Request",
        &[
            "Header",
            "Body",
            "Form",
            "PostForm",
            "MultipartForm",
            "FormValue",
            "PostFormValue",
            "FormFile",
            "Cookie",
            "Cookies",
            "URL",
            "RequestURI",
            "Referer",
            "UserAgent",
        ],
    ),
    (
        "*gin.Context",
        &[
            "Query",
            "DefaultQuery",
            "GetQuery",
            "QueryArray",
            "QueryMap",
            "Param",
            "PostForm",
            "DefaultPostForm",
            "GetPostForm",
            "PostFormArray",
            "GetHeader",
            "Cookie",
            "FormFile",
            "GetRawData",
            "ShouldBind",
            "ShouldBindJSON",
            "BindJSON",
            "Bind",
        ],
    ),
    (
        "echo.Context",
        &[
            "QueryParam",
            "QueryParams",
            "QueryString",
            "Param",
            "ParamValues",
            "FormValue",
            "FormParams",
            "FormFile",
            "Cookie",
            "Cookies",
            "Bind",
        ],
    ),
];

/// A Go function taking a request (`r *http.Request`, `c *gin.Context`, `ctx echo.Context`), whatever its
/// parameter is called: the request's fields and methods the client chooses (`r.Header`, `c.Query`,
/// `ctx.QueryParam`) are sources. `c.Request` is followed to its fields through the `*http.Request` ones.
fn go_request_fields(function: &SyntaxNode<'_>) -> State {
    let mut state = State::new();
    let Some(parameters) = function.field("parameters") else {
        return state;
    };
    for parameter in parameters
        .children()
        .filter(|parameter| parameter.kind() == "parameter_declaration")
    {
        let Some(kind) = parameter.field("type") else {
            continue;
        };
        let kind = kind.text();
        let Some((_, fields)) = GO_REQUEST_TYPES
            .iter()
            .find(|(request, _)| *request == kind.as_ref())
        else {
            continue;
        };
        for name in parameter.field_children("name") {
            let range = name.range();
            let mut add = |key: String| {
                state.insert(
                    key.clone(),
                    vec![Step {
                        label: key,
                        start: range.start,
                        end: range.end,
                    }],
                );
            };
            for field in *fields {
                add(format!("{}.{field}", name.text()));
            }
            // Gin's and Echo's underlying request.
            if kind != "*http.Request" {
                for field in GO_REQUEST_TYPES[0].1 {
                    add(format!("{}.Request.{field}", name.text()));
                }
            }
        }
    }
    state
}

/// An Express-style route handler (the last argument of `app.get(path, ...)`, `router.post`, `app.use`, ...,
/// taking the request and the response): the request's `query`, `params`, `body`, `cookies` and `headers`,
/// whatever the parameter is called. The request itself is not tainted: `req.user` and `req.method` are not
/// the client's to choose.
fn express_request_fields(function: &SyntaxNode<'_>) -> State {
    let mut state = State::new();
    let Some(call) = function
        .parent()
        .filter(|parent| parent.kind() == "arguments")
        .and_then(|arguments| arguments.parent())
        .filter(|call| call.kind() == "call_expression")
    else {
        return state;
    };
    let routes = call
        .field("function")
        .filter(|callee| callee.kind() == "member_expression")
        .and_then(|callee| callee.field("property"))
        .is_some_and(|method| {
            matches!(
                method.text().as_ref(),
                "get" | "post" | "put" | "patch" | "delete" | "all" | "use" | "head" | "options"
            )
        });
    let parameters: Vec<SyntaxNode<'_>> = match function.field("parameters") {
        Some(parameters) => parameters.children().filter(SyntaxNode::is_named).collect(),
        // `ctx => ...`
        None => function.field("parameter").into_iter().collect(),
    };
    if !routes || parameters.is_empty() || parameters[0].kind() != "identifier" {
        return state;
    }
    let request = parameters[0].text().into_owned();
    // Koa's middleware takes the context and `next` (or the context alone): its `body` is the response's, the
    // client's body is `ctx.request.body`.
    let koa = match parameters.as_slice() {
        [_, next] => next.text() == "next",
        [only] => matches!(only.text().as_ref(), "ctx" | "context"),
        _ => false,
    };
    let fields: &[&str] = if koa {
        &[
            "query",
            "params",
            "request",
            "headers",
            "cookies",
            "querystring",
        ]
    } else if parameters.len() >= 2 {
        &["query", "params", "body", "cookies", "headers"]
    } else {
        return state;
    };
    for field in fields {
        state.insert(
            format!("{request}.{field}"),
            vec![Step {
                label: format!("{request}.{field}"),
                start: parameters[0].range().start,
                end: parameters[0].range().end,
            }],
        );
    }
    state
}

#[cfg(test)]
mod tests {
    use super::source_texts;

    #[test]
    fn each_source_entry_names_text_its_matches_contain() {
        let sources = serde_json::json!({"any": [
            {"pattern": "request.args"},
            {"pattern": "request.get_json($$$)"},
            {"pattern": {"context": "func _() { $R.URL.Query() }", "selector": "call_expression"}},
            {"pattern": "$R.FormValue($$$)"},
        ]});
        assert_eq!(
            source_texts(&sources).unwrap(),
            [
                "request.args",
                "request.get_json",
                ".URL.Query",
                ".FormValue"
            ]
        );
        // An entry without literal text (only a kind) means no file can be skipped on its text.
        let sources =
            serde_json::json!({"any": [{"pattern": "request.args"}, {"kind": "identifier"}]});
        assert!(source_texts(&sources).is_none());
    }
}
