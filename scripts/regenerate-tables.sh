#!/usr/bin/env bash
# Reruns what produced each measured table of README.md (and bench/) and writes the result in place,
# stamped with the commit, CPU model, cores, OPENBLAS_CORETYPE, date and the command that measured it.
# In README.md each table sits between markers, which this script keeps and fills:
#
#   <!-- table:lab begin -->   ...   <!-- table:lab end -->
#   <!-- table:docs begin -->  ...   <!-- table:docs end -->
#
# Running it twice gives the same file but for the stamps' figures (idempotent: nothing is appended).
#
#   scripts/regenerate-tables.sh --lab           bend lab all at its defaults (about 20 min on 2 cores)
#   scripts/regenerate-tables.sh --docs          bend compare --preset docs --jobs 2 (about 5 min on 2 cores):
#                                                README's table and docs/docs-table/ (report.md, charts)
#   scripts/regenerate-tables.sh --bench         bench/run.sh, cnn.sh, recipes.sh, sweep.sh, each of which
#                                                writes its own stamped bench/*.md (an hour or more)
#   scripts/regenerate-tables.sh --all           all three
#   scripts/regenerate-tables.sh --dry-run ...   prints what would run and which files it would write
#
# Options: --build DIR (where bend is built, default build/; it is built there first if missing),
# --readme FILE (another copy of README.md, e.g. for a test), --lab-args "ARGS" (extra flags for
# bend lab all, e.g. "--train-limit 500 --epochs 1" for a quick check; the stamp shows them).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$repo/build"
readme="$repo/README.md"
lab_args=""
dry_run=false do_lab=false do_docs=false do_bench=false

usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() {
  echo "regenerate-tables: $*" >&2
  exit 2
}

while (($#)); do
  case "$1" in
    --lab) do_lab=true ;;
    --docs) do_docs=true ;;
    --bench) do_bench=true ;;
    --all) do_lab=true do_docs=true do_bench=true ;;
    --dry-run) dry_run=true ;;
    --build) build=$(realpath -m "${2:?--build needs a directory}"); shift ;;
    --readme) readme=$(realpath -m "${2:?--readme needs a file}"); shift ;;
    --lab-args) lab_args=${2?--lab-args needs a value}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (--help lists them)" ;;
  esac
  shift
done
$do_lab || $do_docs || $do_bench || die "say which tables: --lab, --docs, --bench or --all (--help)"
[[ -f $readme ]] || die "$readme: no such file"

# Both markers of a block must be in the README, once each, begin before end.
check_markers() {
  local name=$1 begin end
  begin=$(grep -c -- "^<!-- table:$name begin -->$" "$readme" || true)
  end=$(grep -c -- "^<!-- table:$name end -->$" "$readme" || true)
  [[ $begin == 1 && $end == 1 ]] ||
    die "$readme needs the lines '<!-- table:$name begin -->' and '<!-- table:$name end -->' once each (found $begin and $end)"
}
$do_lab && check_markers lab
$do_docs && check_markers docs

# The stamp: what measured it, where and when.
stamp() {
  local command=$1 seconds=$2 commit cpu cores dirty=""
  commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
  [[ -z $(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null) ]] || dirty=" with uncommitted changes"
  cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
  cores=$(nproc)
  printf 'Measured at bend %s%s on %s, %s cores, OPENBLAS_CORETYPE=%s, %s: `%s` (%s s).' \
    "$commit" "$dirty" "${cpu:-an unknown CPU}" "$cores" "${OPENBLAS_CORETYPE:-unset}" \
    "$(date -u +%Y-%m-%d)" "$command" "$seconds"
}

# Replaces what lies between the block's markers in the README with the file's text (atomically).
replace_block() {
  local name=$1 content=$2 tmp
  tmp=$(mktemp "$readme.XXXXXX")
  awk -v begin="<!-- table:$name begin -->" -v end="<!-- table:$name end -->" -v file="$content" '
    $0 == begin { print; while ((getline line < file) > 0) print line; skipping = 1; next }
    $0 == end { skipping = 0 }
    !skipping { print }' "$readme" >"$tmp"
  chmod --reference="$readme" "$tmp"
  mv "$tmp" "$readme"
}

bend="$build/bend"
run() {
  echo "regenerate-tables: run: $*"
  $dry_run || "$@"
}
if ! $dry_run && { $do_lab || $do_docs; } && [[ ! -x $bend ]]; then
  run cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
  run cmake --build "$build" -j"$(nproc)" --target bend_cli
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/bend-tables.XXXXXX")
trap 'rm -rf "$work"' EXIT

if $do_lab; then
  # bend lab all writes table.md next to its page; the README block is the stamp and that table.
  command="bend lab all${lab_args:+ $lab_args}"
  echo "regenerate-tables: lab table: $command -> $readme (table:lab)"
  if ! $dry_run; then
    start=$SECONDS
    # shellcheck disable=SC2086  # --lab-args is a list of flags
    (cd "$repo" && "$bend" lab all --out "$work/lab" $lab_args)
    { echo; stamp "$command" "$((SECONDS - start))"; echo; echo; cat "$work/lab/table.md"; echo; } >"$work/lab.md"
    replace_block lab "$work/lab.md"
  fi
fi

if $do_docs; then
  # From the repository root, as the README says: MNIST in data/mnist, Fashion-MNIST where Debian puts it.
  command="bend compare --preset docs --jobs 2 --out docs-table"
  echo "regenerate-tables: docs table: $command -> $readme (table:docs), docs/docs-table/"
  if ! $dry_run; then
    start=$SECONDS
    (cd "$repo" && rm -rf docs-table && "$bend" compare --preset docs --jobs 2 --out docs-table)
    seconds=$((SECONDS - start))
    line=$(stamp "$command" "$seconds")
    out="$repo/docs-table"
    # docs/docs-table: the report with the stamp under its command line, and the two charts.
    mkdir -p "$repo/docs/docs-table"
    awk -v stamp="$line" 'NR == 3 && /^`/ { print; print ""; print stamp; next } { print }' "$out/report.md" \
      >"$repo/docs/docs-table/report.md"
    cp "$out/mnist/accuracy.svg" "$repo/docs/docs-table/mnist-accuracy.svg"
    cp "$out/fashion/accuracy.svg" "$repo/docs/docs-table/fashion-accuracy.svg"
    # The README block: the stamp, the table over both datasets, and each dataset's ranking and the gap
    # that 5 seeds leave open (from report.md's sections).
    {
      echo
      echo "$line"
      echo
      awk '/^\| activation \| MNIST \|/ { on = 1 } on && !/^\|/ { exit } on' "$out/report.md"
      echo
      awk '/^## / { dataset = substr($0, 4) }
           /^Ranking at/ { sub(/^Ranking at .*\): /, ""); print "- " dataset ": " $0 }
           /^The smallest unresolved gap/ { sub(/ \(paired t-test.*$/, "."); print "  " $0 }' "$out/report.md"
      echo
    } >"$work/docs.md"
    replace_block docs "$work/docs.md"
  fi
fi

if $do_bench; then
  # Each writes its own table with its own stamp (commit, CPU, OPENBLAS_CORETYPE).
  for script in run.sh cnn.sh recipes.sh sweep.sh; do
    run bash "$repo/bench/$script"
  done
fi
$dry_run && echo "regenerate-tables: dry run: nothing was run or written"
exit 0
