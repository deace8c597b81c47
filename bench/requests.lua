-- wrk script for the highway-traffic benchmark: cycles through pre-built SOAP requests
-- (one per line of $BENCH_REQUESTS; each wrk thread takes every Nth line so no nonce is
-- sent twice) and checks every answer: status 200, no fault, the expected elements present.
-- Prints one JSON object (prefixed BENCH_RESULT) when done.

local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local stride = tonumber(os.getenv("BENCH_THREADS") or "1")
  markers = {}
  for marker in string.gmatch(os.getenv("BENCH_MARKERS") or "", "[^|]+") do
    table.insert(markers, marker)
  end
  bodies = {}
  local n = 0
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    if n % stride == index then
      table.insert(bodies, line)
    end
    n = n + 1
  end
  -- Requests without a nonce may be sent again; digest requests must never repeat.
  reuse = os.getenv("BENCH_REUSE") == "1"
  headers = {
    ["Content-Type"] = "text/xml; charset=utf-8",
    ["SOAPAction"] = '"urn:highway-traffic:v1/GetTravelTimes"',
  }
  nxt, ok, bad, faults, throttled, exhausted, first_bad = 1, 0, 0, 0, 0, 0, ""
end

function request()
  if nxt > #bodies then
    nxt = 1
    if not reuse then
      exhausted = exhausted + 1
      wrk.thread:stop()
    end
  end
  local body = bodies[nxt]
  nxt = nxt + 1
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  local good = status == 200 and not string.find(body, ":Fault>", 1, true)
  if good then
    for _, marker in ipairs(markers) do
      if not string.find(body, marker, 1, true) then
        good = false
      end
    end
  end
  if good then
    ok = ok + 1
  else
    bad = bad + 1
    if status == 429 then throttled = throttled + 1 end
    if string.find(body, ":Fault>", 1, true) then faults = faults + 1 end
    if first_bad == "" then
      first_bad = string.sub(string.format("%d %s", status, body), 1, 300)
    end
  end
end

local function json_string(text)
  return '"' .. string.gsub(text, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local totals = {ok = 0, bad = 0, faults = 0, throttled = 0, exhausted = 0}
  local sample = ""
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do
      totals[key] = totals[key] + (thread:get(key) or 0)
    end
    if sample == "" then sample = thread:get("first_bad") or "" end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"mean_us": %.1f, "max_us": %d, "ok": %d, "bad": %d, "faults": %d, "throttled": %d, ' ..
    '"exhausted": %d, "socket_errors": %d, "status_errors": %d, "first_bad": %s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, latency.max, totals.ok, totals.bad, totals.faults, totals.throttled,
    totals.exhausted, e.connect + e.read + e.write + e.timeout, e.status,
    json_string(sample)))
end
