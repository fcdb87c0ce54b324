#!/usr/bin/env python3
"""Writes a wrk script that sends pre-signed recording callbacks, each for a new recording.

wrk (C, an event loop per thread) is the load generator here because it is not the bottleneck:
its rate against an endpoint that does nothing (/healthz) is measured beside it. Signing happens
here, ahead of time, so the generator does no HMAC while it measures. Each wrk thread takes its
own share of the callbacks (thread i sends callbacks i, i + threads, …); once a share is used up
it wraps around, and the repeats are acknowledged as duplicates (cheaper): keep --count above the
requests a run sends.

Usage: wrk_callbacks.py --app URL --account AC… --token TOKEN --count N --threads T --data callbacks.tsv > callbacks.lua
(the callbacks go to the --data file, one per line, which the script reads at start: Lua allows
only 65,536 constants in one chunk)
"""
import argparse, base64, hashlib, hmac, urllib.parse, uuid


def sign(url, params, token):
    payload = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--count", type=int, default=40000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", required=True)
    parser.add_argument("--delay-ms", type=int, default=0, help="each connection waits this long between requests (0: as fast as answers come)")
    args = parser.parse_args()
    url = args.app + "/api/twilio/recording"
    data = open(args.data, "w")
    for n in range(args.count):
        params = [("AccountSid", args.account), ("CallSid", "CA" + uuid.uuid4().hex), ("RecordingSid", "RE" + uuid.uuid4().hex),
                  ("RecordingUrl", "https://api.twilio.com/x"), ("RecordingStatus", "completed"), ("RecordingDuration", "3"),
                  ("RecordingChannels", "1"), ("RecordingStartTime", "Mon, 30 Nov 2026 12:00:00 +0000"),
                  ("RecordingSource", "StartCallRecording"), ("RecordingTrack", "both"), ("ErrorCode", "0")]
        data.write(f"{sign(url, params, args.token)}\t{urllib.parse.urlencode(params)}\n")
    data.close()
    if args.delay_ms:
        print(f"function delay() return {args.delay_ms} end")
    print(f"""
local bodies, signatures = {{}}, {{}}
for line in io.lines("{args.data}") do
  local signature, body = line:match("^([^\t]*)\t(.*)$")
  signatures[#signatures + 1] = signature
  bodies[#bodies + 1] = body
end
local threads, counter = {args.threads}, 0
function setup(thread) counter = counter + 1; thread:set("id", counter) end
local index
function init(args) index = id end
function request()
  local n = index
  index = index + threads
  if index > #bodies then index = id end
  return wrk.format("POST", "/api/twilio/recording",
    {{["Content-Type"] = "application/x-www-form-urlencoded", ["X-Twilio-Signature"] = signatures[n]}}, bodies[n])
end
""")


if __name__ == "__main__":
    main()
