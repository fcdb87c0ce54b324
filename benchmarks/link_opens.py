#!/usr/bin/env python3
"""Opens of stable links against `recops serve`: known ids against unknown (well-formed, random)
ones, interleaved at random on one kept-alive connection, so both see the same machine. A known
id answers 302 to a fresh presigned URL, an unknown one 410; each open also writes its audit row.
Reports latency percentiles of both and the history lines' lengths. Standard library only.

Usage: link_opens.py --sandbox URL --opens 2000 [--presigned-url-length N]
"""
import argparse, base64, http.client, json, os, random, statistics, time, urllib.parse, urllib.request


def histories(sandbox):
    with urllib.request.urlopen(sandbox + "/_sandbox/state", timeout=30) as response:
        state = json.load(response)
    for table in state["airtable"]["tables"]:
        for record in table["records"]:
            yield record["fields"].get("job_history") or ""


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--opens", type=int, default=2000)
    parser.add_argument("--presigned-url-length", type=int, default=0)
    args = parser.parse_args()
    lines = [line for history in histories(args.sandbox) for line in history.split("\n") if "/r/" in line]
    links = [line.rsplit(" ", 1)[1] for line in lines]
    assert links, "no stable link in any history"
    base = urllib.parse.urlsplit(links[0])
    connection = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
    timings = {"known": [], "unknown": []}
    statuses = {"known": {}, "unknown": {}}
    kinds = ["known", "unknown"] * (args.opens // 2)
    random.shuffle(kinds)
    for kind in kinds:
        if kind == "known":
            path = urllib.parse.urlsplit(random.choice(links)).path
        else:
            path = "/r/" + base64.urlsafe_b64encode(os.urandom(18)).decode()
        start = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        timings[kind].append((time.perf_counter() - start) * 1000)
        statuses[kind][response.status] = statuses[kind].get(response.status, 0) + 1
    stable_line = max(len(line) for line in lines)
    stable_url = max(len(link) for link in links)
    result = {"opens": args.opens, "links": len(links), "statuses": {k: {str(s): n for s, n in v.items()} for k, v in statuses.items()},
              "stable_line": stable_line, "stable_url": stable_url}
    if args.presigned_url_length:
        result["presigned_line"] = stable_line - stable_url + args.presigned_url_length
        result["presigned_url"] = args.presigned_url_length
    for kind, values in timings.items():
        result[kind] = {"p50_ms": round(percentile(values, 50), 2), "p90_ms": round(percentile(values, 90), 2),
                        "p99_ms": round(percentile(values, 99), 2), "mean_ms": round(statistics.mean(values), 2)}
    result["p50_difference_ms"] = round(result["known"]["p50_ms"] - result["unknown"]["p50_ms"], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
