-- Driver for tests/tests/neovim.rs, run as
--   nvim --headless --clean -c "luafile tests/neovim/fix_all.lua"
-- It sets up editors/neovim as a user would, opens CONCUR_TEST_FILE, waits
-- for the concur client and its diagnostics, runs the fix-all, writes the
-- file and quits. What it saw goes to CONCUR_TEST_RESULT as JSON; an error
-- is recorded there too, and then Neovim exits with status 1.
--
-- Environment: CONCUR_TEST_PLUGIN (the editors/neovim folder),
-- CONCUR_TEST_BIN (the concur binary), CONCUR_TEST_FILE, CONCUR_TEST_RESULT,
-- CONCUR_TEST_API (setup's client_api), CONCUR_TEST_SYNC ("1": fix_all with
-- sync = true), CONCUR_TEST_SETTINGS (JSON of setup's settings),
-- CONCUR_TEST_KEYS (Normal-mode keys typed before the fix-all, in
-- <Esc> notation), CONCUR_TEST_RESTART ("1": run :ConcurRestart first),
-- CONCUR_TEST_COMMAND ("1": fix through :ConcurFixAll) and
-- CONCUR_TEST_TIMEOUT_MS (for each wait).

local env = vim.env
local timeout_ms = tonumber(env.CONCUR_TEST_TIMEOUT_MS or "20000")
local result = { messages = {}, steps = {} }

local function step(name)
  table.insert(result.steps, name)
end

local function write_result()
  local file = assert(io.open(env.CONCUR_TEST_RESULT, "w"))
  file:write(vim.fn.json_encode(result))
  file:close()
end

-- Every message shown to the user, from Neovim or from the server.
local notify = vim.notify
vim.notify = function(message, level, opts)
  table.insert(result.messages, { level = level or vim.log.levels.INFO, text = tostring(message) })
  return notify(message, level, opts)
end
local show_message = vim.lsp.handlers["window/showMessage"]
vim.lsp.handlers["window/showMessage"] = function(err, params, ctx, config)
  -- LSP MessageType 1 is Error and 2 is Warning; vim.log.levels counts up.
  local levels = { vim.log.levels.ERROR, vim.log.levels.WARN, vim.log.levels.INFO, vim.log.levels.DEBUG }
  table.insert(result.messages, { level = levels[params.type] or vim.log.levels.INFO, text = params.message })
  return show_message(err, params, ctx, config)
end

local function wait_for(what, condition)
  if not vim.wait(timeout_ms, condition, 20) then
    error(string.format("timed out after %d ms waiting for %s", timeout_ms, what), 0)
  end
end

local function run()
  vim.opt.runtimepath:prepend(env.CONCUR_TEST_PLUGIN)
  local concur = require("concur")
  concur.setup({
    cmd = { env.CONCUR_TEST_BIN, "lsp" },
    client_api = env.CONCUR_TEST_API or "auto",
    settings = vim.fn.json_decode(env.CONCUR_TEST_SETTINGS or "{}"),
  })
  step("setup")

  vim.cmd("edit " .. vim.fn.fnameescape(env.CONCUR_TEST_FILE))
  local bufnr = vim.api.nvim_get_current_buf()
  result.filetype = vim.bo[bufnr].filetype
  local client
  local function wait_for_client(what, accept)
    wait_for(what, function()
      client = concur.client(bufnr)
      return client ~= nil and client.server_capabilities ~= nil and accept(client)
    end)
  end
  wait_for_client("the concur client to attach and initialize", function()
    return true
  end)
  step("attached")

  if env.CONCUR_TEST_RESTART == "1" then
    local first = client.id
    vim.cmd("ConcurRestart")
    wait_for_client("a new concur client after :ConcurRestart", function(candidate)
      return candidate.id ~= first
    end)
    result.restarted = true
    step("restarted")
  end
  result.encoding = client.offset_encoding

  wait_for("concur's diagnostics", function()
    return #vim.diagnostic.get(bufnr) > 0
  end)
  result.diagnostics = {}
  for _, diagnostic in ipairs(vim.diagnostic.get(bufnr)) do
    -- Line and byte columns count from 0, as Neovim stores them.
    table.insert(result.diagnostics, {
      code = diagnostic.code or (diagnostic.user_data and diagnostic.user_data.lsp.code),
      lnum = diagnostic.lnum,
      col = diagnostic.col,
      end_lnum = diagnostic.end_lnum,
      end_col = diagnostic.end_col,
    })
  end
  step("diagnostics")

  if env.CONCUR_TEST_KEYS and env.CONCUR_TEST_KEYS ~= "" then
    -- Typing as a user would, so the server must follow incremental changes.
    -- Fed as typeahead, because :normal would take the escaped 0x80 bytes
    -- of some UTF-8 characters (such as in 🚀) literally.
    local keys = vim.api.nvim_replace_termcodes(env.CONCUR_TEST_KEYS, true, false, true)
    vim.api.nvim_feedkeys(keys, "nx", false)
    step("typed")
  end

  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  if env.CONCUR_TEST_COMMAND == "1" then
    vim.cmd("ConcurFixAll")
  elseif not concur.fix_all({ sync = env.CONCUR_TEST_SYNC == "1", timeout_ms = timeout_ms }) then
    error("require('concur').fix_all() returned false", 0)
  end
  wait_for("the fix-all edit to change the buffer", function()
    return vim.api.nvim_buf_get_changedtick(bufnr) ~= tick
  end)
  step("fixed")

  vim.cmd("write")
  step("written")
end

local ok, err = xpcall(run, debug.traceback)
if not ok then
  result.error = tostring(err)
end
write_result()
if ok then
  vim.cmd("qall!")
else
  vim.cmd("cquit 1")
end
