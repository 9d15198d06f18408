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
    runtime.block_on(crate::lsp::serve_stdio());
    // Tokio reads stdin on a blocking thread that stays in `read` until the
    // client closes the pipe, and dropping the runtime would wait for it.
    // Neovim 0.11 keeps the pipe open until the server exits after `exit`.
    runtime.shutdown_background();
    ExitCode::SUCCESS
}
