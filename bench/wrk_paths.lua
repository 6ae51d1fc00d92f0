-- wrk sends each path of a file once, in turn, with a bearer token, then stops (harness.WrkClient).
--
--   wrk -t1 -cN -d600s -s bench/wrk_paths.lua URL -- PATHS_FILE TOKEN
--
-- Run with one thread (-t1): its N connections share the list. When every path has an answer, the
-- thread stops and says so, and the harness ends the run with SIGINT. done() then prints each latency
-- wrk saw (µs, with how many requests took it) and the errors (answers of 400 and above, failed
-- connections), so the harness computes the same percentiles as for its Python client.

local paths, sent, answered = {}, 0, 0

-- WRK_THINK_MS: each connection waits that long after an answer before its next request (a user's pause).
local think = tonumber(os.getenv("WRK_THINK_MS") or "")
if think then
  function delay()
    return think
  end
end

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  wrk.headers["Authorization"] = "Bearer " .. args[2]
end

function request()
  sent = sent + 1
  return wrk.format("GET", paths[(sent - 1) % #paths + 1])
end

function response(status, headers, body)
  answered = answered + 1
  if answered == #paths then
    wrk.thread:stop()
    io.write("ANSWERED\n")  -- wrk's main thread sleeps out -d: the harness interrupts it (SIGINT) on this line
    io.flush()
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("ERRORS %d\n", errors.connect + errors.read + errors.write + errors.timeout + errors.status))
  for i = 1, #latency do
    local microseconds, count = latency(i)
    io.write(string.format("LATENCY %d %d\n", microseconds, count))
  end
end
