-- One scenario of bench/compare-reference, run by wrk against one metadata service:
--
--   wrk -s scenario.lua URL -- MODE FLOW RUN STEP TASK FIRST LAST TAG THREADS MIN_BYTES
--
-- MODE is task_create, heartbeat, artifact_post, metadata_post (to task TASK), list_tasks (of
-- the step), list_artifacts (of the run), or seed: task creates that stop once each thread has
-- FIRST answers. Heartbeats go to tasks FIRST..LAST, each thread
-- taking every THREADS-th one, so no two requests of a lap update the same task. Posted names
-- start with TAG, so the driver can count what was stored. A response counts as good when its status is 2xx and its body has at least
-- MIN_BYTES bytes (listings: when the answers average at least MIN_BYTES); `done` prints one
-- RESULT line of JSON for the driver.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

-- The Metaflow client's system tags; the version tag makes tasks heartbeat-capable (spec 6.1).
local SYSTEM_TAGS = '["runtime:dev","user:bench","python_version:3.11.9","metaflow_version:2.19.38"]'

function init(args)
  mode, flow, run, step, task = args[1], args[2], args[3], args[4], args[5]
  first, last, tag = tonumber(args[6]), tonumber(args[7]), args[8]
  nthreads, min_bytes = tonumber(args[9]), tonumber(args[10])
  run_path = "/flows/" .. flow .. "/runs/" .. run
  step_path = run_path .. "/steps/" .. step
  task_path = step_path .. "/tasks/" .. task
  counter, good, bad, bad_status = 0, 0, 0, 0
  headers = { ["Content-Type"] = "application/json" }
  if mode:sub(1, 5) == "list_" then
    -- Handing each multi-megabyte listing to Lua costs wrk more than the service takes to
    -- answer it; listings are checked from the summary's byte count instead.
    response = nil
  end
  counted = response ~= nil
end

local function now_ms()
  return os.time() * 1000
end

local function artifact(name)
  local sha = string.format("%040x", counter * 64 + tid)
  return '{"flow_id":"' .. flow .. '","run_number":"' .. run .. '","step_name":"' .. step
    .. '","task_id":"' .. task .. '","attempt_id":0,"name":"' .. name
    .. '","content_type":"gzip+pickle-v4","type":"metaflow.artifact","sha":"' .. sha
    .. '","ds_type":"local","location":"/tmp/metaflow/' .. flow .. '/data/' .. sha:sub(1, 2) .. '/' .. sha
    .. '","user_name":"bench","tags":[],"system_tags":[],"ts_epoch":' .. now_ms() .. '}'
end

local function metadata(name)
  return '{"flow_id":"' .. flow .. '","run_number":"' .. run .. '","step_name":"' .. step
    .. '","task_id":"' .. task .. '","field_name":"' .. name .. '","type":"attempt","value":"0"'
    .. ',"tags":["attempt_id:0"],"user_name":"bench","ts_epoch":' .. now_ms() .. '}'
end

local function batch(make)
  local items = {}
  for i = 1, 10 do
    items[i] = make(tag .. "_" .. tid .. "_" .. counter .. "_" .. i)
  end
  return "[" .. table.concat(items, ",") .. "]"
end

function request()
  counter = counter + 1
  if mode == "task_create" or mode == "seed" then
    local body = '{"flow_id":"' .. flow .. '","run_number":"' .. run .. '","step_name":"' .. step
      .. '","user_name":"bench","tags":[],"system_tags":' .. SYSTEM_TAGS .. ',"ts_epoch":' .. now_ms() .. '}'
    return wrk.format("POST", step_path .. "/task", headers, body)
  elseif mode == "heartbeat" then
    local span = last - first + 1
    local id = first + (((counter - 1) * nthreads + tid) % span)
    return wrk.format("POST", step_path .. "/tasks/" .. id .. "/heartbeat", headers, "")
  elseif mode == "artifact_post" then
    return wrk.format("POST", task_path .. "/artifact", headers, batch(artifact))
  elseif mode == "metadata_post" then
    return wrk.format("POST", task_path .. "/metadata", headers, batch(metadata))
  elseif mode == "list_tasks" then
    return wrk.format("GET", step_path .. "/tasks")
  else
    return wrk.format("GET", run_path .. "/artifacts")
  end
end

function response(status, _, body)
  if status >= 200 and status < 300 and #body >= min_bytes then
    good = good + 1
  else
    bad = bad + 1
    bad_status = status
  end
  if mode == "seed" and good + bad >= first then
    wrk.thread:stop()
  end
end

function done(summary, latency, _)
  local good_sum, bad_sum, last_bad = 0, 0, 0
  local e = summary.errors
  if not threads[1]:get("counted") then
    bad_sum = e.status
    good_sum = summary.requests - bad_sum
    if summary.requests > 0 and summary.bytes < summary.requests * threads[1]:get("min_bytes") then
      bad_sum, good_sum = summary.requests, 0
    end
  end
  for _, t in ipairs(threads) do
    good_sum = good_sum + t:get("good")
    bad_sum = bad_sum + t:get("bad")
    if t:get("bad_status") ~= 0 then
      last_bad = t:get("bad_status")
    end
  end
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"good":%d,"bad":%d,'
      .. '"bad_status":%d,"socket_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    good_sum, bad_sum, last_bad, e.connect + e.read + e.write, e.timeout))
end
