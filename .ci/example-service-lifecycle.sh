#!/usr/bin/env bash
# CI: build Examples/ServiceLifecycle with warnings as errors, run it once,
# send SIGTERM once it prints `ready`, and check that its graceful shutdown
# ran every cleanup exactly once, in the expected order (newest registration
# first, after the request service stopped), and that it exited with 0.
# Runs on a fresh clone; the example's packages come from the package
# copies that git reads github.com addresses from.
set -euo pipefail
cd "$(dirname "$0")/.."

pkg=Examples/ServiceLifecycle
product=finalize-service-example
strict=(-Xswiftc -warnings-as-errors)
ready_timeout=60   # seconds from start to `ready`
exit_timeout=30    # seconds from SIGTERM to exit

# Every line the example prints on standard output, in order, and the count
# its log reports (timestamps and log metadata stripped).
expected='ready
service: stopped serving requests
cleanup: flushed metrics buffer
cleanup: saved session cache
cleanup: closed connection pool
finalizer shutdown ran 3 cleanups'

step() { printf '\n==> %s\n' "$*"; }

out="$(mktemp "${TMPDIR:-/tmp}/$product.XXXXXX")"
pid=""
on_exit() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$out"
}
trap on_exit EXIT

show_output() {
    echo "--- output of $product"
    cat "$out"
    echo "---"
}

fail() {
    echo "FAIL: $*" >&2
    show_output
    printf '\nexample-service-lifecycle: 0 passed, 1 failed\n'
    exit 1
}

step "swift build --package-path $pkg, warnings as errors"
started=$SECONDS
swift build --package-path "$pkg" "${strict[@]}"
echo "build took $((SECONDS - started)) s"
bin="$(swift build --package-path "$pkg" "${strict[@]}" --show-bin-path)/$product"

step "run $product, SIGTERM once ready"
"$bin" >"$out" 2>&1 &
pid=$!

deadline=$((SECONDS + ready_timeout))
until grep -qx ready "$out"; do
    kill -0 "$pid" 2>/dev/null || fail "exited before printing ready"
    ((SECONDS < deadline)) || fail "not ready within ${ready_timeout} s"
    sleep 0.1
done
echo "ready after $((SECONDS - deadline + ready_timeout)) s; sending SIGTERM"
kill -TERM "$pid"

deadline=$((SECONDS + exit_timeout))
while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=""
        fail "still running ${exit_timeout} s after SIGTERM (killed)"
    fi
    sleep 0.1
done
status=0
wait "$pid" || status=$?
pid=""
show_output

step "checks"
((status == 0)) || fail "exit status $status, expected 0"
echo "exit status 0"

events="$(sed -n -E \
    -e '/^(ready|service: .*|cleanup: .*)$/p' \
    -e 's/.*(finalizer shutdown ran [0-9]+ cleanups)$/\1/p' "$out")"
if [[ $events != "$expected" ]]; then
    printf 'expected:\n%s\ngot:\n%s\n' "$expected" "$events" >&2
    fail "cleanup lines missing, repeated or out of order"
fi
echo "every cleanup ran once, in order, after the request service stopped; shutdown ran 3"

if grep -E ' (warning|error|critical) |^Finalize: ' "$out" >&2; then
    fail "a cleanup failed or the library reported a problem"
fi
echo "no failures reported"

printf '\nexample-service-lifecycle: 1 passed, 0 failed\n'
