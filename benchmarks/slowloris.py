"""What a slowloris costs `recops serve`: N sockets that send their request headers a byte a
second and never finish (reopened as soon as the server cuts one off), while signed status
callbacks are sent one at a time. Reports the callbacks' latency before and during the attack,
the server's memory and CPU, and how long the server let each slow socket live.

Usage: python3 benchmarks/slowloris.py --app URL --pid PID --account AC… --token TOKEN [--sockets 500] [--seconds 30]
Prints one JSON object. Loopback only; bounded in sockets and time.
"""
import argparse, asyncio, base64, hashlib, hmac, json, os, statistics, time, urllib.parse, uuid


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def signature(url, params, token):
    data = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


async def callback(host, port, app, account, token):
    path = "/api/twilio/status"
    params = [("AccountSid", account), ("CallSid", "CA" + uuid.uuid4().hex), ("CallStatus", "completed")]
    body = urllib.parse.urlencode(params)
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               f"X-Twilio-Signature: {signature(app + path, params, token)}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}")
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request.encode())
    await writer.drain()
    status = (await reader.readline()).decode()
    writer.close()
    return (time.perf_counter() - started) * 1000, status.split(" ")[1] if " " in status else "none"


async def latencies(host, port, app, account, token, count):
    results = [await callback(host, port, app, account, token) for _ in range(count)]
    ms = sorted(r[0] for r in results)
    return {"count": count, "ok": sum(r[1] == "204" for r in results), "p50_ms": round(ms[len(ms) // 2], 2),
            "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 2), "max_ms": round(ms[-1], 2)}


async def slow_socket(host, port, until, lifetimes, opened):
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        opened[0] += 1
        born = time.monotonic()
        try:
            writer.write(f"POST /api/twilio/recording HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode())
            while time.monotonic() < until:
                await writer.drain()
                writer.write(b"a")
                try:
                    if await asyncio.wait_for(reader.read(1), timeout=1.0) == b"":
                        break  # the server hung up
                except asyncio.TimeoutError:
                    pass
            else:
                writer.close()
                return
            lifetimes.append(time.monotonic() - born)
        except (ConnectionError, OSError):
            lifetimes.append(time.monotonic() - born)
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--callbacks", type=int, default=200)
    args = parser.parse_args()
    url = urllib.parse.urlparse(args.app)
    host, port = url.hostname, url.port
    before = {"rss_mib": round(rss_mib(args.pid), 1)}
    before["callbacks"] = await latencies(host, port, args.app, args.account, args.token, args.callbacks)
    cpu0, t0 = cpu_seconds(args.pid), time.monotonic()
    until = time.monotonic() + args.seconds
    lifetimes, opened = [], [0]
    attackers = [asyncio.create_task(slow_socket(host, port, until, lifetimes, opened)) for _ in range(args.sockets)]
    await asyncio.sleep(min(3.0, args.seconds / 4))
    during = {"callbacks": await latencies(host, port, args.app, args.account, args.token, args.callbacks)}
    peak = rss_mib(args.pid)
    while time.monotonic() < until:
        peak = max(peak, rss_mib(args.pid))
        await asyncio.sleep(0.5)
    await asyncio.gather(*attackers)
    during["rss_peak_mib"] = round(peak, 1)
    during["cpu_percent"] = round(100 * (cpu_seconds(args.pid) - cpu0) / (time.monotonic() - t0), 1)
    during["slow_sockets_opened"] = opened[0]
    during["cut_off_after_s_median"] = round(statistics.median(lifetimes), 2) if lifetimes else None
    print(json.dumps({"sockets": args.sockets, "seconds": args.seconds, "before": before, "during": during}))


asyncio.run(main())
