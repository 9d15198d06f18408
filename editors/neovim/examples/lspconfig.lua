-- concur for nvim-lspconfig users. nvim-lspconfig ships no concur entry, so
-- this registers one and then sets it up like any other server. Copy it
-- into your config; it does not need the rest of editors/neovim.
--
-- NOTE: not run by the test suite, because nvim-lspconfig cannot be
-- installed on the test machines.
local configs = require("lspconfig.configs")
local util = require("lspconfig.util")

if not configs.concur then
  configs.concur = {
    default_config = {
      cmd = { "concur", "lsp" },
      filetypes = { "rust" },
      -- root_pattern takes the nearest folder containing any of these.
      root_dir = util.root_pattern("concur.toml", "Cargo.toml", ".git"),
      -- An empty Lua table would be sent as a JSON array.
      settings = { concur = vim.empty_dict() },
    },
  }
end

require("lspconfig").concur.setup({
  settings = {
    concur = { disable = { "needless-return" }, maxRounds = 3 },
  },
})

-- Apply every rule to the current file, without a prompt (Neovim 0.8+).
vim.keymap.set("n", "<leader>cf", function()
  vim.lsp.buf.code_action({
    context = { only = { "source.fixAll.concur" }, diagnostics = {} },
    apply = true,
  })
end, { desc = "concur: apply all rules to this file" })
