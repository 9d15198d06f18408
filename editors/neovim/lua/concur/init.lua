-- concur for Neovim: starts `concur lsp` on Rust buffers and applies every
-- rule of a file at once through the `source.fixAll.concur` code action.
--
-- One file for every Neovim from 0.7: it starts the client with
-- vim.lsp.config and vim.lsp.enable on 0.11 and later, vim.lsp.start on 0.8
-- to 0.10, and vim.lsp.start_client with vim.lsp.buf_attach_client on 0.7.
--
--   require("concur").setup({ settings = { maxRounds = 3 } })

local M = {}

local NAME = "concur"
local FIX_ALL_KIND = "source.fixAll.concur"

--- Options of setup(); each key may be overridden.
M.defaults = {
  -- The server command; `--stdio` is accepted too.
  cmd = { "concur", "lsp" },
  -- Extra environment of the server process, e.g. { CONCUR_LOG = "debug" }.
  cmd_env = nil,
  filetypes = { "rust" },
  -- The root is the nearest folder containing the first marker found, in this
  -- order (the same rule as vim.fs.root on Neovim 0.11).
  root_markers = { "concur.toml", "Cargo.toml", ".git" },
  -- The `concur` settings section: builtin (boolean), disable (list of rule
  -- ids), maxRounds (1 to 100), workers (1 to 256). Sent as
  -- initializationOptions and returned for workspace/configuration.
  settings = {},
  -- Merged over Neovim's own client capabilities.
  capabilities = nil,
  -- function(client, bufnr), called when the client attaches to a buffer.
  on_attach = nil,
  -- Which Neovim API starts the client: "auto" picks the newest one this
  -- Neovim has; "config" (0.11+), "start" (0.8+) or "start_client" force one.
  client_api = "auto",
  -- Create the :ConcurFixAll and :ConcurRestart commands.
  commands = true,
}

-- Every option setup() accepts, including those whose default is nil.
local OPTION_NAMES = {
  cmd = true,
  cmd_env = true,
  filetypes = true,
  root_markers = true,
  settings = true,
  capabilities = true,
  on_attach = true,
  client_api = true,
  commands = true,
}

local options = nil
-- Client ids started through vim.lsp.start_client, by root folder ("" for
-- files outside every root).
local started = {}
local uv = vim.uv or vim.loop

local function has(version)
  return vim.fn.has("nvim-" .. version) == 1
end

local function notify(message, level)
  vim.notify("concur: " .. message, level or vim.log.levels.ERROR)
end

-- Neovim encodes an empty Lua table as a JSON array, so an empty settings
-- table is sent as an explicit empty object.
local function settings_section(settings)
  if settings == nil or next(settings) == nil then
    return vim.empty_dict()
  end
  return settings
end

-- Client methods are called with `:` from 0.11 on; older clients take no
-- self argument.
local function call(client, method, ...)
  if has("0.11") then
    return client[method](client, ...)
  end
  return client[method](...)
end

local function all_clients()
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ name = NAME })
  end
  local found = {}
  for _, client in ipairs(vim.lsp.get_active_clients()) do
    if client.name == NAME then
      table.insert(found, client)
    end
  end
  return found
end

--- Returns the concur client attached to buffer `bufnr` (0 or nil: the
--- current buffer), or nil.
function M.client(bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  for _, client in ipairs(all_clients()) do
    if vim.lsp.buf_is_attached(bufnr, client.id) and not call(client, "is_stopped") then
      return client
    end
  end
  return nil
end

local function find_root(bufnr, markers)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" then
    return nil
  end
  local start = vim.fn.fnamemodify(name, ":p:h")
  for _, marker in ipairs(markers) do
    local dir = start
    while true do
      if uv.fs_stat(dir .. "/" .. marker) then
        return dir
      end
      local parent = vim.fn.fnamemodify(dir, ":h")
      if parent == dir then
        break
      end
      dir = parent
    end
  end
  return nil
end

local function client_config(opts, root)
  local settings = settings_section(opts.settings)
  return {
    name = NAME,
    cmd = opts.cmd,
    cmd_env = opts.cmd_env,
    root_dir = root,
    settings = { concur = settings },
    init_options = settings,
    capabilities = vim.tbl_deep_extend(
      "force",
      vim.lsp.protocol.make_client_capabilities(),
      opts.capabilities or {}
    ),
    on_attach = opts.on_attach,
  }
end

local function api_of(opts)
  if opts.client_api ~= "auto" then
    return opts.client_api
  end
  if has("0.11") then
    return "config"
  elseif has("0.8") then
    return "start"
  end
  return "start_client"
end

local function executable_or_warn(opts)
  if vim.fn.executable(opts.cmd[1]) == 1 then
    return true
  end
  notify(
    string.format(
      "cannot start the server: %q is not an executable on PATH. Install it with "
        .. "`cargo install --path server` from the concur repository, or pass its full "
        .. "path as cmd to require('concur').setup().",
      opts.cmd[1]
    )
  )
  return false
end

-- Starts or reuses a client for `bufnr` through vim.lsp.start (api
-- "start", 0.8+) or vim.lsp.start_client (api "start_client", 0.7).
local function attach(bufnr, opts, api)
  if vim.bo[bufnr].buftype ~= "" then
    return
  end
  local root = find_root(bufnr, opts.root_markers)
  local config = client_config(opts, root)
  if api == "start" then
    vim.api.nvim_buf_call(bufnr, function()
      vim.lsp.start(config)
    end)
    return
  end
  local key = root or ""
  local client = started[key] and vim.lsp.get_client_by_id(started[key])
  if not client or call(client, "is_stopped") then
    local id = vim.lsp.start_client(config)
    if not id then
      return
    end
    started[key] = id
  end
  vim.lsp.buf_attach_client(bufnr, started[key])
end

local function matching_buffers(opts)
  local buffers = {}
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(opts.filetypes, vim.bo[bufnr].filetype) then
      table.insert(buffers, bufnr)
    end
  end
  return buffers
end

-- Starts clients for the buffers already open and, through a FileType
-- autocommand or vim.lsp.enable, for every matching buffer opened later.
local function enable(opts)
  if not executable_or_warn(opts) then
    return
  end
  if api_of(opts) == "config" then
    local config = client_config(opts, nil)
    config.filetypes = opts.filetypes
    config.root_markers = opts.root_markers
    vim.lsp.config(NAME, config)
    vim.lsp.enable(NAME)
    return
  end
  local group = vim.api.nvim_create_augroup("concur", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = opts.filetypes,
    callback = function(args)
      attach(args.buf, opts, api_of(opts))
    end,
  })
  for _, bufnr in ipairs(matching_buffers(opts)) do
    attach(bufnr, opts, api_of(opts))
  end
end

--- Configures concur and starts it on the matching buffers; see M.defaults
--- for the options. Calling it again replaces the options.
function M.setup(user_options)
  if user_options ~= nil and type(user_options) ~= "table" then
    error("concur: setup() expects a table of options, got " .. type(user_options))
  end
  -- A shallow merge: each option given replaces the default whole, so a
  -- shorter cmd or root_markers list keeps none of the default's items.
  local opts = {}
  for key, value in pairs(M.defaults) do
    opts[key] = value
  end
  for key, value in pairs(user_options or {}) do
    if not OPTION_NAMES[key] then
      local names = vim.tbl_keys(OPTION_NAMES)
      table.sort(names)
      error(
        "concur: unknown setup() option " .. vim.inspect(key) .. "; valid options: " .. table.concat(names, ", ")
      )
    end
    opts[key] = value
  end
  if type(opts.cmd) == "string" then
    opts.cmd = { opts.cmd }
  end
  local apis = { auto = true, config = true, start = true, start_client = true }
  if not apis[opts.client_api] then
    error(
      "concur: client_api must be \"auto\", \"config\", \"start\" or \"start_client\", got "
        .. vim.inspect(opts.client_api)
    )
  end
  if (opts.client_api == "config" and not has("0.11")) or (opts.client_api == "start" and not has("0.8")) then
    error("concur: client_api " .. opts.client_api .. " needs a newer Neovim than this one")
  end
  options = opts
  if opts.commands then
    vim.api.nvim_create_user_command("ConcurFixAll", function()
      M.fix_all()
    end, { desc = "concur: apply all rules to this file" })
    vim.api.nvim_create_user_command("ConcurRestart", function()
      M.restart()
    end, { desc = "concur: restart the language server" })
  end
  enable(opts)
end

local function apply_action(client, bufnr, action)
  if action.edit then
    vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding or "utf-16")
  end
  local command = action.command
  if type(command) == "table" then
    call(client, "request", "workspace/executeCommand", command, function(err)
      if err then
        notify(command.command .. " failed: " .. err.message)
      end
    end, bufnr)
  end
end

local function fix_all_action(actions)
  for _, action in ipairs(actions or {}) do
    if action.kind == FIX_ALL_KIND then
      return action
    end
  end
  return nil
end

local function fix_all_params(bufnr)
  local start = { line = 0, character = 0 }
  return {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = { start = start, ["end"] = start },
    context = { diagnostics = {}, only = { FIX_ALL_KIND } },
  }
end

-- Requests the action, resolves its edit when it comes without one, and
-- blocks for at most timeout_ms per request.
local function fix_all_sync(client, bufnr, timeout_ms)
  local response, err = call(client, "request_sync", "textDocument/codeAction", fix_all_params(bufnr), timeout_ms, bufnr)
  if not response or response.err then
    notify("textDocument/codeAction failed: " .. tostring(response and response.err.message or err))
    return false
  end
  local action = fix_all_action(response.result)
  if not action then
    return true
  end
  if not action.edit and not action.command then
    response, err = call(client, "request_sync", "codeAction/resolve", action, timeout_ms, bufnr)
    if not response or response.err then
      notify("codeAction/resolve failed: " .. tostring(response and response.err.message or err))
      return false
    end
    action = response.result
  end
  apply_action(client, bufnr, action)
  return true
end

local function fix_all_async(client, bufnr)
  call(client, "request", "textDocument/codeAction", fix_all_params(bufnr), function(err, actions)
    if err then
      notify("textDocument/codeAction failed: " .. err.message)
      return
    end
    local action = fix_all_action(actions)
    if not action then
      notify("no rule applies to this file", vim.log.levels.INFO)
      return
    end
    if action.edit or action.command then
      apply_action(client, bufnr, action)
      return
    end
    call(client, "request", "codeAction/resolve", action, function(resolve_err, resolved)
      if resolve_err then
        notify("codeAction/resolve failed: " .. resolve_err.message)
        return
      end
      apply_action(client, bufnr, resolved)
    end, bufnr)
  end, bufnr)
end

--- Applies every enabled rule to a buffer as one edit, without a prompt.
--- Options: bufnr (default: the current buffer); sync (block until the
--- edit is applied, for BufWritePre); timeout_ms (per request when sync,
--- default 5000). Returns false when no concur client is attached or a
--- sync request failed.
function M.fix_all(fix_options)
  fix_options = fix_options or {}
  local current = vim.api.nvim_get_current_buf()
  local bufnr = fix_options.bufnr or current
  if bufnr == 0 then
    bufnr = current
  end
  local client = M.client(bufnr)
  if not client then
    notify(string.format("no concur client is attached to buffer %d; is it a Rust file and did setup() run?", bufnr))
    return false
  end
  if fix_options.sync then
    return fix_all_sync(client, bufnr, fix_options.timeout_ms or 5000)
  end
  if has("0.8") and bufnr == current then
    vim.lsp.buf.code_action({
      context = { only = { FIX_ALL_KIND }, diagnostics = {} },
      filter = function(action)
        return action.kind == FIX_ALL_KIND
      end,
      apply = true,
    })
    return true
  end
  fix_all_async(client, bufnr)
  return true
end

--- Stops every concur client, waits up to 5 seconds for the servers to
--- exit (then kills them), and starts the server again on the open
--- matching buffers.
function M.restart()
  if options == nil then
    notify("restart: call require('concur').setup() first")
    return
  end
  local ids = {}
  for _, client in ipairs(all_clients()) do
    table.insert(ids, client.id)
    call(client, "stop")
  end
  -- A stopping client is still listed, and vim.lsp.start would reuse it,
  -- until its server process exits.
  local function exited()
    for _, id in ipairs(ids) do
      if vim.lsp.get_client_by_id(id) then
        return false
      end
    end
    return true
  end
  if not vim.wait(5000, exited, 20) then
    for _, id in ipairs(ids) do
      local client = vim.lsp.get_client_by_id(id)
      if client then
        call(client, "stop", true)
      end
    end
    vim.wait(1000, exited, 20)
  end
  started = {}
  if api_of(options) ~= "config" then
    enable(options)
    return
  end
  -- vim.lsp.enable attaches open buffers again only after VimEnter, so
  -- start their clients here. It reuses them for buffers opened later,
  -- because they have the same name and root.
  for _, bufnr in ipairs(matching_buffers(options)) do
    attach(bufnr, options, "start")
  end
end

return M
