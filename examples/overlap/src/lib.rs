//! A small file where several built-in rules overlap: `needless-return`
//! and `len-zero` rewrite the same statement, `try-macro` needs its
//! operand parenthesised, and `needless-return` meets
//! `redundant-field-names` inside one struct expression.

use std::mem;

pub struct Point {
    pub x: i32,
    pub y: i32,
}

pub fn is_blank(values: &Vec<i32>) -> bool {
    return values.len() == 0;
}

pub fn read(result: &Result<i32, String>) -> Result<i32, String> {
    let value = try!(*result);
    Ok(value)
}

pub fn point(x: i32, y: i32) -> Point {
    return Point { x: x, y: y };
}

pub fn reset(buffer: &mut String) -> String {
    mem::replace(buffer, String::new())
}

pub fn enabled(flag: bool) -> bool {
    if flag == true {
        println!("");
    }
    flag != false
}
