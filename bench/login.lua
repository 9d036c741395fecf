-- wrk script: a sign-in storm over 32 seeded accounts; counts answers by kind.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
n, ok, busy, other = 0, 0, 0, 0
local threads = {}

setup = function(thread)
  table.insert(threads, thread)
end
local query = 'mutation($e: String!) { login(email: $e, password: "bench-member-password") { session { token } errors { code } } }'

request = function()
  n = n + 1
  local email = string.format("user%d@example.com", (n % 32) + 1)
  local body = string.format('{"query": %q, "variables": {"e": "%s"}}', query, email)
  return wrk.format(nil, nil, nil, body)
end

response = function(status, headers, body)
  if body:find('"token"', 1, true) then ok = ok + 1
  elseif body:find('SERVER_BUSY', 1, true) then busy = busy + 1
  else other = other + 1 end
end

done = function(summary, latency, requests)
  local sum = { ok = 0, busy = 0, other = 0 }
  for _, t in ipairs(threads) do
    for k in pairs(sum) do sum[k] = sum[k] + t:get(k) end
  end
  io.write(string.format("LOGINS ok=%d busy=%d other=%d\n", sum.ok, sum.busy, sum.other))
end
