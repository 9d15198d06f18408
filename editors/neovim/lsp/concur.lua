-- The concur server for Neovim 0.11+: with editors/neovim on 'runtimepath',
-- vim.lsp.enable("concur") starts it on Rust buffers without any setup().
-- require("concur").setup() layers its options over these.
return {
  cmd = { "concur", "lsp" },
  filetypes = { "rust" },
  root_markers = { "concur.toml", "Cargo.toml", ".git" },
}
