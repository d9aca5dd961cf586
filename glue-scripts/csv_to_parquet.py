"""Bronze CSV to silver Parquet: the load step of the state machine on AWS Glue.

Reads one bronze object's bytes (by bucket and key, in the driver: a daily export fits in its memory),
splits them into records by the same rule as the local loader (local/record-lines.ts), types them
with the shared input contract (workflow/input-contract.json),
writes accepted rows to silver `agent_events` (Parquet, one folder per event date) and the rest to
`rejected_rows`, with two small summaries of the accepted rows that let the SQL prune silver to the
days a run needs: `event_extents` (first and last event per extension and day, one folder per event
date) and `loaded_days` (the run's event dates). No business rule lives here: productive time is computed by sql/ on Athena.

A file is refused whole (the job fails with a one-line message naming it) when it is not UTF-8
text, lacks a required column or has no valid row; nothing is written to silver then.
Ingesting the same object again adds a set of files for the new run; SQL counts only the object's
latest successful run (pipeline_runs), so a failed run never removes the version that stands.
"""

import codecs
import csv
import hashlib
import json
import sys
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError
from awsglue.context import GlueContext
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext
from pyspark.sql import functions as F
from pyspark.sql import types as T

# Passed by the state machine on every run (GLUE_JOB_ARGUMENTS in workflow/definition.ts).
RUN_ARGUMENTS = ["source_bucket", "source_key", "run_id"]
# Set once by the stack in the job's default_arguments.
JOB_SETTINGS = ["silver_bucket", "contract_path"]

# Columns of workflow/tables.ts, in order: AGENT_EVENTS and EVENT_EXTENTS (their partition key
# event_date is the folder), REJECTED_ROWS and LOADED_DAYS.
EVENT_COLUMNS = ["done_on", "extension", "action", "details", "source_object", "source_line", "run_id"]
REJECT_COLUMNS = ["source_object", "source_line", "reason", "raw_line", "run_id"]
EXTENT_COLUMNS = ["extension", "first_event", "last_event", "event_count", "source_object", "run_id"]
DAY_COLUMNS = ["event_date", "first_event", "last_event", "event_count", "source_object", "run_id"]
PARTITION_COLUMN = "event_date"

EVENTS_PREFIX = "agent_events"
REJECTS_PREFIX = "rejected_rows"
EXTENTS_PREFIX = "event_extents"
DAYS_PREFIX = "loaded_days"
STAGING_PREFIX = "_staging"
MANIFEST_PREFIX = "_manifests"
SNIFF_BYTES = 64 * 1024

EVENT_SCHEMA = T.StructType(
    [
        T.StructField("done_on", T.TimestampType(), False),
        T.StructField("extension", T.StringType(), False),
        T.StructField("action", T.StringType(), False),
        T.StructField("details", T.StringType(), False),
        T.StructField("source_object", T.StringType(), False),
        T.StructField("source_line", T.LongType(), False),
        T.StructField("run_id", T.StringType(), False),
    ]
)
REJECT_SCHEMA = T.StructType(
    [
        T.StructField("source_object", T.StringType(), False),
        T.StructField("source_line", T.LongType(), False),
        T.StructField("reason", T.StringType(), False),
        T.StructField("raw_line", T.StringType(), False),
        T.StructField("run_id", T.StringType(), False),
    ]
)


class RefusedFile(Exception):
    """The whole object breaks the input contract."""


def normalize(name):
    return "".join(name.split()).replace("_", "").lower()


def read_contract(s3, uri):
    location = urlparse(uri)
    body = s3.get_object(Bucket=location.netloc, Key=location.path.lstrip("/"))["Body"].read()
    return json.loads(body)


def read_object(s3, bucket, key, source):
    """The object's bytes, read by bucket and key: no character of the key is a pattern or a separator.

    The role has no s3:ListBucket on bronze, and S3 answers 403, not 404, for a missing key without it
    (GetObject, "Permissions": https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html), so
    any read error is reported as one line, never interpreted as "missing".
    """
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise RefusedFile(f"{source}: cannot read the object ({code}: missing, or not readable by the job)") from None


def physical_lines(data):
    """Lines end at LF; a CR before it is dropped. A last line without a line break counts too."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def read_header(data, source):
    """Fields of the first line, after checking that the start is UTF-8 text (a BOM is tolerated)."""
    head = data[:SNIFF_BYTES]
    if b"\x00" in head:
        raise RefusedFile(f"{source}: not a text file")
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as error:
        raise RefusedFile(f"{source}: not UTF-8 text (byte {error.start})") from None
    first_line = text.split("\n", 1)[0].removesuffix("\r") if text else ""
    if "\r" in first_line:
        raise RefusedFile(f"{source}: lines end with a bare carriage return (CR); save the file with LF or CRLF line ends")
    if not first_line.strip():
        raise RefusedFile(f"{source}: empty file or empty header row")
    return next(csv.reader([first_line]))


def required_indexes(header, required_columns, source):
    """Index of each required column, matched ignoring case, spaces and underscores; first match wins."""
    positions = {}
    for index, name in enumerate(header):
        positions.setdefault(normalize(name), index)
    indexes = {column: positions.get(normalize(label)) for column, label in required_columns.items()}
    missing = [required_columns[column] for column, index in indexes.items() if index is None]
    if missing:
        raise RefusedFile(f"{source}: missing required column(s): {', '.join(missing)}")
    return indexes


def cut_text(text, limit):
    """Text cut to at most `limit` UTF-8 bytes on a character boundary, with a marker saying how long it was."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore") + f"\u2026 [cut: {len(data)} bytes in all]"


def parse_record(text):
    """(fields, None) for one record's text (RFC 4180 quoting), or (None, reason)."""
    fields = []
    at = 0
    while True:
        if at < len(text) and text[at] == '"':
            value = []
            start = at + 1
            while True:
                quote = text.find('"', start)
                if quote == -1:
                    return None, "unterminated quoted field"
                value.append(text[start:quote])
                if text[quote + 1 : quote + 2] == '"':
                    value.append('"')
                    start = quote + 2
                    continue
                at = quote + 1
                break
            fields.append("".join(value))
            if at < len(text) and text[at] != ",":
                return None, "text after a closing quote"
        else:
            comma = text.find(",", at)
            end = len(text) if comma == -1 else comma
            value = text[at:end]
            if '"' in value:
                return None, "a quote inside an unquoted field"
            fields.append(value)
            at = end
        if at >= len(text):
            return fields, None
        at += 1


def split_records(lines, width, limits):
    """(line number, fields or None, reason or None, raw text) per data record; local/record-lines.ts has the same rule.

    Empty lines are skipped. A line with an odd number of quotes opens a quoted field and the next lines
    join it until the quotes balance, up to maxRecordBytes; if the joined text is not one record of
    `width` fields, only its first line is rejected and reading goes on at the next line.
    """
    max_bytes, raw_bytes = limits["maxRecordBytes"], limits["maxRawTextBytes"]

    def record(number, text):
        fields, reason = parse_record(text)
        if fields is not None and len(fields) != width:
            fields, reason = None, f"wrong number of fields: expected {width}, got {len(fields)}"
        return (number, fields, reason, cut_text(text, raw_bytes))

    index = 1
    while index < len(lines):
        line, number = lines[index], index + 1
        index += 1
        if not line:
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            yield (number, None, "not UTF-8 text", cut_text(line.decode("utf-8", "replace"), raw_bytes))
            continue
        if len(line) > max_bytes:
            yield (number, None, f"record longer than {max_bytes} bytes", cut_text(text, raw_bytes))
            continue
        if line.count(b'"') % 2 == 0:
            yield record(number, text)
            continue
        texts, size, following, is_open = [text], len(line), index, True
        while is_open and following < len(lines):
            nxt = lines[following]
            following += 1
            size += 1 + len(nxt)
            try:
                nxt_text = nxt.decode("utf-8")
            except UnicodeDecodeError:
                break
            if size > max_bytes:
                break
            texts.append(nxt_text)
            if nxt.count(b'"') % 2 == 1:
                is_open = False
        whole = None if is_open else record(number, "\n".join(texts))
        if whole is not None and whole[1] is not None:
            yield whole
            index = following
            continue
        yield record(number, text)


def parse_done_on(text, formats):
    for pattern in formats:
        try:
            # Wall-clock time without a zone: kept as is by pinning it to UTC end to end. Python's %Y
            # takes exactly four digits, so a two-digit year is rejected, never guessed.
            return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def type_records(records, indexes, contract, source, run_id, run_day):
    """("event", row) or ("reject", row) per record of split_records."""
    whitespace = contract["whitespace"]
    formats = contract["timestampFormats"]
    accepted = contract["acceptedDoneOn"]
    earliest = date.fromisoformat(accepted["earliest"])
    latest = run_day + timedelta(days=accepted["latestDaysAfterRunDay"])
    raw_bytes = contract["records"]["maxRawTextBytes"]
    for number, fields, malformed, raw in records:
        if fields is None:
            yield ("reject", (source, number, malformed, raw, run_id))
            continue
        done_on_text = fields[indexes["done_on"]].strip(whitespace)
        done_on = parse_done_on(done_on_text, formats)
        extension = fields[indexes["extension"]].strip(whitespace)
        reasons = []
        # The value a reason quotes is cut as the raw text is (local/loader.ts cutLongReasons).
        quoted = cut_text(done_on_text, raw_bytes)
        if done_on is None:
            shown = f'"{quoted}"' if done_on_text else "empty"
            reasons.append(f"Done On {shown} is not an accepted timestamp")
        elif not earliest <= done_on.date() <= latest:
            reasons.append(f'Done On "{quoted}" is outside the accepted range, {earliest} to {latest}')
        if not extension:
            reasons.append("Extension is empty")
        if reasons:
            yield ("reject", (source, number, "; ".join(reasons), raw, run_id))
        else:
            action = fields[indexes["action"]].strip(whitespace)
            details = fields[indexes["details"]].strip(whitespace)
            yield ("event", (done_on, extension, action, details, source, number, run_id))


def list_keys(s3, bucket, prefix):
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def delete_keys(s3, bucket, keys):
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch})


def publish(s3, bucket, staging, source, source_id, run_id):
    """Moves staged files to their table folders as `<source-id>-<run-tag>-<n>.parquet`, one set per run.

    Earlier runs' files stay: which run's rows count is decided in SQL by pipeline_runs (an object's
    latest successful run), so a run that fails after loading must not remove the version that stands.
    The manifest lists every run's files, for a later cleanup of superseded versions.
    """
    manifest_key = f"{MANIFEST_PREFIX}/{source_id}.json"
    # Listed before it is read: with s3:ListBucket granted only under an s3:prefix condition, a GetObject
    # of a missing key may answer 403 rather than 404, so "missing" is never inferred from an error.
    if manifest_key in set(list_keys(s3, bucket, manifest_key)):
        runs = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read()).get("runs", {})
    else:
        runs = {}
    run_tag = hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:8]
    published = []
    counters = {}
    for key in sorted(k for k in list_keys(s3, bucket, f"{staging}/") if k.endswith(".parquet")):
        folder = key[len(staging) + 1 :].rsplit("/", 1)[0]
        counters[folder] = counters.get(folder, 0) + 1
        target = f"{folder}/{source_id}-{run_tag}-{counters[folder]}.parquet"
        s3.copy({"Bucket": bucket, "Key": key}, bucket, target)
        published.append(target)
    runs[run_id] = published
    manifest = {"source_object": source, "runs": runs}
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest).encode("utf-8"))
    delete_keys(s3, bucket, list(list_keys(s3, bucket, f"{staging}/")))


def main():
    args = getResolvedOptions(sys.argv, RUN_ARGUMENTS + JOB_SETTINGS)
    bucket, key, run_id = args["source_bucket"], args["source_key"], args["run_id"]
    silver = args["silver_bucket"]
    source = f"{bucket}/{key}"
    source_id = hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]

    spark = GlueContext(SparkContext.getOrCreate()).spark_session
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    s3 = boto3.client("s3")

    contract = read_contract(s3, args["contract_path"])
    data = read_object(s3, bucket, key, source)
    header = read_header(data, source)
    indexes = required_indexes(header, contract["requiredColumns"], source)
    run_day = datetime.now(timezone.utc).date()
    records = split_records(physical_lines(data), len(header), contract["records"])
    typed = list(type_records(records, indexes, contract, source, run_id, run_day))
    event_rows = [row for kind, row in typed if kind == "event"]
    reject_rows = [row for kind, row in typed if kind == "reject"]
    if not event_rows:
        raise RefusedFile(f"{source}: no valid row ({len(reject_rows)} rejected)")
    events = spark.createDataFrame(event_rows, EVENT_SCHEMA)
    rejects = spark.createDataFrame(reject_rows, REJECT_SCHEMA)

    staging = f"{STAGING_PREFIX}/{run_id}"
    (
        events.select(*EVENT_COLUMNS)
        .withColumn(PARTITION_COLUMN, F.to_date("done_on"))
        .repartition(PARTITION_COLUMN)
        .write.partitionBy(PARTITION_COLUMN)
        .parquet(f"s3://{silver}/{staging}/{EVENTS_PREFIX}")
    )
    rejects.select(*REJECT_COLUMNS).coalesce(1).write.parquet(f"s3://{silver}/{staging}/{REJECTS_PREFIX}")
    extents = (
        events.withColumn(PARTITION_COLUMN, F.to_date("done_on"))
        .groupBy("source_object", "run_id", "extension", PARTITION_COLUMN)
        .agg(
            F.min("done_on").alias("first_event"),
            F.max("done_on").alias("last_event"),
            F.count(F.lit(1)).alias("event_count"),
        )
        .cache()
    )
    (
        extents.select(*EXTENT_COLUMNS, PARTITION_COLUMN)
        .repartition(PARTITION_COLUMN)
        .write.partitionBy(PARTITION_COLUMN)
        .parquet(f"s3://{silver}/{staging}/{EXTENTS_PREFIX}")
    )
    (
        extents.groupBy("source_object", "run_id", PARTITION_COLUMN)
        .agg(
            F.min("first_event").alias("first_event"),
            F.max("last_event").alias("last_event"),
            F.sum("event_count").cast("long").alias("event_count"),
        )
        .select(*DAY_COLUMNS)
        .coalesce(1)
        .write.parquet(f"s3://{silver}/{staging}/{DAYS_PREFIX}")
    )
    publish(s3, silver, staging, source, source_id, run_id)


if __name__ == "__main__":
    main()
