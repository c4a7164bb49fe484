"""Certificates: how fast one process renders and seals them, and what a week's batch costs.

Two measurements, each with a baseline measured in the same run:

1. **Throughput** — benefit certificates per second in one process: render only (the baseline,
   unsigned) and render + seal (pyHanko, ECDSA P-256), `--docs` documents per repeat, median of
   `--repeats` repeats.
2. **Batch** — a week of `--batch` decisions (every other one eligible: its notice and its
   benefit certificate; the others a notice only) laid out into ONE PDF file and sealed once,
   against the same batch left unsealed (the baseline). Each run is a fresh child process, so
   its peak resident memory (getrusage maxrss) is its own; the table gives the median over
   `--batch-repeats` runs of the time and of the peak, and the peak of an idle child that only
   imported the code (the floor every run starts from).

The batch is measured at the report level (data in, sealed file out): the database part of the
batch (loading decisions in chunks of 100, issuing numbered Certificate rows) is measured by
the tests, not here.

    .venv/bin/python benchmarks/certificates.py --docs 20 --repeats 5 \
        --batch 5000 --batch-repeats 1 --out /tmp/certificates.md

Not a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from careapp.core.clock import utcnow  # noqa: E402 - after the path set-up above
from careapp.reports.notices import (  # noqa: E402 - after the path set-up above
    BatchItem,
    BenefitCertificateData,
    DecisionNoticeData,
    RateText,
    RuleLine,
    render_benefit_certificate,
    write_batch,
)
from careapp.reports.seal import (  # noqa: E402
    check_seal,
    create_signing_key,
    load_signer,
    seal_pdf,
    seal_pdf_file,
)

DAY = dt.date(2026, 11, 16)


def certificate(n: int) -> BenefitCertificateData:
    return BenefitCertificateData(
        certificate_number=f"DY-2026-{n:06d}",
        issued_on=DAY,
        person_name=f"张{n}英",
        id_number_masked="320602***********9",
        sex_zh="女",
        birth_year=1940,
        district_zh="崇川区",
        category_zh="重度失能",
        care_setting_zh="医疗照护机构",
        rate=RateText(5000, None),
        valid_from=DAY,
        valid_until=dt.date(2028, 11, 16),
        valid_until_reason_zh="下次定期复评",
        policy_name="南通市长期照护保险政策（2016）",
        policy_effective_on=dt.date(2016, 1, 1),
        decided_on=DAY,
        verify_url=f"https://ltc.example.cn/verify/DY-2026-{n:06d}?code=7TQ2M-XH4PA",
        check_code="7TQ2M-XH4PA",
    )


def notice(n: int, eligible: bool) -> DecisionNoticeData:
    return DecisionNoticeData(
        certificate_number=f"JD-2026-{n:06d}",
        issued_on=DAY,
        person_name=f"张{n}英",
        id_number_masked="320602***********9",
        district_zh="崇川区",
        application_id=n,
        decided_on=DAY,
        decided_by_name="管理员甲",
        is_eligible=eligible,
        rules=(
            RuleLine("认定日参加基本医疗保险", True, "2026-11-16 参保（城乡居民医保）"),
            RuleLine(
                "失能持续时间",
                eligible,
                "失能已持续 22 个月（至少需 6 个月）" if eligible else "失能仅持续 3 个月",
            ),
            RuleLine("评估结果达到待遇类别", True, "Barthel 指数总分 30，不高于 40：重度失能"),
            RuleLine("无在享待遇", True, "本人没有正在享受的待遇"),
        ),
        category_zh="重度失能" if eligible else "无",
        care_setting_zh="医疗照护机构",
        rate=RateText(5000 if eligible else None, None),
        starts_on=DAY if eligible else None,
        policy_name="南通市长期照护保险政策（2016）",
        appeal_days=30,
        appeal_deadline=dt.date(2026, 12, 16),
        verify_url=f"https://ltc.example.cn/verify/JD-2026-{n:06d}?code=R3VW9-0KCNE",
        check_code="R3VW9-0KCNE",
    )


def items(count: int):  # type: ignore[no-untyped-def]  # an iterator of BatchItem
    for n in range(1, count + 1):
        eligible = n % 2 == 1
        yield BatchItem(notice(n, eligible), certificate(n) if eligible else None)


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- the child process of one batch run -----------------------------------------------------


def child(args: argparse.Namespace) -> None:
    """Run one batch (or nothing, for the floor) and print a JSON line."""
    idle_peak = maxrss_mib()
    if args.child == "idle":
        print(json.dumps({"peak_mib": idle_peak}))
        return
    out = Path(args.child_out)
    cpu_start = time.process_time()
    start = time.perf_counter()
    write_batch(out, items(args.batch), "批量打印基准")
    laid_out = time.perf_counter()
    if args.child == "sealed":
        signer = load_signer(args.key, args.cert)
        seal_pdf_file(out, signer)
    end = time.perf_counter()
    result = {
        "seconds": end - start,
        "cpu_seconds": time.process_time() - cpu_start,
        "layout_seconds": laid_out - start,
        "seal_seconds": end - laid_out,
        "peak_mib": maxrss_mib(),
        "bytes": out.stat().st_size,
    }
    if args.child == "sealed":
        result["seal_valid"] = check_seal(out.read_bytes(), args.cert).is_valid
    print(json.dumps(result))


def run_child(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    out = workdir / f"{kind}.pdf"
    command = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--child-out",
        str(out),
        "--batch",
        str(args.batch),
        "--key",
        str(args.key),
        "--cert",
        str(args.cert),
    ]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603 - our own script
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    out.unlink(missing_ok=True)
    return result


# --- the parent ----------------------------------------------------------------------------


def throughput(args: argparse.Namespace) -> dict[str, float]:
    signer = load_signer(args.key, args.cert)
    documents = [certificate(n) for n in range(1, args.docs + 1)]
    render_benefit_certificate(documents[0])  # warm-up: font registration, imports
    seal_pdf(render_benefit_certificate(documents[0]), signer)
    unsigned, signed, unsigned_cpu, signed_cpu = [], [], [], []
    for _ in range(args.repeats):
        start, cpu = time.perf_counter(), time.process_time()
        for data in documents:
            render_benefit_certificate(data)
        unsigned.append(len(documents) / (time.perf_counter() - start))
        unsigned_cpu.append(len(documents) / (time.process_time() - cpu))
        start, cpu = time.perf_counter(), time.process_time()
        for data in documents:
            seal_pdf(render_benefit_certificate(dataclasses.replace(data)), signer)
        signed.append(len(documents) / (time.perf_counter() - start))
        signed_cpu.append(len(documents) / (time.process_time() - cpu))
    return {
        "unsigned_per_cpu_s": statistics.median(unsigned_cpu),
        "signed_per_cpu_s": statistics.median(signed_cpu),
        "unsigned_per_s": statistics.median(unsigned),
        "signed_per_s": statistics.median(signed),
        "unsigned_min": min(unsigned),
        "unsigned_max": max(unsigned),
        "signed_min": min(signed),
        "signed_max": max(signed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--batch-repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", choices=["idle", "unsigned", "sealed"], default=None)
    parser.add_argument("--child-out", default=None)
    parser.add_argument("--key", default=None)
    parser.add_argument("--cert", default=None)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    with tempfile.TemporaryDirectory(prefix="certs-bench-") as tmp:
        workdir = Path(tmp)
        files = create_signing_key(workdir / "seal")
        args.key, args.cert = str(files.key_path), str(files.cert_path)
        speed = throughput(args)
        idle = run_child("idle", args, workdir)
        runs: dict[str, list[dict[str, float]]] = {"unsigned": [], "sealed": []}
        for _ in range(args.batch_repeats):
            for kind in ("unsigned", "sealed"):
                runs[kind].append(run_child(kind, args, workdir))

    def med(kind: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[kind])

    pages = args.batch + (args.batch + 1) // 2
    lines = [
        f"Measured {utcnow():%Y-%m-%d %H:%M} UTC on {sys.platform}, "
        f"Python {sys.version.split()[0]}.",
        "",
        f"Throughput, one process, {args.docs} benefit certificates per repeat, "
        f"median of {args.repeats} repeats (min–max):",
        "",
        "| | certificates per wall-clock s | certificates per CPU s |",
        "| --- | --- | --- |",
        f"| render only (baseline, unsigned) | {speed['unsigned_per_s']:.1f} "
        f"({speed['unsigned_min']:.1f}–{speed['unsigned_max']:.1f}) | "
        f"{speed['unsigned_per_cpu_s']:.1f} |",
        f"| render + seal | {speed['signed_per_s']:.1f} "
        f"({speed['signed_min']:.1f}–{speed['signed_max']:.1f}) | "
        f"{speed['signed_per_cpu_s']:.1f} |",
        "",
        f"Batch of {args.batch:,} decisions ({pages:,} pages, one PDF), median of "
        f"{args.batch_repeats} run(s), each in a fresh process:",
        "",
        "| | wall time (s) | CPU time (s) | of which sealing (s) | peak RSS (MiB) | file (MiB) |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| idle process (imports only) | — | — | — | {idle['peak_mib']:.0f} | — |",
        f"| unsigned (baseline) | {med('unsigned', 'seconds'):.1f} | "
        f"{med('unsigned', 'cpu_seconds'):.1f} | — | "
        f"{med('unsigned', 'peak_mib'):.0f} | {med('unsigned', 'bytes') / 2**20:.1f} |",
        f"| sealed once | {med('sealed', 'seconds'):.1f} | {med('sealed', 'cpu_seconds'):.1f} | "
        f"{med('sealed', 'seal_seconds'):.2f} | "
        f"{med('sealed', 'peak_mib'):.0f} | {med('sealed', 'bytes') / 2**20:.1f} |",
        "",
        "Seal of every sealed batch validated: "
        + str(all(bool(run.get("seal_valid")) for run in runs["sealed"])),
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report)


if __name__ == "__main__":
    main()
