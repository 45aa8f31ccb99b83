#!/usr/bin/env bash
# Quality, speed and memory of the decoding options on a run's test split: fp32, int8 weights,
# a lexical shortlist of K candidates, and both. For each option: `seqlab eval` (BLEU, chrF),
# `seqlab compare` against fp32 (paired bootstrap: the difference with its 95% interval and
# p-value), and `seqlab translate --stats` over the test sources (output tokens/s, peak RSS).
#
#   scripts/decode-options.sh RUN_DIR [RUN_DIR ...]
#
# Environment: SEQLAB (default build/bin/seqlab), BEAM (default 5), SHORTLIST (K, default 50),
# THREADS (default 2), WORKERS (default 1). Writes RUN_DIR/test.beamB[.int8][.shortlistK].hyp
# beside the run's own files and prints one Markdown table row per run and option.
set -euo pipefail
seqlab=${SEQLAB:-build/bin/seqlab}
beam=${BEAM:-5}
k=${SHORTLIST:-50}
threads=${THREADS:-2}
workers=${WORKERS:-1}
[ $# -ge 1 ] || { sed -n '2,12p' "$0"; exit 2; }

field() {  # JSON_TEXT KEY -> the value (numbers and strings)
  python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(eval("v"+sys.argv[2]))' "$1" "$2"
}

echo "| run | option | BLEU | chrF2 | BLEU vs fp32 (95% CI, p) | chrF vs fp32 (95% CI, p) | tokens/s | peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|"
for run in "$@"; do
  corpus=$(field "$(cat "$run/config.json")" '["data"]["corpus"]')
  test_tsv=${SEQLAB_DATA:-$HOME/.cache/seqlab}/$corpus/test.tsv
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  cut -f1 "$test_tsv" > "$scratch/src"
  cut -f2 "$test_tsv" > "$scratch/ref"
  base=""
  for option in fp32 int8 shortlist both; do
    flags=()
    case $option in
      int8) flags=(--precision int8) ;;
      shortlist) flags=(--precision fp32 --shortlist "$k") ;;
      both) flags=(--precision int8 --shortlist "$k") ;;
      fp32) flags=(--precision fp32 --shortlist 0) ;;
    esac
    result=$("$seqlab" eval --run "$run" --split test --beam "$beam" "${flags[@]}" --json 2>/dev/null | tail -1)
    hyp=$(field "$result" '["hypotheses"]')
    bleu=$(field "$result" '["bleu"]')
    chrf=$(field "$result" '["chrf"]')
    stats=$("$seqlab" translate --run "$run" --beam "$beam" "${flags[@]}" --threads "$threads" \
      --workers "$workers" --stats < "$scratch/src" 2>&1 >/dev/null | tail -1)
    rate=$(field "$stats" '["tokens_per_s"]')
    rss=$(field "$stats" '["peak_rss_mb"]')
    if [ -z "$base" ]; then
      base=$hyp
      printf '| %s | %s | %.2f | %.2f | | | %.0f | %.0f |\n' "$(basename "$run")" "$option" \
        "$bleu" "$chrf" "$rate" "$rss"
      continue
    fi
    paired=$("$seqlab" compare --ref "$scratch/ref" --hyp "$base" --hyp "$hyp" --paired bs --json)
    summary=$(python3 - "$paired" <<'EOF'
import json, sys
result = json.loads(sys.argv[1])
cells = []
for metric in ("bleu", "chrf"):
    for m in result["results"]:
        if m["metric"] == metric:
            low, high = m["interval"]
            cells.append(f'{m["difference"]:+.2f} ({low:+.2f}, {high:+.2f}), p = {m["p_value"]:.3f}')
print(" | ".join(cells))
EOF
)
    printf '| %s | %s | %.2f | %.2f | %s | %.0f | %.0f |\n' "$(basename "$run")" "$option" \
      "$bleu" "$chrf" "$summary" "$rate" "$rss"
  done
  rm -rf "$scratch"
  trap - EXIT
done
