//! `concur rules`: lists the rules in force here, or explains one.

use std::path::PathBuf;
use std::process::ExitCode;

use super::EXIT_USAGE;
use crate::rules::{Config, RuleSet};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show one rule's message, priority, query and a before/after example.
    #[arg(long, value_name = "ID")]
    pub explain: Option<String>,
    /// Also load this rules file; repeat for several.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
}

pub fn run(args: &Args) -> ExitCode {
    match execute(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn execute(args: &Args) -> Result<(), String> {
    let here = std::env::current_dir()
        .map_err(|error| format!("cannot read the current directory: {error}"))?;
    let config = Config::discover(&here)
        .map_err(|error| error.to_string())?
        .map(|(_, config)| config)
        .unwrap_or_default();
    let mut user_sets = vec![config.user_rules.clone()];
    for path in &args.rules {
        user_sets.push(RuleSet::load_file(path).map_err(|error| error.to_string())?);
    }
    let user = RuleSet::concat(user_sets).map_err(|error| error.to_string())?;
    let rules = RuleSet::combine(user, config.builtin.then(RuleSet::builtin), &config.disable)
        .map_err(|error| error.to_string())?;

    if let Some(id) = &args.explain {
        let text = rules.explain(id).ok_or_else(|| {
            format!("unknown rule id {id:?}; run `concur rules` to list the ids in force")
        })?;
        println!("{text}");
        return Ok(());
    }
    let width = rules
        .rules()
        .iter()
        .map(|rule| rule.id.len())
        .max()
        .unwrap_or(0)
        .max("ID".len());
    // Priority: lower wins a conflict. CONFIRM: `apply --write` applies
    // the rule only with --yes or when --only names it.
    println!(
        "{:width$}  {:>8}  {:8}  {:7}  MESSAGE",
        "ID", "PRIORITY", "ORIGIN", "CONFIRM"
    );
    for rule in rules.rules() {
        let origin = if rule.is_builtin() {
            "built-in"
        } else {
            "user"
        };
        let confirm = if rule.confirm { "yes" } else { "no" };
        println!(
            "{:width$}  {:>8}  {origin:8}  {confirm:7}  {}",
            rule.id, rule.priority, rule.message
        );
    }
    Ok(())
}
