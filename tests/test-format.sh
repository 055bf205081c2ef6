#!/usr/bin/env bash
# The C sources follow .clang-format (`make format` applies it): a review
# reads the change, not the whitespace.
. "$(dirname "$0")/lib/libtest.sh"

c_sources() {
	if git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$TOP" ls-files '*.c' '*.h'
	else
		(cd "$TOP" && find init src include tests bench -name '*.[ch]' | sort)
	fi
}

test_sources_are_formatted() {
	local files
	command -v clang-format >/dev/null || fail "clang-format is missing (tools/ci-packages.txt installs it)"
	mapfile -t files < <(c_sources)
	[ "${#files[@]}" -gt 50 ] || fail "only ${#files[@]} C files found below $TOP"
	(cd "$TOP" && clang-format --dry-run --Werror "${files[@]}") ||
		fail "files above differ from .clang-format: run make format"
}

# The check above must be able to fail: a known-bad copy of a real file,
# in a directory that sees the project's .clang-format, is refused.
test_misformatted_file_is_refused() {
	local bad=$TOP/build/format-probe.c
	mkdir -p "$TOP/build"
	defer rm -f "$bad"
	sed 's/^\t//' "$TOP/init/reap.c" >"$bad"
	! clang-format --dry-run --Werror "$bad" 2>/dev/null || fail "an unindented copy of init/reap.c passed"
	clang-format "$TOP/init/reap.c" | cmp -s - "$TOP/init/reap.c" || fail "init/reap.c itself is not formatted"
}

run_test "C sources follow .clang-format" test_sources_are_formatted
run_test "the format check refuses a misformatted file" test_misformatted_file_is_refused
