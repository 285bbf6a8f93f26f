#!/usr/bin/env bash
# Run the GPU suite (tests/gpu, marker `gpu`) and append a dated record of the run to docs/gpu_runs.md:
# date, commit, device, torch/CUDA versions and pytest's summary line. Usage, from anywhere in the clone:
#   tests/gpu/run_gpu_suite.sh [extra pytest arguments]
# Exits with pytest's status. Without CUDA the tests are skipped and the record says so.
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python
LOG=$(mktemp)
"$PY" -m pytest -m gpu tests/gpu -q -p no:cacheprovider -rfEs "$@" 2>&1 | tee "$LOG"
STATUS=${PIPESTATUS[0]}
DEVICE=$("$PY" -c 'import torch; print(f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}" if torch.cuda.is_available() else f"no CUDA device (torch {torch.__version__})")')
SUMMARY=$(grep -E '^(=+ )?[0-9]+ (passed|failed|skipped|error)' "$LOG" | tail -1 | sed 's/=//g; s/^ *//; s/ *$//')
FAILED=$(grep -E '^(FAILED|ERROR) ' "$LOG" | sed 's/^/  - /')
RECORD="docs/gpu_runs.md"
if [ ! -f "$RECORD" ]; then
  printf '# GPU suite runs\n\nWritten by `tests/gpu/run_gpu_suite.sh` (one entry per run, newest last).\n' > "$RECORD"
fi
{
  printf '\n## %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf -- '- commit: %s%s\n' "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "$(git diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
  printf -- '- device: %s\n' "$DEVICE"
  printf -- '- result: %s (exit status %s)\n' "${SUMMARY:-no pytest summary}" "$STATUS"
  [ -n "$FAILED" ] && printf -- '- failures:\n%s\n' "$FAILED"
} >> "$RECORD"
rm -f "$LOG"
echo "Recorded in $RECORD"
exit "$STATUS"
