#!/usr/bin/env python3
"""The peer: the recording pipeline as it is commonly built today, Flask + boto3 + requests.

The same routes as `recops serve` (voice webhook with JobId, recording status callback), the same
work (download the MP3 from Twilio, upload it to S3 under the same key, append the same line to the
job's history in Airtable), done the straightforward way: in the request handler, with the
libraries' defaults, state in memory. It checks the signature as Twilio's docs show. It is a
benchmark peer, not a product: no durable queue, no per-record serialisation, no rate limiter.

Environment: the same variables as recops (AWS_*, TWILIO_*, AIRTABLE_*, S3_BUCKET, APP_URL).
Usage: flask_pipeline.py PORT
"""
import base64, datetime, hashlib, hmac, os, sys, tempfile, threading
import boto3, requests
from flask import Flask, request, abort

app = Flask(__name__)
calls = {}  # CallSid -> JobId, in memory
s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"), region_name=os.environ.get("AWS_REGION", "us-east-1"))
BUCKET = os.environ["S3_BUCKET"]
APP_URL = os.environ["APP_URL"].rstrip("/")
TWILIO = os.environ["TWILIO_API_BASE_URL"].rstrip("/")
ACCOUNT, TOKEN = os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"]
AIRTABLE = os.environ["AIRTABLE_API_BASE_URL"].rstrip("/")
BASE, TABLE = os.environ["AIRTABLE_BASE_ID"], os.environ.get("AIRTABLE_TABLE", "Jobs")
HEADERS = {"Authorization": "Bearer " + os.environ["AIRTABLE_TOKEN"]}


def valid_signature():
    url = APP_URL + request.full_path.rstrip("?")
    payload = url + "".join(k + v for k, v in sorted(request.form.items(multi=True)))
    expected = base64.b64encode(hmac.new(TOKEN.encode(), payload.encode(), hashlib.sha1).digest()).decode()
    return hmac.compare_digest(expected, request.headers.get("X-Twilio-Signature", ""))


@app.get("/healthz")
def health():
    return "ok"


@app.post("/api/twilio/voice")
def voice():
    if not valid_signature():
        abort(403)
    calls[request.form["CallSid"]] = request.values.get("JobId")
    return ('<?xml version="1.0" encoding="UTF-8"?><Response><Start><Recording channels="mono" track="both" trim="do-not-trim" '
            f'recordingStatusCallback="{APP_URL}/api/twilio/recording" recordingStatusCallbackMethod="POST" '
            'recordingStatusCallbackEvent="completed absent"/></Start><Say>Thank you. Goodbye.</Say><Hangup/></Response>',
            200, {"Content-Type": "text/xml"})


@app.post("/api/twilio/recording")
def recording():
    if not valid_signature():
        abort(403)
    form = request.form
    if form.get("RecordingStatus") != "completed":
        return "", 204
    job = calls.get(form["CallSid"]) or "unmatched"
    start = datetime.datetime.strptime(form["RecordingStartTime"], "%a, %d %b %Y %H:%M:%S %z").astimezone(datetime.timezone.utc)
    key = f"recordings/{start:%Y/%m/%d}/{form['CallSid']}-{job}.mp3"
    media = f"{TWILIO}/2010-04-01/Accounts/{ACCOUNT}/Recordings/{form['RecordingSid']}.mp3"
    with tempfile.NamedTemporaryFile(suffix=".mp3") as file:
        with requests.get(media, auth=(ACCOUNT, TOKEN), stream=True, timeout=60) as answer:
            answer.raise_for_status()
            for chunk in answer.iter_content(1 << 16):
                file.write(chunk)
        file.flush()
        s3.upload_file(file.name, BUCKET, key, ExtraArgs={"ContentType": "audio/mpeg", "ServerSideEncryption": "AES256"})
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=900)
    line = f"---- | {start:%Y-%m-%d %H:%M:%S} | Event: Recording | Source: IVR | URL: {url}"
    found = requests.get(f"{AIRTABLE}/v0/{BASE}/{TABLE}", headers=HEADERS, timeout=30,
                         params={"filterByFormula": '{Job ID} = "%s"' % job.replace('"', '\\"'), "pageSize": 1}).json()
    records = found.get("records", [])
    if records:
        history = records[0]["fields"].get("job_history", "")
        history = (history + "\n" if history else "") + line
        requests.patch(f"{AIRTABLE}/v0/{BASE}/{TABLE}/{records[0]['id']}", headers=HEADERS, json={"fields": {"job_history": history}}, timeout=30)
    return "", 204


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
