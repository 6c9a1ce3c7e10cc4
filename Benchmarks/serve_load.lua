-- wrk script for bert serve: POSTs /v1/embeddings bodies read from a file, one
-- JSON body a line, in random order; with a malformed share, that share of
-- requests gets one of several malformed bodies instead. Counts the responses
-- by status across threads, collects the server's x-inference-time (the
-- forward passes that held each request), and prints one JSON line when wrk is
-- done.
--
--   wrk -t2 -c8 -d30s -s serve_load.lua http://127.0.0.1:8080 -- bodies.jsonl 0.1

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local malformed = {
  '{"input": ',                            -- not JSON (400)
  '{"input": 42}',                         -- wrong type (422)
  '{"input": []}',                         -- empty input list (422)
  '{"input": ["a", null]}',                -- wrong item type (422)
  '{"inputs": ["the field is input"]}',    -- missing field (422)
  '[1, 2, 3]',                             -- not an object (400)
  '{"input": "x", "dimensions": 0}',       -- out of range (422)
  '{"input": "x", "encoding_format": "hex"}', -- unknown format (422)
}

function init(args)
  bodies = {}
  for line in io.lines(args[1]) do
    if #line > 0 then table.insert(bodies, line) end
  end
  share = tonumber(args[2] or "0")
  statuses = {}
  inference = {}
  sent_malformed = 0
  sent = 0
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  sent = sent + 1
  local body
  if share > 0 and math.random() < share then
    sent_malformed = sent_malformed + 1
    body = malformed[math.random(#malformed)]
  else
    body = bodies[math.random(#bodies)]
  end
  return wrk.format("POST", "/v1/embeddings", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  local ms = headers["x-inference-time"]
  if ms then table.insert(inference, tonumber(ms)) end
end

local function percentile(values, p)
  if #values == 0 then return 0 end
  return values[math.max(1, math.ceil(#values * p / 100))]
end

function done(summary, latency, requests)
  local total, malformed_sent, times = {}, 0, {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
    malformed_sent = malformed_sent + thread:get("sent_malformed")
    for _, ms in ipairs(thread:get("inference")) do table.insert(times, ms) end
  end
  table.sort(times)
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format('"%s":%d', status, count))
  end
  table.sort(parts)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"requests_per_second":%.2f,"p50_ms":%.3f,"p90_ms":%.3f,'
      .. '"p99_ms":%.3f,"max_ms":%.3f,"inference_p50_ms":%.3f,"inference_p99_ms":%.3f,'
      .. '"socket_errors":%d,"malformed_sent":%d,"statuses":{%s}}\n',
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    percentile(times, 50), percentile(times, 99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    malformed_sent, table.concat(parts, ",")))
end
