//! `concur lsp`: starts the language server on stdin and stdout.

use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
pub struct Args {
    /// Speak LSP over stdin and stdout. This is the only transport and
    /// the default; the flag is accepted because clients such as
    /// vscode-languageclient add it.
    #[arg(long)]
    pub stdio: bool,
}

pub fn run(_args: &Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("concur-lsp")
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the server's runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let clean = runtime.block_on(crate::lsp::serve_stdio());
    // Some clients keep stdin open after `exit`; a read blocked on it must
    // not keep the process alive.
    runtime.shutdown_background();
    // LSP: exit code 0 after `shutdown`, 1 when the client went away or
    // sent `exit` without it.
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
