-- wrk script: POSTs one GraphQL body and checks every response: HTTP 200, no
-- "errors", and the expected text (e.g. the right totalCount). Run with -t1 so that
-- the counts below see every response.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.body = os.getenv("BENCH_BODY")
local expect = os.getenv("BENCH_EXPECT") or ""
-- Globals of each thread's state, collected in done() through thread:get().
bad, sample = 0, nil
local threads = {}

setup = function(thread)
  table.insert(threads, thread)
end

response = function(status, headers, body)
  if status ~= 200 or body:find('"errors"', 1, true) or not body:find(expect, 1, true) then
    bad = bad + 1
    sample = sample or (status .. " " .. body:sub(1, 300))
  end
end

done = function(summary, latency, requests)
  local total, first = 0, nil
  for _, t in ipairs(threads) do
    total = total + t:get("bad")
    first = first or t:get("sample")
  end
  io.write(string.format("BAD %d\n", total))
  if first then io.write("SAMPLE " .. first .. "\n") end
end
