"""Bronze CSV to silver Parquet: the load step of the state machine on AWS Glue.

Reads one bronze object, types it with the shared input contract (workflow/input-contract.json),
writes accepted rows to silver `agent_events` (Parquet, one folder per event date) and the rest to
`rejected_rows`. No business rule lives here: productive time is computed by sql/ on Athena.

A file is refused whole (the job fails with a one-line message naming it) when it is not UTF-8
text, lacks a required column or has no valid row; nothing is written to silver then.
Ingesting the same object again replaces its earlier files, listed in a manifest per object.
"""

import codecs
import csv
import hashlib
import json
import sys
from datetime import datetime, timezone
from urllib.parse import urlparse

import boto3
from awsglue.context import GlueContext
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext
from pyspark.sql import functions as F
from pyspark.sql import types as T

# Passed by the state machine on every run (GLUE_JOB_ARGUMENTS in workflow/definition.ts).
RUN_ARGUMENTS = ["source_bucket", "source_key", "run_id"]
# Set once by the stack in the job's default_arguments.
JOB_SETTINGS = ["silver_bucket", "contract_path"]

# Columns of workflow/tables.ts, in order: AGENT_EVENTS (its partition key event_date is the folder)
# and REJECTED_ROWS.
EVENT_COLUMNS = ["done_on", "extension", "action", "details", "source_object", "source_line", "run_id"]
REJECT_COLUMNS = ["source_object", "source_line", "reason", "raw_line", "run_id"]
PARTITION_COLUMN = "event_date"

EVENTS_PREFIX = "agent_events"
REJECTS_PREFIX = "rejected_rows"
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


def read_header(s3, bucket, key, source):
    """First line of the object, after checking that its start is UTF-8 text (a BOM is tolerated)."""
    head = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{SNIFF_BYTES - 1}")["Body"].read()
    if b"\x00" in head:
        raise RefusedFile(f"{source}: not a text file")
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as error:
        raise RefusedFile(f"{source}: not UTF-8 text (byte {error.start})") from None
    first_line = text.splitlines()[0] if text else ""
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


def parse_done_on(text, formats):
    for pattern in formats:
        try:
            # Wall-clock time without a zone: kept as is by pinning it to UTC end to end.
            return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def type_rows(lines, indexes, width, formats, source, run_id):
    """(line text, 0-based line index) -> ("event", row) or ("reject", row); the header and blank lines give nothing."""
    for raw, index in lines:
        line = raw.rstrip("\r")
        number = index + 1
        if index == 0 or not line.strip():
            continue
        fields = next(csv.reader([line]), [])
        if len(fields) != width:
            reason = f"wrong number of fields: expected {width}, got {len(fields)}"
            yield ("reject", (source, number, reason, line, run_id))
            continue
        done_on_text = fields[indexes["done_on"]].strip()
        done_on = parse_done_on(done_on_text, formats)
        extension = fields[indexes["extension"]].strip()
        reasons = []
        if done_on is None:
            shown = f'"{done_on_text}"' if done_on_text else "empty"
            reasons.append(f"Done On {shown} is not an accepted timestamp")
        if not extension:
            reasons.append("Extension is empty")
        if reasons:
            yield ("reject", (source, number, "; ".join(reasons), line, run_id))
        else:
            action = fields[indexes["action"]].strip()
            details = fields[indexes["details"]].strip()
            yield ("event", (done_on, extension, action, details, source, number, run_id))


def list_keys(s3, bucket, prefix):
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def delete_keys(s3, bucket, keys):
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch})


def publish(s3, bucket, staging, source, source_id):
    """Moves staged files to their table folders as `<source-id>-<n>.parquet`, then drops the object's earlier files."""
    manifest_key = f"{MANIFEST_PREFIX}/{source_id}.json"
    try:
        earlier = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())["files"]
    except s3.exceptions.NoSuchKey:
        earlier = []
    published = []
    counters = {}
    for key in sorted(k for k in list_keys(s3, bucket, f"{staging}/") if k.endswith(".parquet")):
        folder = key[len(staging) + 1 :].rsplit("/", 1)[0]
        counters[folder] = counters.get(folder, 0) + 1
        target = f"{folder}/{source_id}-{counters[folder]}.parquet"
        s3.copy({"Bucket": bucket, "Key": key}, bucket, target)
        published.append(target)
    delete_keys(s3, bucket, sorted(set(earlier) - set(published)))
    manifest = {"source_object": source, "files": published}
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
    header = read_header(s3, bucket, key, source)
    indexes = required_indexes(header, contract["requiredColumns"], source)
    formats = contract["timestampFormats"]
    width = len(header)

    typed = (
        spark.sparkContext.textFile(f"s3://{bucket}/{key}")
        .zipWithIndex()
        .mapPartitions(lambda lines: type_rows(lines, indexes, width, formats, source, run_id))
        .cache()
    )
    events = spark.createDataFrame(typed.filter(lambda row: row[0] == "event").map(lambda row: row[1]), EVENT_SCHEMA)
    rejects = spark.createDataFrame(typed.filter(lambda row: row[0] == "reject").map(lambda row: row[1]), REJECT_SCHEMA)
    if events.limit(1).count() == 0:
        raise RefusedFile(f"{source}: no valid row")

    staging = f"{STAGING_PREFIX}/{run_id}"
    (
        events.select(*EVENT_COLUMNS)
        .withColumn(PARTITION_COLUMN, F.to_date("done_on"))
        .repartition(PARTITION_COLUMN)
        .write.partitionBy(PARTITION_COLUMN)
        .parquet(f"s3://{silver}/{staging}/{EVENTS_PREFIX}")
    )
    rejects.select(*REJECT_COLUMNS).coalesce(1).write.parquet(f"s3://{silver}/{staging}/{REJECTS_PREFIX}")
    publish(s3, silver, staging, source, source_id)


if __name__ == "__main__":
    main()
