#!/usr/bin/python3
"""Statistics for bench/run.sh over its samples file (TSV: item, label,
value, unit; one line per measured run).

  stats.py SAMPLES table ITEM [REF_LABEL]
      one row per label of ITEM (in the order first seen): runs, median,
      p10, p90, min, max; with REF_LABEL also median/median(REF_LABEL)
  stats.py SAMPLES ratio ITEM LABEL_B LABEL_A
      B against A: ratio and difference of the medians, and the median of
      the per-run ratios (runs are paired in the order they were taken)
  stats.py SAMPLES fit ITEM
      labels "N=<count> ...": least-squares line value = a + b*N over every
      run, per measure (the text after "N=<count> ")
  stats.py SAMPLES json MACHINE_FILE
      everything as JSON (the machine's details from MACHINE_FILE, lines
      "key: value"), for comparing runs
"""
import json
import re
import sys


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                continue
            item, label, value, unit = parts
            rows.append((item, label, float(value), unit))
    return rows


def series(rows, item):
    """{label: ([values], unit)} in first-seen order."""
    out = {}
    for it, label, value, unit in rows:
        if it == item:
            out.setdefault(label, ([], unit))[0].append(value)
    return out


def pct(values, p):
    """Nearest-rank percentile on the sorted values (p in 0..100)."""
    v = sorted(values)
    return v[(len(v) - 1) * p // 100]


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def summary(values):
    return {
        "runs": len(values),
        "median": median(values),
        "p10": pct(values, 10),
        "p90": pct(values, 90),
        "min": min(values),
        "max": max(values),
    }


def fmt(v):
    if abs(v) >= 100 or v == int(v):
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def table(rows, item, ref=None):
    s = series(rows, item)
    if not s:
        print("   (no samples)")
        return
    width = max(34, max(len(k) for k in s))
    head = "%-*s %4s %8s %8s %8s %8s %8s  %s" % (width, "", "runs", "median", "p10", "p90", "min", "max", "unit")
    if ref:
        head += "   vs " + ref
    print(head)
    refmed = median(s[ref][0]) if ref and ref in s else None
    for label, (values, unit) in s.items():
        m = summary(values)
        line = "%-*s %4d %8s %8s %8s %8s %8s  %s" % (
            width, label, m["runs"], fmt(m["median"]), fmt(m["p10"]), fmt(m["p90"]),
            fmt(m["min"]), fmt(m["max"]), unit)
        if refmed:
            line += "   x%.2f" % (m["median"] / refmed)
        print(line)


def ratio(rows, item, b, a):
    s = series(rows, item)
    if b not in s or a not in s:
        print("   (no samples for %s or %s)" % (b, a))
        return
    vb, unit = s[b]
    va = s[a][0]
    mb, ma = median(vb), median(va)
    pairs = [x / y for x, y in zip(vb, va) if y]
    print("   %s / %s: x%.2f on the medians (%s %s added); per-run ratios: median x%.2f, min x%.2f, max x%.2f"
          % (b.split(":")[0], a.split(":")[0], mb / ma, "%+.0f" % (mb - ma), unit,
             median(pairs), min(pairs), max(pairs)))


def fit(rows, item):
    """Least squares per measure over (N, value) of every run."""
    measures = {}
    for it, label, value, unit in rows:
        m = re.match(r"N=(\d+) (.*)", label)
        if it == item and m:
            measures.setdefault(m.group(2), ([], unit))[0].append((int(m.group(1)), value))
    result = {}
    for name, (pts, unit) in measures.items():
        n = len(pts)
        sx = sum(x for x, _ in pts)
        sy = sum(y for _, y in pts)
        sxx = sum(x * x for x, _ in pts)
        sxy = sum(x * y for x, y in pts)
        den = n * sxx - sx * sx
        if n < 2 or den == 0:
            continue
        b = (n * sxy - sx * sy) / den
        a = (sy - b * sx) / n
        # How straight is it: the worst relative miss of the line at the
        # per-N medians (a quadratic cost shows up at the ends).
        by_n = {}
        for x, y in pts:
            by_n.setdefault(x, []).append(y)
        misses = {x: median(ys) - (a + b * x) for x, ys in by_n.items()}
        # Cost per mount between neighbouring sizes: flat if linear, rising
        # if the cost per mount grows with the pod.
        xs = sorted(by_n)
        segs = {"%d-%d" % (x0, x1): (median(by_n[x1]) - median(by_n[x0])) / (x1 - x0)
                for x0, x1 in zip(xs, xs[1:])}
        result[name] = {"intercept": a, "slope": b, "unit": unit, "residual_at_median": misses,
                        "slope_between_sizes": segs}
        print("   %s: fixed part %.2f %s + %.1f us per mount (least squares over all runs)"
              % (name, a, unit, b * 1000 if unit == "ms" else b))
        print("      the line misses the medians by %s %s"
              % (", ".join("%+.1f at N=%d" % (misses[x], x) for x in xs), unit))
        print("      us per mount between sizes: %s"
              % ", ".join("%.1f (N=%s)" % (v * 1000 if unit == "ms" else v, k) for k, v in segs.items()))
    return result


def dump_json(rows, machine_path):
    machine = {}
    with open(machine_path, encoding="utf-8") as f:
        for line in f:
            if ": " in line:
                k, v = line.rstrip("\n").split(": ", 1)
                machine[k.strip()] = v
    items = {}
    for it, label, value, unit in rows:
        items.setdefault(it, {}).setdefault(label, {"unit": unit, "values": []})["values"].append(value)
    for it in items.values():
        for entry in it.values():
            entry.update(summary(entry["values"]))
    fits = {}
    for it in items:
        if any(re.match(r"N=\d+ ", k) for k in items[it]):
            import io
            import contextlib
            with contextlib.redirect_stdout(io.StringIO()):
                fits[it] = fit(rows, it)
    json.dump({"machine": machine, "items": items, "fits": fits}, sys.stdout, indent=1, sort_keys=True)
    print()


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    rows = load(argv[1])
    cmd, args = argv[2], argv[3:]
    if cmd == "table" and len(args) in (1, 2):
        table(rows, *args)
    elif cmd == "ratio" and len(args) == 3:
        ratio(rows, *args)
    elif cmd == "fit" and len(args) == 1:
        fit(rows, args[0])
    elif cmd == "json" and len(args) == 1:
        dump_json(rows, args[0])
    else:
        sys.exit("stats.py: bad arguments %s (see --help in the source)" % " ".join(argv[2:]))


if __name__ == "__main__":
    main(sys.argv)
