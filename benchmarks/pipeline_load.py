#!/usr/bin/env python3
"""Load generator for `recops serve`: signed Twilio callbacks from concurrent senders.

For each recording: a finished recording is created in the sandbox, the voice webhook names its
job (JobId), then the recording status callback is sent and its acknowledgement timed. Afterwards
it waits until every recording's line is in its job's history (read from the sandbox), so the
run measures callback acknowledgement latency and end-to-end recordings per second.
Standard library only. Prints one JSON object.

Usage: pipeline_load.py --app URL --sandbox URL --account AC… --token TOKEN --jobs J-1,J-2 [--count 200] [--senders 50]
"""
import argparse, base64, concurrent.futures, hashlib, hmac, json, statistics, time, urllib.parse, urllib.request, uuid


def sign(url, params, token):
    payload = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def post_form(url, params, token, target=None):
    body = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(target or url, data=body, method="POST", headers={
        "X-Twilio-Signature": sign(url, params, token), "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return response.status


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True, help="app.url: what signatures are computed against")
    parser.add_argument("--targets", default="", help="comma-separated base URLs to send to, in turn (several replicas); default: --app")
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--jobs", required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--duration", type=int, default=30, help="seconds per recording (the sandbox MP3 is 4000 bytes a second)")
    parser.add_argument("--from", dest="caller", default=None, help="the caller's number (From) of every call; default: none sent")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--idle-timeout", type=float, default=60, help="stop waiting when no line arrived for this long")
    args = parser.parse_args()
    jobs = args.jobs.split(",")
    targets = [t for t in args.targets.split(",") if t] or [args.app]
    auth = "Basic " + base64.b64encode(f"{args.account}:{args.token}".encode()).decode()

    def prepare(n):
        call_sid = "CA" + uuid.uuid4().hex
        request = urllib.request.Request(args.sandbox + "/_sandbox/recordings", method="POST",
                                         data=json.dumps({"call_sid": call_sid, "duration": args.duration, **({"from": args.caller} if args.caller else {})}).encode(),
                                         headers={"Authorization": auth, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            recording = json.load(response)
        job = jobs[n % len(jobs)]
        target = targets[n % len(targets)]
        voice = [("AccountSid", args.account), ("CallSid", call_sid), ("JobId", job)] + ([("From", args.caller)] if args.caller else [])
        assert post_form(args.app + "/api/twilio/voice", voice, args.token,
                         target + "/api/twilio/voice") == 200
        return call_sid, recording, job, target

    with concurrent.futures.ThreadPoolExecutor(args.senders) as pool:
        prepared = list(pool.map(prepare, range(args.count)))

    def send(item):
        call_sid, recording, _, target = item
        started = time.perf_counter()
        params = [("AccountSid", args.account), ("CallSid", call_sid), ("RecordingSid", recording["sid"]),
                  ("RecordingUrl", "https://api.twilio.com/x"), ("RecordingStatus", "completed"),
                  ("RecordingDuration", str(args.duration)), ("RecordingChannels", "1"),
                  ("RecordingStartTime", recording["start_time"]), ("RecordingSource", "StartCallRecording"),
                  ("RecordingTrack", "both"), ("ErrorCode", "0")]
        try:
            status = post_form(args.app + "/api/twilio/recording", params, args.token, target + "/api/twilio/recording")
        except Exception:
            status = 0  # refused, reset or timed out: Twilio would retry later
        return status, time.perf_counter() - started

    def airtable_counts():
        with urllib.request.urlopen(args.sandbox + "/_sandbox/state", timeout=30) as response:
            state = json.load(response)["airtable"]
        return state["served"], state["throttled"]

    # Requests the sandbox's Airtable answered from here on are the history step's (the voice
    # webhooks' job lookups came before); reading the state back is not an Airtable request.
    served_before, throttled_before = airtable_counts()
    first = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(args.senders) as pool:
        results = list(pool.map(send, prepared))
    acked = time.perf_counter()
    latencies = sorted(latency for _, latency in results)

    expected = len(prepared)
    last_change, lines, done = time.perf_counter(), -1, time.perf_counter()
    while True:
        with urllib.request.urlopen(args.sandbox + "/_sandbox/state", timeout=30) as response:
            records = json.load(response)["airtable"]["tables"][0]["records"]
        count = sum(r["fields"].get("job_history", "").count("| URL: ") for r in records)
        now = time.perf_counter()
        if count != lines:
            lines, last_change, done = count, now, now
        if lines >= expected or now - first > args.timeout or now - last_change > args.idle_timeout:
            break
        time.sleep(0.05)

    served_after, throttled_after = airtable_counts()
    history_requests = served_after - served_before

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))]

    print(json.dumps({
        "recordings": expected, "senders": args.senders, "jobs": len(jobs),
        "acknowledged_2xx": sum(1 for status, _ in results if 200 <= status < 300),
        "ack_ms_p50": round(percentile(50) * 1000, 1), "ack_ms_p99": round(percentile(99) * 1000, 1),
        "ack_ms_max": round(latencies[-1] * 1000, 1),
        "callbacks_per_s": round(expected / (acked - first), 1),
        "lines_written": lines, "end_to_end_s": round(done - first, 2),
        "recordings_per_s": round(lines / (done - first), 2),
        "history_requests": history_requests, "requests_per_line": round(history_requests / max(1, lines), 3),
        "throttled": throttled_after - throttled_before,
    }))


if __name__ == "__main__":
    main()
