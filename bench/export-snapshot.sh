#!/usr/bin/env bash
# Writes every export of lakes built from fixed inputs into OUT_DIR, so two versions of the pipeline can
# be compared byte for byte:
#
#   bench/export-snapshot.sh /tmp/before           # on the old code (after npm run build)
#   bench/export-snapshot.sh /tmp/after            # on the new code
#   diff -r /tmp/before /tmp/after && echo identical
#
# Cases: the sample week; the bench's incremental shape (EXTENSIONS agents, 28 days of history, then
# the next day); then, on the same lake, the same day's object again with different content, a
# backfill of a day before the history, a second object for a day inside it, and a long absence (an
# agent back after more than a week). Run audit rows are kept without the values that change between
# runs (run ids, clock times). Object keys are fixed with --key so that paths do not matter.
set -euo pipefail

out=${1:?usage: bench/export-snapshot.sh OUT_DIR [EXTENSIONS]}
extensions=${2:-2000}
root=$(cd "$(dirname "$0")/.." && pwd)
cli=(node "$root/bin/agent-etl.js")
work=$(mktemp -d "${TMPDIR:-/tmp}/agent-etl-snapshot-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

snapshot() {
  local lake=$1 name=$2
  for table in intervals weekly report rejects; do
    "${cli[@]}" export "$table" --lake "$lake" --format csv --out "$out/$name-$table.csv"
  done
  "${cli[@]}" export runs --lake "$lake" --format json |
    node -e '
      let text = "";
      process.stdin.on("data", (chunk) => { text += chunk; });
      process.stdin.on("end", () => {
        const rows = JSON.parse(text).map(({ run_id, started_at, finished_at, ...kept }) => kept);
        rows.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
        process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
      });' >"$out/$name-runs.json"
}

run() {
  local lake=$1 key=$2 file=$3
  "${cli[@]}" run "$file" --lake "$lake" --key "$key" --no-check >/dev/null
}

# The sample week.
run "$work/sample" sample/agent-events-week.csv "$root/data/sample/agent-events-week.csv"
snapshot "$work/sample" sample

# The bench's incremental case: 28 days of history, then the next day (a Tuesday).
gen() { "${cli[@]}" generate --out "$1" --extensions "$extensions" --days "$2" --start "$3" --seed "$4" >/dev/null; }
gen "$work/history.csv" 28 2025-02-04 42
gen "$work/next-day.csv" 1 2025-03-04 43
run "$work/bench" in/history.csv "$work/history.csv"
snapshot "$work/bench" bench-history
run "$work/bench" in/next-day.csv "$work/next-day.csv"
snapshot "$work/bench" bench-next-day

# The same object with different content; a day before the history; a second object inside it.
gen "$work/next-day-v2.csv" 1 2025-03-04 44
run "$work/bench" in/next-day.csv "$work/next-day-v2.csv"
gen "$work/backfill.csv" 1 2025-02-01 45
run "$work/bench" in/backfill.csv "$work/backfill.csv"
gen "$work/inside.csv" 1 2025-02-18 46
run "$work/bench" in/inside.csv "$work/inside.csv"
# One agent back after 20 days away: its previous event lies far outside any lookback of days.
printf 'Done On,Extension,Action,Details\n3/24/2025 9:00:00 AM,101,LOGIN,\n3/24/2025 9:05:00 AM,101,ONLINE,\n3/24/2025 11:40:00 AM,101,LOGOUT,\n' >"$work/return.csv"
run "$work/bench" in/return.csv "$work/return.csv"
# And one filling a hole of weeks between two days of the same agent.
printf 'Done On,Extension,Action,Details\n3/14/2025 1:00:00 PM,101,LOGIN,\n3/14/2025 1:05:00 PM,101,REMVCEON,\n' >"$work/hole.csv"
run "$work/bench" in/hole.csv "$work/hole.csv"
snapshot "$work/bench" bench-after-changes
echo "exports written to $out"
