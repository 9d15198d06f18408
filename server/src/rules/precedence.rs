//! Rust expression precedence for syntax-aware templates: how tightly a
//! tree-sitter-rust expression node binds, and how tightly an expression
//! must bind to stand at a given position without parentheses.

use tree_sitter::Node;

/// Binding strength of a Rust expression, weakest first, following the
/// operator precedence table of the Rust Reference ("Expressions").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Precedence {
    /// Closures, `return`, `break`, `yield` and `let` conditions: they take
    /// everything to their right, so they need parentheses as any operand.
    Lowest,
    /// `=` and compound assignment (`+=` and the others).
    Assign,
    /// `..` and `..=`.
    Range,
    /// `||`.
    Or,
    /// `&&`.
    And,
    /// `==`, `!=`, `<`, `>`, `<=`, `>=`; these do not chain.
    Compare,
    /// `|`.
    BitOr,
    /// `^`.
    BitXor,
    /// Binary `&`.
    BitAnd,
    /// `<<` and `>>`.
    Shift,
    /// Binary `+` and `-`.
    Add,
    /// `*`, `/` and `%`.
    Mul,
    /// `as`.
    Cast,
    /// Prefix `-`, `!`, `*`, `&` and `&mut`.
    Prefix,
    /// Method calls, field access, calls, indexing, `?`, `.await`, and
    /// everything that is never split by a neighbouring operator: literals,
    /// paths, macro calls, parenthesised and block-like expressions. Nodes
    /// that are not expressions (types, patterns, tokens) count as this too,
    /// so they are never wrapped.
    Postfix,
}

impl Precedence {
    /// Returns the next stronger level; `Postfix` is the strongest.
    fn stronger(self) -> Self {
        use Precedence::*;
        match self {
            Lowest => Assign,
            Assign => Range,
            Range => Or,
            Or => And,
            And => Compare,
            Compare => BitOr,
            BitOr => BitXor,
            BitXor => BitAnd,
            BitAnd => Shift,
            Shift => Add,
            Add => Mul,
            Mul => Cast,
            Cast => Prefix,
            Prefix | Postfix => Postfix,
        }
    }
}

/// Returns the precedence of a binary operator token, or `None` for a token
/// that is not a binary operator.
pub fn binary_operator_precedence(operator: &str) -> Option<Precedence> {
    use Precedence::*;
    let precedence = match operator {
        "*" | "/" | "%" => Mul,
        "+" | "-" => Add,
        "<<" | ">>" => Shift,
        "&" => BitAnd,
        "^" => BitXor,
        "|" => BitOr,
        "==" | "!=" | "<" | ">" | "<=" | ">=" => Compare,
        "&&" => And,
        "||" => Or,
        _ => return None,
    };
    Some(precedence)
}

/// Returns how tightly `node` binds, from its tree-sitter-rust kind and, for
/// binary expressions, its operator.
pub fn node_precedence(node: Node<'_>) -> Precedence {
    use Precedence::*;
    match node.kind() {
        "binary_expression" => node
            .child_by_field_name("operator")
            .and_then(|operator| binary_operator_precedence(operator.kind()))
            .unwrap_or(Lowest),
        "unary_expression" | "reference_expression" => Prefix,
        "type_cast_expression" => Cast,
        "range_expression" => Range,
        "assignment_expression" | "compound_assignment_expr" => Assign,
        "closure_expression" | "return_expression" | "break_expression" | "yield_expression"
        | "let_condition" | "let_chain" => Lowest,
        _ => Postfix,
    }
}

/// Returns the weakest precedence an expression may have to take the place
/// of `node` without parentheses. The receiver of `.method()` needs
/// `Postfix` and the operand of `!` needs `Prefix`. The left operand of a
/// left-associative operator needs the operator's own level, and the right
/// operand one level more. Arguments, blocks, parentheses and macro tokens
/// take any expression (`Lowest`).
pub fn required_precedence(node: Node<'_>) -> Precedence {
    required_precedence_in(node, node.parent())
}

/// As [`required_precedence`], with `node`'s parent already found, because
/// `Node::parent` walks down from the root on every call.
pub fn required_precedence_in<'tree>(node: Node<'tree>, parent: Option<Node<'tree>>) -> Precedence {
    use Precedence::*;
    let Some(parent) = parent else {
        return Lowest;
    };
    let field = field_of(parent, node);
    match parent.kind() {
        "field_expression" | "call_expression" if is_field(field, &["value", "function"]) => {
            Postfix
        }
        "index_expression" if is_first_named_child(parent, node) => Postfix,
        "try_expression" | "await_expression" => Postfix,
        "unary_expression" | "reference_expression" => Prefix,
        // `a as u8 as u16` groups to the left, so the left operand may be a cast.
        "type_cast_expression" if is_field(field, &["value"]) => Cast,
        "binary_expression" => {
            let operator = parent
                .child_by_field_name("operator")
                .and_then(|operator| binary_operator_precedence(operator.kind()))
                .unwrap_or(Lowest);
            // Comparisons do not chain, so neither operand may be one.
            if is_field(field, &["left"]) && operator != Compare {
                operator
            } else {
                operator.stronger()
            }
        }
        "range_expression" => Range.stronger(),
        // Assignment groups to the right.
        "assignment_expression" | "compound_assignment_expr" => {
            if is_field(field, &["right"]) {
                Assign
            } else {
                Range.stronger()
            }
        }
        // `if let P = a || b` is rejected and `if let P = a && b` is a chain,
        // so a `let` scrutinee and the parts of a chain bind tighter than `&&`.
        "let_condition" if is_field(field, &["value"]) => And.stronger(),
        "let_chain" => And.stronger(),
        _ => Lowest,
    }
}

fn is_field(field: Option<&str>, names: &[&str]) -> bool {
    field.is_some_and(|field| names.contains(&field))
}

/// Returns the field name of `child` in `parent`.
fn field_of<'tree>(parent: Node<'tree>, child: Node<'tree>) -> Option<&'static str> {
    let mut cursor = parent.walk();
    if !cursor.goto_first_child() {
        return None;
    }
    loop {
        if cursor.node() == child {
            return cursor.field_name();
        }
        if !cursor.goto_next_sibling() {
            return None;
        }
    }
}

fn is_first_named_child(parent: Node<'_>, child: Node<'_>) -> bool {
    parent.named_child(0) == Some(child)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Language;

    /// Finds the smallest node spanning exactly `needle`'s first occurrence.
    fn node_for<'tree>(tree: &'tree tree_sitter::Tree, text: &str, needle: &str) -> Node<'tree> {
        let start = text.find(needle).expect("needle in text");
        let end = start + needle.len();
        let mut node = tree
            .root_node()
            .descendant_for_byte_range(start, end)
            .expect("node at range");
        while node.byte_range() != (start..end) {
            node = node.parent().expect("a node spans the needle");
        }
        // Take the outermost node with exactly this range, as a capture would.
        while let Some(parent) = node.parent() {
            if parent.byte_range() != (start..end) {
                break;
            }
            node = parent;
        }
        node
    }

    fn check(text: &str, needle: &str, own: Precedence, required: Precedence) {
        let tree = Language::Rust.parse_str(text).unwrap();
        let node = node_for(&tree, text, needle);
        assert_eq!(node_precedence(node), own, "own precedence of {needle:?}");
        assert_eq!(
            required_precedence(node),
            required,
            "required precedence at {needle:?}"
        );
    }

    #[test]
    fn binary_operands_by_side() {
        use Precedence::*;
        check("fn f() { a + b * c; }", "b * c", Mul, Mul);
        check("fn f() { a * b + c; }", "a * b", Mul, Add);
        check("fn f() { a == b && c; }", "a == b", Compare, And);
        check("fn f() { a < b == c; }", "a", Postfix, BitOr);
        check("fn f() { x = a || b; }", "a || b", Or, Assign);
    }

    #[test]
    fn postfix_and_prefix_positions() {
        use Precedence::*;
        check("fn f() { (*r)?; }", "(*r)", Postfix, Postfix);
        check("fn f() { x.y.z(); }", "x.y", Postfix, Postfix);
        check("fn f() { !a.b(); }", "a.b()", Postfix, Prefix);
        check("fn f() { -x as u8; }", "-x", Prefix, Cast);
        check("fn f() { v[i + 1]; }", "i + 1", Add, Lowest);
        check("fn f() { g(|x| x, 1); }", "|x| x", Lowest, Lowest);
        check("fn f() { a..b; }", "a", Postfix, Or);
    }

    #[test]
    fn let_chains_bind_tighter_than_and() {
        use Precedence::*;
        check(
            "fn f() { if let Some(x) = y && z {} }",
            "z",
            Postfix,
            Compare,
        );
    }
}
