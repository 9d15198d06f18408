//! Fixture tests of the built-in catalog: for each rule a before/after
//! fixture, text it must leave alone, and a match nested in another match,
//! checked after one round and at the fixpoint.

use ropey::Rope;

use super::RuleSet;
use crate::merge::Group;
use crate::syntax::{error_ranges, Language};

/// Rounds after which `fixpoint` gives up; the fixtures need at most three.
const MAX_ROUNDS: usize = 10;

/// Collects every group the built-in rules propose for `text`, with the
/// rule's id, or only rule `only`'s groups when it is given.
fn proposals(text: &str, only: Option<&str>) -> Vec<(String, Group)> {
    let rules = RuleSet::builtin();
    if let Some(id) = only {
        assert!(rules.get(id).is_some(), "no built-in rule {id:?}");
    }
    let matcher = rules.matcher(Language::Rust).unwrap();
    let rope = Rope::from_str(text);
    let tree = Language::Rust.parse_rope(&rope, None).unwrap();
    let mut out = Vec::new();
    for (index, matches) in matcher.find(&tree, &rope, None).into_iter().enumerate() {
        let id = &rules.rules()[index].id;
        if only.is_some_and(|only| only != id) {
            continue;
        }
        for found in &matches {
            let group = matcher.render(index, found, &rope).unwrap();
            out.push((id.clone(), group));
        }
    }
    out
}

/// Applies the groups outermost first (earliest start, then longest),
/// skipping every group that overlaps one already accepted, as one merge round
/// without priorities would.
fn apply_round(text: &str, mut groups: Vec<(String, Group)>) -> String {
    groups.sort_by_key(|(_, group)| {
        let span = group.span();
        (span.start, std::cmp::Reverse(span.end))
    });
    let mut accepted: Vec<Group> = Vec::new();
    for (_, group) in groups {
        let span = group.span();
        let overlaps = accepted.iter().any(|other| {
            let other = other.span();
            span.start < other.end && other.start < span.end
        });
        if !overlaps {
            accepted.push(group);
        }
    }
    let mut out = text.to_owned();
    for group in accepted.iter().rev() {
        for hunk in group.hunks().iter().rev() {
            out.replace_range(hunk.range.clone(), &hunk.text);
        }
    }
    out
}

fn assert_parses(text: &str) {
    let tree = Language::Rust.parse_str(text).unwrap();
    assert!(
        error_ranges(&tree).is_empty(),
        "the result has syntax errors:\n{text}"
    );
}

/// Checks that one round of rule `id` alone turns `before` into `after`.
fn check(id: &str, before: &str, after: &str) {
    let result = apply_round(before, proposals(before, Some(id)));
    assert_eq!(result, after, "rule {id}");
    assert_parses(&result);
}

/// Checks that rule `id` proposes nothing for `text`.
fn no_match(id: &str, text: &str) {
    let groups = proposals(text, Some(id));
    assert!(groups.is_empty(), "rule {id} matched: {groups:?}");
}

/// Checks that one round of all built-in rules turns `before` into `after`.
fn check_round(before: &str, after: &str) {
    assert_eq!(apply_round(before, proposals(before, None)), after);
}

/// Runs rounds of all built-in rules (or only `only`) until nothing changes.
fn fixpoint(before: &str, only: Option<&str>) -> String {
    let mut text = before.to_owned();
    for _ in 0..MAX_ROUNDS {
        let next = apply_round(&text, proposals(&text, only));
        if next == text {
            return text;
        }
        text = next;
    }
    panic!("no fixpoint after {MAX_ROUNDS} rounds, last text:\n{text}");
}

fn check_fixpoint(before: &str, after: &str) {
    let result = fixpoint(before, None);
    assert_eq!(result, after);
    assert_parses(&result);
}

#[test]
fn catalog_loads_with_unique_ids() {
    let rules = RuleSet::builtin();
    let ids: Vec<&str> = rules.rules().iter().map(|rule| rule.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "try-macro",
            "inclusive-range-pattern",
            "redundant-field-names",
            "redundant-static-lifetimes",
            "unused-unit",
            "needless-return",
            "println-empty-string",
            "useless-format",
            "bool-comparison",
            "mem-take",
            "filter-next",
            "unwrap-or-default",
            "len-zero",
            "chars-next-cmp",
            "expect-fun-call",
        ]
    );
    for (position, rule) in rules.rules().iter().enumerate() {
        assert_eq!(rule.priority, position as i64, "{}", rule.id);
        assert!(rule.is_builtin());
    }
}

#[test]
fn catalog_passes_query_checks() {
    // `RuleSet::builtin` skips compiling each query alone; this checks
    // what that would have checked.
    let checked = super::load::parse(super::BUILTIN_TOML, &super::RuleSource::Builtin)
        .unwrap_or_else(|error| panic!("the built-in catalog fails its checks: {error}"));
    let trusted = RuleSet::builtin();
    assert_eq!(checked.rules.len(), trusted.rules().len());
    for (checked, trusted) in checked.rules.iter().zip(trusted.rules()) {
        assert_eq!(checked.id, trusted.id);
        let queries = |rule: &super::Rule| -> Vec<String> {
            rule.cases()
                .iter()
                .map(|case| {
                    format!(
                        "{:?} {:?} {:?}",
                        case.query(),
                        case.within(),
                        case.not_within()
                    )
                })
                .collect()
        };
        assert_eq!(queries(checked), queries(trusted), "{}", checked.id);
    }
}

#[test]
fn only_expect_fun_call_needs_confirm() {
    // Its `|| panic!(..)` does not compile for `Result`, whose closure
    // takes the error, and the rules cannot see types.
    let rules = RuleSet::builtin();
    let confirm: Vec<&str> = rules
        .rules()
        .iter()
        .filter(|rule| rule.confirm)
        .map(|rule| rule.id.as_str())
        .collect();
    assert_eq!(confirm, ["expect-fun-call"]);
}

#[test]
fn tab_indented_multi_line_operands() {
    check(
        "try-macro",
        "fn f() -> Result<(), E> {\n\tlet x = try!(\n\t\tfoo(\n\t\t\ta,\n\t\t)\n\t);\n}\n",
        "fn f() -> Result<(), E> {\n\tlet x = foo(\n\t\ta,\n\t)?;\n}\n",
    );
    check(
        "needless-return",
        "fn f() -> P {\n\treturn P {\n\t\tx: 1,\n\t};\n}\n",
        "fn f() -> P {\n\tP {\n\t\tx: 1,\n\t}\n}\n",
    );
}

#[test]
fn catalog_examples_rewrite_as_documented() {
    for rule in RuleSet::builtin().rules() {
        let before = rule.example_before.as_deref().expect("example_before");
        let after = rule.example_after.as_deref().expect("example_after");
        assert_eq!(fixpoint(before, Some(&rule.id)), after, "rule {}", rule.id);
        assert_parses(after);
        let explained = rule.explain();
        assert!(explained.contains(&rule.message), "{explained}");
        assert!(explained.contains("Before:"), "{explained}");
    }
}

#[test]
fn try_macro_fixture() {
    check(
        "try-macro",
        "fn f() -> R {\n    let a = r#try!(open(path));\n    let b = r#try!(*reference);\n    \
         r#try!(a.b(c, d));\n    let s = r#try!(x + y);\n    Ok(())\n}\n",
        "fn f() -> R {\n    let a = open(path)?;\n    let b = (*reference)?;\n    \
         a.b(c, d)?;\n    let s = (x + y)?;\n    Ok(())\n}\n",
    );
}

#[test]
fn needless_return_keeps_statement_whole() {
    check(
        "needless-return",
        "fn a(n: i32) -> i64 {\n    return match n { _ => 1 } as i64;\n}\n\
         fn b(n: i32) -> i32 {\n    return { n } - 1;\n}\n\
         fn c(n: i32) -> i32 {\n    return match n { _ => 1 };\n}\n",
        "fn a(n: i32) -> i64 {\n    (match n { _ => 1 } as i64)\n}\n\
         fn b(n: i32) -> i32 {\n    ({ n } - 1)\n}\n\
         fn c(n: i32) -> i32 {\n    match n { _ => 1 }\n}\n",
    );
}

#[test]
fn try_macro_trailing_comma() {
    check(
        "try-macro",
        "fn f() -> R {\n    let q = r#try!(a,);\n    let r = r#try!(g(h,),);\n    Ok(q)\n}\n",
        "fn f() -> R {\n    let q = a?;\n    let r = g(h,)?;\n    Ok(q)\n}\n",
    );
}

#[test]
fn try_macro_2015_fixture() {
    let result = apply_round(
        "fn f() {\n    let x = try!(foo(a, b));\n    f(try!(x), 1);\n    try!(a).b();\n    \
         let y = try!(*r) + 1;\n}\n",
        proposals(
            "fn f() {\n    let x = try!(foo(a, b));\n    f(try!(x), 1);\n    try!(a).b();\n    \
             let y = try!(*r) + 1;\n}\n",
            Some("try-macro"),
        ),
    );
    assert_eq!(
        result,
        "fn f() {\n    let x = foo(a, b)?;\n    f(x?, 1);\n    a?.b();\n    let y = (*r)? + 1;\n}\n"
    );
    assert_parses(&result);
}

#[test]
fn try_macro_no_match() {
    no_match("try-macro", "fn f() { my_try!(x); r#try(x); x?; }");
}

#[test]
fn try_macro_nested() {
    // Macro arguments are tokens, so filter-next matches the inner chain only
    // after try-macro has turned it back into an expression.
    let before = "fn f() -> R { let x = r#try!(v.iter().filter(p).next().ok_or(e)); x }";
    check_round(
        before,
        "fn f() -> R { let x = v.iter().filter(p).next().ok_or(e)?; x }",
    );
    check_fixpoint(
        before,
        "fn f() -> R { let x = v.iter().find(p).ok_or(e)?; x }",
    );
}

#[test]
fn inclusive_range_pattern_fixture() {
    check(
        "inclusive-range-pattern",
        "fn f(c: char) { match c { 'a'...'z' => {} '0' ... '9' => {} _ => {} } if let 1...5 = n {} }",
        "fn f(c: char) { match c { 'a'..='z' => {} '0' ..= '9' => {} _ => {} } if let 1..=5 = n {} }",
    );
}

#[test]
fn inclusive_range_pattern_no_match() {
    no_match(
        "inclusive-range-pattern",
        "fn f(c: char) { let r = 1..=5; let s = ..2; match c { 'a'..='z' => {} _ => {} } }",
    );
}

#[test]
fn inclusive_range_pattern_nested() {
    let before = "fn f(x: u8) -> u8 {\n    return match x { 0...9 => 1, _ => 2 };\n}\n";
    check_round(
        before,
        "fn f(x: u8) -> u8 {\n    match x { 0...9 => 1, _ => 2 }\n}\n",
    );
    check_fixpoint(
        before,
        "fn f(x: u8) -> u8 {\n    match x { 0..=9 => 1, _ => 2 }\n}\n",
    );
}

#[test]
fn redundant_field_names_fixture() {
    check(
        "redundant-field-names",
        "fn f() { let p = Point { x: x, y: y, z: 1 }; let q = Q { #[cfg(a)] r: r }; }",
        "fn f() { let p = Point { x, y, z: 1 }; let q = Q { #[cfg(a)] r }; }",
    );
}

#[test]
fn redundant_field_names_no_match() {
    no_match(
        "redundant-field-names",
        "fn f() { let p = Point { x: y, y: x }; let q = Point { x, y }; let r = P { x: self.x }; }",
    );
}

#[test]
fn redundant_field_names_nested() {
    let before = "fn f() -> S {\n    return S { a: a, inner: T { b: b } };\n}\n";
    check_round(
        before,
        "fn f() -> S {\n    S { a: a, inner: T { b: b } }\n}\n",
    );
    check_fixpoint(before, "fn f() -> S {\n    S { a, inner: T { b } }\n}\n");
}

#[test]
fn redundant_static_lifetimes_fixture() {
    check(
        "redundant-static-lifetimes",
        "const A: &'static str = \"a\";\nstatic B: &'static [u8] = b\"\";\n\
         static mut C: &'static mut [u8] = &mut [];\nconst D: Option<&'static str> = None;\n\
         fn f() { const E: (&'static str, u8) = (\"\", 1); }\n",
        "const A: &str = \"a\";\nstatic B: &[u8] = b\"\";\n\
         static mut C: &mut [u8] = &mut [];\nconst D: Option<&str> = None;\n\
         fn f() { const E: (&str, u8) = (\"\", 1); }\n",
    );
}

#[test]
fn redundant_static_lifetimes_no_match() {
    no_match(
        "redundant-static-lifetimes",
        "fn f(x: &'static str) { let y: &'static str = \"\"; }\n\
         const F: fn(&'static str) = g;\n\
         static G: &dyn Fn(&'static str) = &h;\n\
         struct S { a: &'static str }\n\
         impl S { const X: &'static str = \"\"; }\n\
         trait T { const Y: &'static str; }\n\
         const H: &str = \"\";\n",
    );
}

#[test]
fn redundant_static_lifetimes_nested() {
    let before = "const N: &'static [&'static str] = &[];\n";
    check_round(before, "const N: &[&'static str] = &[];\n");
    check_fixpoint(before, "const N: &[&str] = &[];\n");
}

#[test]
fn redundant_static_lifetimes_keeps_fn_pointer_inside() {
    // The outer reference is in the const's type; the one in the function
    // pointer's parameter elides to a higher-ranked lifetime, so it stays.
    check(
        "redundant-static-lifetimes",
        "static F: &'static fn(&'static str) = &(g as fn(&'static str));\n",
        "static F: &fn(&'static str) = &(g as fn(&'static str));\n",
    );
}

#[test]
fn unused_unit_fixture() {
    check(
        "unused-unit",
        "fn a() -> () {}\nfn b<T>() -> ()\nwhere\n    T: X,\n{\n}\ntrait T {\n    fn c(&self) -> ();\n}\n",
        "fn a() {}\nfn b<T>()\nwhere\n    T: X,\n{\n}\ntrait T {\n    fn c(&self);\n}\n",
    );
}

#[test]
fn unused_unit_no_match() {
    no_match(
        "unused-unit",
        "fn a() -> u8 { 1 }\nfn b() -> ((), ()) { ((), ()) }\nfn c() { let f: fn() -> () = a; }\n",
    );
}

#[test]
fn unused_unit_nested() {
    // The inner function's `-> ()` lies inside the outer function but not
    // inside the outer match, so one round removes both.
    let before = "fn outer() -> () {\n    fn inner() -> () {}\n}\n";
    check_round(before, "fn outer() {\n    fn inner() {}\n}\n");
    check_fixpoint(before, "fn outer() {\n    fn inner() {}\n}\n");
}

#[test]
fn needless_return_fixture() {
    check(
        "needless-return",
        "fn a() -> i32 { return 1; }\n\
         fn b() -> i32 {\n    let x = 2;\n    return x\n}\n\
         fn c() {\n    work();\n    return;\n}\n\
         fn d() -> Point {\n    return Point {\n        x: 1,\n    };\n}\n\
         fn e() { return; }\n",
        "fn a() -> i32 { 1 }\n\
         fn b() -> i32 {\n    let x = 2;\n    x\n}\n\
         fn c() {\n    work();\n}\n\
         fn d() -> Point {\n    Point {\n        x: 1,\n    }\n}\n\
         fn e() { }\n",
    );
}

#[test]
fn needless_return_no_match() {
    no_match(
        "needless-return",
        "fn a(x: bool) -> i32 { if x { return 1; } 2 }\n\
         fn b() -> i32 { return 1; // the answer\n}\n\
         fn c() { let f = || { return 1; }; }\n\
         fn d() -> i32 { 1 }\n",
    );
}

#[test]
fn needless_return_nested() {
    let before = "fn f(x: bool) -> bool {\n    return x == true;\n}\n";
    check_round(before, "fn f(x: bool) -> bool {\n    x == true\n}\n");
    check_fixpoint(before, "fn f(x: bool) -> bool {\n    x\n}\n");
}

#[test]
fn println_empty_string_fixture() {
    check(
        "println-empty-string",
        "fn f() -> R {\n    println!(\"\");\n    eprintln!(\"\");\n    std::println!(\"\");\n    \
         writeln!(w, \"\")?;\n    writeln!(self.out, \"\")\n}\n",
        "fn f() -> R {\n    println!();\n    eprintln!();\n    std::println!();\n    \
         writeln!(w)?;\n    writeln!(self.out)\n}\n",
    );
}

#[test]
fn println_empty_string_no_match() {
    no_match(
        "println-empty-string",
        "fn f() {\n    println!(\"x\");\n    println!();\n    print!(\"\");\n    \
         writeln!(w, \"{}\", \"\");\n    writeln!(w, \"a\");\n    writeln!(w, \"\",);\n}\n",
    );
}

#[test]
fn println_empty_string_nested() {
    let before = "fn f() { let x = v.iter().filter(|x| { println!(\"\"); true }).next(); }";
    check_round(
        before,
        "fn f() { let x = v.iter().find(|x| { println!(\"\"); true }); }",
    );
    check_fixpoint(
        before,
        "fn f() { let x = v.iter().find(|x| { println!(); true }); }",
    );
}

#[test]
fn useless_format_fixture() {
    check(
        "useless-format",
        "fn f() { let a = format!(\"text\"); let b = std::format!(r\"raw\"); let n = format!(\"x\").len(); }",
        "fn f() { let a = \"text\".to_string(); let b = r\"raw\".to_string(); let n = \"x\".to_string().len(); }",
    );
}

#[test]
fn useless_format_no_match() {
    no_match(
        "useless-format",
        "fn f() { format!(\"{}\", x); format!(\"{x}\"); format!(\"{{}}\"); format!(concat!(\"a\", \"b\")); format!(); print!(\"a\"); }",
    );
}

#[test]
fn useless_format_nested() {
    let before = "fn f() -> String {\n    return format!(\"x\");\n}\n";
    check_round(before, "fn f() -> String {\n    format!(\"x\")\n}\n");
    check_fixpoint(before, "fn f() -> String {\n    \"x\".to_string()\n}\n");
}

#[test]
fn bool_comparison_fixture() {
    check(
        "bool-comparison",
        "fn f() { g(a == true, b == false, c != true, d != false); \
         g(true == e, false == f, true != g, false != h); \
         g(x.y() == false, (a && b) == false, *r == false); }",
        "fn f() { g(a, !b, !c, d); g(e, !f, !g, h); g(!x.y(), !(a && b), !*r); }",
    );
}

#[test]
fn bool_comparison_no_match() {
    no_match(
        "bool-comparison",
        "fn f() { g(a == b, a == 1, a && true, !a, a = true); }",
    );
}

#[test]
fn bool_comparison_nested() {
    let before = "fn f() { if (v.len() == 0) == false {} if (a == true) == false {} }";
    check_round(
        before,
        "fn f() { if !(v.len() == 0) {} if !(a == true) {} }",
    );
    check_fixpoint(before, "fn f() { if !(v.is_empty()) {} if !(a) {} }");
}

#[test]
fn bool_comparison_binary_left_operand() {
    check(
        "bool-comparison",
        "fn f() { g(a & b == true, a | b & c != true, a ^ b | c == false, !a == false); }",
        "fn f() { g(a & b, !(a | b & c), !(a ^ b | c), !!a); }",
    );
    // NOTE: a left operand with three binary operators is not matched, as
    // the comment on the rule's cases explains.
    no_match("bool-comparison", "fn f() { g(a & b & c & d == true); }");
}

#[test]
fn bool_comparison_long_and_chain() {
    // Every operand of a 500-operand chain is rewritten, whichever side
    // the literal is on.
    let operands = 500;
    let chain = |operand: &dyn Fn(usize) -> String| {
        let parts: Vec<String> = (0..operands).map(operand).collect();
        format!("fn f() -> bool {{\n    {}\n}}\n", parts.join(" && "))
    };
    let before = chain(&|i| match i % 4 {
        0 => format!("a{i} == true"),
        1 => format!("a{i} != true"),
        2 => format!("false == a{i}"),
        _ => format!("v{i}.len() == 0"),
    });
    let after = chain(&|i| match i % 4 {
        0 => format!("a{i}"),
        1 | 2 => format!("!a{i}"),
        _ => format!("v{i}.is_empty()"),
    });
    let groups = proposals(&before, None);
    assert_eq!(groups.len(), operands);
    check_fixpoint(&before, &after);
}

#[test]
fn mem_take_fixture() {
    check(
        "mem-take",
        "fn f() { mem::replace(&mut a, Default::default()); \
         let b = std::mem::replace(&mut self.b, Vec::new()); \
         core::mem::replace(c, String::new()); }",
        "fn f() { mem::take(&mut a); let b = std::mem::take(&mut self.b); core::mem::take(c); }",
    );
}

#[test]
fn mem_take_no_match() {
    no_match(
        "mem-take",
        "fn f() { mem::replace(&mut a, Vec::with_capacity(1)); mem::replace(&mut a, b); \
         other::replace(&mut a, Vec::new()); mem::swap(&mut a, &mut Vec::new()); \
         replace(&mut a, Vec::new()); }",
    );
}

#[test]
fn mem_take_nested() {
    // filter-next replaces only `filter(p).next()`, so the receiver's
    // mem-take applies in the same round; needless-return encloses both.
    let before = "fn f() -> Option<u8> {\n    \
                  return mem::replace(&mut a, Vec::new()).into_iter().filter(p).next();\n}\n";
    check_round(
        before,
        "fn f() -> Option<u8> {\n    mem::replace(&mut a, Vec::new()).into_iter().filter(p).next()\n}\n",
    );
    check_fixpoint(
        before,
        "fn f() -> Option<u8> {\n    mem::take(&mut a).into_iter().find(p)\n}\n",
    );
    let inner = "fn f() { let x = mem::replace(&mut a, Vec::new()).into_iter().filter(p).next(); }";
    check_round(
        inner,
        "fn f() { let x = mem::take(&mut a).into_iter().find(p); }",
    );
}

#[test]
fn filter_next_fixture() {
    check(
        "filter-next",
        "fn f() {\n    let a = v.iter().filter(|x| **x > 1).next();\n    let first = values\n        \
         .iter()\n        .filter(|v| v.ok())\n        .next();\n    let b = items.filter(|item| {\n        \
         item.ready()\n    }).next();\n}\n",
        "fn f() {\n    let a = v.iter().find(|x| **x > 1);\n    let first = values\n        \
         .iter()\n        .find(|v| v.ok());\n    let b = items.find(|item| {\n        \
         item.ready()\n    });\n}\n",
    );
}

#[test]
fn filter_next_no_match() {
    no_match(
        "filter-next",
        "fn f() { v.iter().filter(p).count(); v.filter(p, q).next(); v.next(); v.filter(p).next(1); v.find(p); }",
    );
}

#[test]
fn filter_next_nested() {
    let before = "fn f() { let s = x.filter(|s| s.len() > 0).next(); }";
    check_round(before, "fn f() { let s = x.find(|s| s.len() > 0); }");
    check_fixpoint(before, "fn f() { let s = x.find(|s| !s.is_empty()); }");
}

#[test]
fn unwrap_or_default_fixture() {
    check(
        "unwrap-or-default",
        "fn f() { a.unwrap_or(Vec::new()); b.unwrap_or(String::new()); c.unwrap_or(Default::default()); }",
        "fn f() { a.unwrap_or_default(); b.unwrap_or_default(); c.unwrap_or_default(); }",
    );
}

#[test]
fn unwrap_or_default_no_match() {
    no_match(
        "unwrap-or-default",
        "fn f() { a.unwrap_or(0); a.unwrap_or(Vec::with_capacity(2)); a.unwrap_or_else(Vec::new); a.unwrap_or(Vec::new(), 1); }",
    );
}

#[test]
fn unwrap_or_default_nested() {
    // The outer match covers only `unwrap_or(String::new())`, so the inner
    // one in its receiver applies in the same round.
    let before =
        "fn f() -> String {\n    return g(x.unwrap_or(Vec::new())).unwrap_or(String::new());\n}\n";
    check_round(
        before,
        "fn f() -> String {\n    g(x.unwrap_or(Vec::new())).unwrap_or(String::new())\n}\n",
    );
    check_fixpoint(
        before,
        "fn f() -> String {\n    g(x.unwrap_or_default()).unwrap_or_default()\n}\n",
    );
    let receiver = "fn f() { g(x.unwrap_or(Vec::new())).unwrap_or(String::new()); }";
    check_round(
        receiver,
        "fn f() { g(x.unwrap_or_default()).unwrap_or_default(); }",
    );
}

#[test]
fn len_zero_fixture() {
    check(
        "len-zero",
        "fn f() { g(a.len() == 0, 0 == b.len(), c.len() != 0, d.len() > 0, e.len() >= 1, \
         0 != f.len(), 0 < g.len(), 1 <= h.len(), (x + y).len() == 0); }",
        "fn f() { g(a.is_empty(), b.is_empty(), !c.is_empty(), !d.is_empty(), !e.is_empty(), \
         !f.is_empty(), !g.is_empty(), !h.is_empty(), (x + y).is_empty()); }",
    );
}

#[test]
fn len_zero_no_match() {
    no_match(
        "len-zero",
        "fn f() { g(v.len() == 1, v.len() > 1, v.len(1) == 0, v.count() == 0, v.len() >= 0, 1 < v.len()); }",
    );
}

#[test]
fn len_zero_nested() {
    let before = "fn f() { if items.get(v.len() == 0).len() == 0 {} }";
    check_round(
        before,
        "fn f() { if items.get(v.len() == 0).is_empty() {} }",
    );
    check_fixpoint(
        before,
        "fn f() { if items.get(v.is_empty()).is_empty() {} }",
    );
}

#[test]
fn chars_next_cmp_fixture() {
    check(
        "chars-next-cmp",
        "fn f() { g(s.chars().next() == Some('a'), s.chars().next() != Some('b'), \
         s.chars().next_back() == Some(c), s.chars().next_back() != Some('\\n'), \
         (a.clone() + \"x\").chars().next() == Some('c')); }",
        "fn f() { g(s.starts_with('a'), !s.starts_with('b'), s.ends_with(c), !s.ends_with('\\n'), \
         (a.clone() + \"x\").starts_with('c')); }",
    );
}

#[test]
fn chars_next_cmp_no_match() {
    no_match(
        "chars-next-cmp",
        "fn f() { g(s.chars().nth(0) == Some('a'), s.chars().next() == None, s.chars().next().is_some(), \
         s.bytes().next() == Some(b'a')); }",
    );
}

#[test]
fn chars_next_cmp_nested() {
    let before = "fn f() { let s = v.iter().filter(|s| s.chars().next() == Some('x')).next(); }";
    check_round(
        before,
        "fn f() { let s = v.iter().find(|s| s.chars().next() == Some('x')); }",
    );
    check_fixpoint(
        before,
        "fn f() { let s = v.iter().find(|s| s.starts_with('x')); }",
    );
}

#[test]
fn expect_fun_call_fixture() {
    check(
        "expect-fun-call",
        "fn f() {\n    x.expect(&format!(\"bad {}\", y));\n    let v = map\n        .get(key)\n        \
         .expect(&format!(\"missing {}\", key));\n}\n",
        "fn f() {\n    x.unwrap_or_else(|| panic!(\"bad {}\", y));\n    let v = map\n        .get(key)\n        \
         .unwrap_or_else(|| panic!(\"missing {}\", key));\n}\n",
    );
}

#[test]
fn expect_fun_call_no_match() {
    no_match(
        "expect-fun-call",
        "fn f() { x.expect(\"msg\"); x.expect(format!(\"a\").as_str()); x.expect(&msg); x.unwrap_or(&format!(\"a\")); }",
    );
}

#[test]
fn expect_fun_call_nested() {
    // useless-format also matches the inner `format!("a")`; outermost first,
    // expect-fun-call wins and leaves nothing for useless-format.
    let before = "fn f() -> u8 {\n    return x.expect(&format!(\"a\"));\n}\n";
    check_round(before, "fn f() -> u8 {\n    x.expect(&format!(\"a\"))\n}\n");
    check_fixpoint(
        before,
        "fn f() -> u8 {\n    x.unwrap_or_else(|| panic!(\"a\"))\n}\n",
    );
}
