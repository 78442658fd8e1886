//! Function summaries: what a function of the same file does with the taint of each parameter, so that a call to
//! it is followed instead of guessed at.
//!
//! For each parameter in turn the function's body is interpreted with only that parameter tainted, and the
//! summary records whether the taint reaches a returned value (`def clean(v): return v.strip()` carries it,
//! `def count(v): return len(v)` does not), a sink inside the function (`def run(cmd): os.system(cmd)`), or a
//! check (`def safe_path(p): check_access(BASE, p); ...`, after which the caller's argument is clean). A function
//! that returns a source's data (`def page(): return request.args["page"]`) taints what its callers assign.
//!
//! Summaries are computed on demand, once per function and rule, only when a call gives the function tainted
//! data (or the function holds a source). A call that cannot be matched to one function of the file (a method of
//! another object, a name defined twice, `*args` at the call, recursion) keeps the analysis's general rule: a
//! call's result carries its arguments' taint.

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::{Hit, Language, Step, SyntaxNode, is_function, is_javascript_like};

/// Functions of a summary's slot count above this are not summarized (calls to them are guessed at).
const MAX_SLOTS: usize = 12;
/// Nor are bodies longer than this, in bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// A function of the file that calls can name.
pub(super) struct Function<'r> {
    pub(super) node: SyntaxNode<'r>,
    name: String,
    /// A method, called through `self.`/`cls.`/`this.` (Python, JavaScript) or a receiver (Go).
    method: bool,
    /// A Python method whose first parameter (`self`, `cls`) the call does not pass.
    skips_first: bool,
}

/// One parameter: the node that receives the argument, and its name for keyword arguments.
pub(super) struct Parameter<'r> {
    pub(super) target: SyntaxNode<'r>,
    name: Option<String>,
    /// `*args` (takes the positional arguments from here on), `**kwargs` (unnamed keywords), `...rest`.
    rest: Rest,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rest {
    No,
    Positional,
    Keywords,
}

/// A call's arguments, each with the index of the parameter it goes to.
pub(super) type Arguments<'c> = Vec<(usize, SyntaxNode<'c>)>;

/// What a function does with each parameter's taint, for one rule.
#[derive(Default)]
pub(super) struct Summary {
    /// Per parameter: the flow inside the function from the parameter to a returned value.
    pub(super) returns: Vec<Option<Vec<Step>>>,
    /// Per parameter: whether a returned value starts with it (`return p` does, `return BASE + p` does not), for
    /// rules that track where a URL's host comes from.
    pub(super) returns_start: Vec<bool>,
    /// Per parameter: the sinks inside the function it reaches, with the flow from the parameter.
    pub(super) sinks: Vec<Vec<Hit>>,
    /// Per parameter: whether the function checks it with a sanitizer (and so must raise or return early when
    /// the check fails).
    pub(super) checks: Vec<bool>,
    /// The flow of a source's data the function returns whatever it is given.
    pub(super) returns_source: Option<Vec<Step>>,
    /// Whether what it returns of a source's data starts with it (`return request.args["next"]`, not
    /// `return url_concat(BASE, {"next": ...})`).
    pub(super) returns_source_start: bool,
}

/// The file's named functions and their summaries for one rule. Everything is worked out on first use: most
/// files hold no source, and their functions are never looked at.
pub(super) struct Functions<'a, 'r> {
    all: &'a [SyntaxNode<'r>],
    language: Language,
    sink_texts: Option<&'a [String]>,
    sources: &'a [std::ops::Range<usize>],
    named: OnceCell<HashMap<String, Vec<Function<'r>>>>,
    /// By the function's start byte; `None` while it is being summarized (a recursive call is guessed at).
    summaries: RefCell<HashMap<usize, Option<Rc<Summary>>>>,
    /// Names of the functions that hold a sink's text or call one that does.
    sink_callers: OnceCell<HashSet<String>>,
    /// Names of the functions that hold a source or call one that does.
    source_callers: OnceCell<HashSet<String>>,
}

impl<'a, 'r> Functions<'a, 'r> {
    /// The functions of `all` (every function node of the file), for a rule with `sink_texts` whose sources are
    /// at `sources`.
    pub(super) fn new(
        all: &'a [SyntaxNode<'r>],
        language: Language,
        sink_texts: Option<&'a [String]>,
        sources: &'a [std::ops::Range<usize>],
    ) -> Functions<'a, 'r> {
        Functions {
            all,
            language,
            sink_texts,
            sources,
            named: OnceCell::new(),
            summaries: RefCell::new(HashMap::new()),
            sink_callers: OnceCell::new(),
            source_callers: OnceCell::new(),
        }
    }

    /// The functions by the names calls use.
    fn named(&self) -> &HashMap<String, Vec<Function<'r>>> {
        self.named.get_or_init(|| {
            let mut named: HashMap<String, Vec<Function<'r>>> = HashMap::new();
            for node in self.all {
                if let Some((name, function)) = named_function(node, self.language) {
                    named.entry(name).or_default().push(function);
                }
            }
            named
        })
    }

    /// Functions that may reach a sink: their text holds a sink's, or they call such a function.
    fn sink_callers(&self) -> &HashSet<String> {
        self.sink_callers.get_or_init(|| {
            closure(self.named(), |node| {
                let text = node.text();
                self.sink_texts
                    .is_none_or(|texts| texts.iter().any(|sink| text.contains(sink.as_str())))
            })
        })
    }

    /// Functions that may return a source's data: they hold a source, or call such a function.
    fn source_callers(&self) -> &HashSet<String> {
        self.source_callers.get_or_init(|| {
            closure(self.named(), |node| {
                let range = node.range();
                self.sources
                    .iter()
                    .any(|source| range.start <= source.start && source.end <= range.end)
            })
        })
    }

    /// Whether `text` calls a function of the file that holds a source or calls one that does.
    pub(super) fn calls_a_source(&self, text: &str) -> bool {
        !self.sources.is_empty() && calls_any(text, self.source_callers())
    }

    /// Whether `function` holds a source or calls a function that does.
    pub(super) fn may_return_a_source(&self, function: &Function<'_>) -> bool {
        !self.sources.is_empty() && self.source_callers().contains(&function.name)
    }

    /// Whether `function` holds a sink's text or calls a function that does.
    pub(super) fn may_reach_a_sink(&self, function: &Function<'_>) -> bool {
        self.sink_callers().contains(&function.name)
    }

    /// Whether `text` calls a function of the file that may reach a sink.
    pub(super) fn calls_a_sink(&self, text: &str) -> bool {
        calls_any(text, self.sink_callers())
    }

    /// The one function of the file `call` names, and how its arguments map to the function's parameters.
    pub(super) fn resolve<'c>(
        &self,
        call: &SyntaxNode<'c>,
        language: Language,
    ) -> Option<(&Function<'r>, Arguments<'c>)> {
        let function = call.field("function")?;
        let (name, method) = match function.kind().as_ref() {
            "identifier" => (function.text().into_owned(), false),
            "attribute" | "member_expression" | "selector_expression" => {
                let object = function
                    .field("object")
                    .or_else(|| function.field("operand"))?;
                let name = function
                    .field("attribute")
                    .or_else(|| function.field("property"))
                    .or_else(|| function.field("field"))?;
                let through_self = match language {
                    Language::Python => matches!(object.text().as_ref(), "self" | "cls"),
                    Language::Go => true,
                    _ => object.text() == "this",
                };
                // `exports.toBSON(doc)`: a function the module exports, called through its exports.
                if is_javascript_like(language)
                    && matches!(object.text().as_ref(), "exports" | "module.exports")
                {
                    (name.text().into_owned(), false)
                } else if through_self {
                    (name.text().into_owned(), true)
                } else {
                    return None;
                }
            }
            _ => return None,
        };
        let candidates = self.named().get(&name)?;
        let mut matching = candidates
            .iter()
            .filter(|candidate| candidate.method == method);
        let found = matching.next()?;
        if matching.next().is_some() {
            return None;
        }
        Some((found, map_arguments(call, found, language)?))
    }

    /// The summary of `function`, computed with `summarize` the first time; `None` while it is being computed
    /// (a recursive call) or when the function is too large to follow.
    pub(super) fn summary(
        &self,
        function: &Function<'r>,
        summarize: impl FnOnce(&Function<'r>) -> Option<Summary>,
    ) -> Option<Rc<Summary>> {
        let key = function.node.range().start;
        if let Some(known) = self.summaries.borrow().get(&key) {
            return known.clone();
        }
        self.summaries.borrow_mut().insert(key, None);
        let summary = summarize(function).map(Rc::new);
        self.summaries.borrow_mut().insert(key, summary.clone());
        summary
    }
}

/// Which parameter each argument of `call` goes to; `None` when that cannot be known (`*args`, `...rest`).
fn map_arguments<'c>(
    call: &SyntaxNode<'c>,
    function: &Function<'_>,
    language: Language,
) -> Option<Arguments<'c>> {
    let parameters = parameters(&function.node, language)?;
    let skip = usize::from(function.skips_first);
    let arguments = call.field("arguments")?;
    let mut mapped = Vec::new();
    let mut position = skip;
    for argument in arguments.children().filter(SyntaxNode::is_named) {
        match argument.kind().as_ref() {
            "comment" => {}
            "list_splat" | "dictionary_splat" | "spread_element" | "variadic_argument" => {
                return None;
            }
            "keyword_argument" => {
                let name = argument.field("name")?.text().into_owned();
                let slot = parameters
                    .iter()
                    .position(|parameter| parameter.name.as_deref() == Some(name.as_str()))
                    .or_else(|| {
                        parameters
                            .iter()
                            .position(|parameter| parameter.rest == Rest::Keywords)
                    });
                if let (Some(slot), Some(value)) = (slot, argument.field("value")) {
                    mapped.push((slot, value));
                }
            }
            _ => {
                let slot = if position < parameters.len() && parameters[position].rest == Rest::No {
                    position
                } else {
                    parameters
                        .iter()
                        .position(|parameter| parameter.rest == Rest::Positional)?
                };
                mapped.push((slot, argument));
                position += 1;
            }
        }
    }
    Some(mapped)
}

/// The names of the functions `direct` holds for, and of those calling them, to a fixed point (a name called as
/// `name(` or `.name(`).
fn closure<'r>(
    named: &HashMap<String, Vec<Function<'r>>>,
    direct: impl Fn(&SyntaxNode<'r>) -> bool,
) -> HashSet<String> {
    let mut found: HashSet<String> = named
        .iter()
        .filter(|(_, functions)| functions.iter().any(|function| direct(&function.node)))
        .map(|(name, _)| name.clone())
        .collect();
    loop {
        let before = found.len();
        for (name, functions) in named {
            if !found.contains(name)
                && functions
                    .iter()
                    .any(|function| calls_any(&function.node.text(), &found))
            {
                found.insert(name.clone());
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

/// Whether `text` calls one of `names` (`name(` or `.name(`, not `other_name(`).
fn calls_any(text: &str, names: &HashSet<String>) -> bool {
    if names.is_empty() {
        return false;
    }
    let bytes = text.as_bytes();
    let mut start = None;
    for (index, &byte) in bytes.iter().enumerate() {
        let word = byte.is_ascii_alphanumeric() || byte == b'_';
        match (word, start) {
            (true, None) => start = Some(index),
            (false, Some(from)) => {
                if byte == b'(' && names.contains(&text[from..index]) {
                    return true;
                }
                start = None;
            }
            _ => {}
        }
    }
    false
}

/// A function calls can name: its name, and whether it is a method.
fn named_function<'r>(node: &SyntaxNode<'r>, language: Language) -> Option<(String, Function<'r>)> {
    let kind = node.kind();
    let (name, method) = match kind.as_ref() {
        "function_definition" => {
            let name = node.field("name")?;
            // A method's parent is the class body (through its decorators).
            let mut parent = node.parent()?;
            if parent.kind() == "decorated_definition" {
                parent = parent.parent()?;
            }
            let in_class = parent.kind() == "block"
                && parent
                    .parent()
                    .is_some_and(|class| class.kind() == "class_definition");
            (name, in_class)
        }
        "function_declaration" | "generator_function_declaration" => (node.field("name")?, false),
        "method_definition" | "method_declaration" => (node.field("name")?, true),
        "arrow_function" | "function_expression" | "function" => {
            let parent = node.parent()?;
            let name = match parent.kind().as_ref() {
                "variable_declarator" => parent.field("name")?,
                // `exports.toBSON = function (string) {...}`, `module.exports.run = ...`.
                "assignment_expression" => {
                    let left = parent.field("left")?;
                    let object = left.field("object")?;
                    if left.kind() != "member_expression"
                        || !matches!(object.text().as_ref(), "exports" | "module.exports")
                    {
                        return None;
                    }
                    left.field("property")?
                }
                _ => return None,
            };
            if name.kind() != "identifier" && name.kind() != "property_identifier" {
                return None;
            }
            (name, false)
        }
        _ => return None,
    };
    let skips_first = language == Language::Python
        && method
        && !decorators_of(node)
            .iter()
            .any(|text| text.contains("staticmethod"));
    Some((
        name.text().into_owned(),
        Function {
            node: node.clone(),
            name: name.text().into_owned(),
            method,
            skips_first,
        },
    ))
}

fn decorators_of(node: &SyntaxNode<'_>) -> Vec<String> {
    node.parent()
        .filter(|parent| parent.kind() == "decorated_definition")
        .map(|parent| {
            parent
                .children()
                .filter(|child| child.kind() == "decorator")
                .map(|decorator| decorator.text().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `*args`, `**kwargs`, `...rest`: the parameter that takes the remaining positional or keyword arguments.
fn splat<'r>(pattern: &SyntaxNode<'r>) -> Option<Parameter<'r>> {
    let rest = if pattern.kind() == "dictionary_splat_pattern" {
        Rest::Keywords
    } else {
        Rest::Positional
    };
    Some(Parameter {
        name: None,
        target: pattern.children().find(SyntaxNode::is_named)?,
        rest,
    })
}

/// The parameters of `function` in order, or `None` when it has too many to summarize.
pub(super) fn parameters<'r>(
    function: &SyntaxNode<'r>,
    language: Language,
) -> Option<Vec<Parameter<'r>>> {
    let list = function.field("parameters")?;
    let mut found = Vec::new();
    for parameter in list.children().filter(SyntaxNode::is_named) {
        let kind = parameter.kind();
        match kind.as_ref() {
            "comment" | "keyword_separator" | "positional_separator" => {}
            // Go: `a, b string` is two parameters.
            "parameter_declaration" | "variadic_parameter_declaration" => {
                let rest = if kind == "variadic_parameter_declaration" {
                    Rest::Positional
                } else {
                    Rest::No
                };
                let names: Vec<SyntaxNode<'r>> = parameter.field_children("name").collect();
                if names.is_empty() {
                    // An unnamed parameter still takes an argument.
                    found.push(Parameter {
                        target: parameter.clone(),
                        name: None,
                        rest,
                    });
                }
                for name in names {
                    found.push(Parameter {
                        name: Some(name.text().into_owned()),
                        target: name,
                        rest,
                    });
                }
            }
            "list_splat_pattern" | "dictionary_splat_pattern" | "rest_pattern" => {
                found.push(splat(&parameter)?);
            }
            _ => {
                let target = match kind.as_ref() {
                    "identifier" | "object_pattern" | "array_pattern" => parameter.clone(),
                    "typed_parameter" => {
                        let inner = parameter.children().find(SyntaxNode::is_named)?;
                        if matches!(
                            inner.kind().as_ref(),
                            "list_splat_pattern" | "dictionary_splat_pattern"
                        ) {
                            found.push(splat(&inner)?);
                            continue;
                        }
                        inner
                    }
                    "default_parameter" | "typed_default_parameter" => parameter.field("name")?,
                    "assignment_pattern" => parameter.field("left")?,
                    "required_parameter" | "optional_parameter" => parameter.field("pattern")?,
                    _ => return None,
                };
                let name = (target.kind() == "identifier").then(|| target.text().into_owned());
                found.push(Parameter {
                    target,
                    name,
                    rest: Rest::No,
                });
            }
        }
    }
    // An arrow function's single bare parameter (`x => x.trim()`).
    if found.is_empty()
        && is_javascript_like(language)
        && let Some(parameter) = function.field("parameter")
    {
        found.push(Parameter {
            name: Some(parameter.text().into_owned()),
            target: parameter,
            rest: Rest::No,
        });
    }
    let body = function.field("body")?;
    if found.len() > MAX_SLOTS || body.text().len() > MAX_BODY_BYTES || !is_function(function) {
        return None;
    }
    Some(found)
}
