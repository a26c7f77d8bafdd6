#!/usr/bin/env bash
# ctest regenerate_tables: scripts/regenerate-tables.sh on a copy of README.md, cheaply. --dry-run runs
# and writes nothing; --lab at small sizes (bend lab all --quick) fills the lab block with a stamp and
# bend lab's table.md, leaves every line outside the markers alone, and a second run gives the same
# block, row for row (the block is replaced, never appended; measured timings, as the cost
# experiment's, may differ between runs, so rows are compared by experiment). A README without the markers is refused.
#   tests/regenerate_tables.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
script="$source/scripts/regenerate-tables.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/bend_test_regenerate_tables.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() {
  echo "regenerate_tables: FAIL: $*" >&2
  exit 1
}

cp "$source/README.md" "$dir/README.md"
bash "$script" --dry-run --all --build "$build" --readme "$dir/README.md" >"$dir/dry.log"
cmp -s "$source/README.md" "$dir/README.md" || fail "--dry-run changed the README"
grep -q "bend lab all" "$dir/dry.log" && grep -q "bend compare --preset docs" "$dir/dry.log" &&
  grep -q "bench/recipes.sh" "$dir/dry.log" || fail "--dry-run does not list every command: $(cat "$dir/dry.log")"

small=(--lab --build "$build" --readme "$dir/README.md" --lab-args "--quick")
bash "$script" "${small[@]}" >"$dir/first.log" 2>&1 || fail "--lab failed: $(tail -5 "$dir/first.log")"
cp "$dir/README.md" "$dir/first.md"
outside() { awk '/^<!-- table:lab begin -->$/ { skip = 1 } !skip { print } /^<!-- table:lab end -->$/ { skip = 0 }' "$1"; }
cmp -s <(outside "$source/README.md") <(outside "$dir/first.md") || fail "lines outside the lab block changed"
block=$(awk '/^<!-- table:lab begin -->$/ { on = 1; next } /^<!-- table:lab end -->$/ { on = 0 } on' "$dir/first.md")
grep -q "^Measured at bend [0-9a-f]* .* cores, OPENBLAS_CORETYPE=.*: \`bend lab all --quick\`" <<<"$block" ||
  fail "no stamp in the block: $block"
for experiment in collapse xor vanishing dying-relu dip init batchnorm relu-sparsity transformer selu; do
  grep -q "^| \`$experiment\` | " <<<"$block" || fail "no row for $experiment"
done

bash "$script" "${small[@]}" >"$dir/second.log" 2>&1 || fail "the second --lab failed"
# The same lines outside the block, and inside it the same rows: experiment names in the same order (the
# stamp's seconds and measured timings may differ).
rows() { awk '/^<!-- table:lab begin -->$/ { on = 1; next } /^<!-- table:lab end -->$/ { on = 0 } on' "$1" |
  grep '^| `' | sed -E 's/^(\| `[^`]*` \|).*/\1/'; }
cmp -s <(outside "$dir/first.md") <(outside "$dir/README.md") || fail "a second run changed lines outside the block"
cmp -s <(rows "$dir/first.md") <(rows "$dir/README.md") ||
  fail "a second run changed the block's rows: $(diff <(rows "$dir/first.md") <(rows "$dir/README.md") | head -20)"
[[ $(grep -c '^<!-- table:lab begin -->$' "$dir/README.md") == 1 ]] || fail "the markers were duplicated"

grep -v 'table:lab' "$source/README.md" >"$dir/unmarked.md"
if bash "$script" --lab --build "$build" --readme "$dir/unmarked.md" >"$dir/unmarked.log" 2>&1; then
  fail "a README without the lab markers was accepted"
fi
grep -q "needs the lines '<!-- table:lab begin -->'" "$dir/unmarked.log" || fail "unclear message: $(cat "$dir/unmarked.log")"
echo "regenerate_tables: ok"
