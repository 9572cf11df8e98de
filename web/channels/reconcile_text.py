"""The reconciliation report as plain text, for `waybill reconcile`."""

from __future__ import annotations

from models.channels.reconcile import KINDS, Report


def report_lines(report: Report, limit: int = 50) -> list[str]:
    """A table per channel, the findings (at most `limit`), and one summary line."""
    header = (
        "channel",
        "in Waybill",
        "at channel",
        "supplier orders",
        "in flight",
        "not yet imported",
        "unreadable",
        *KINDS,
    )
    rows = [header]
    for tally in report.channels:
        counts = {kind: 0 for kind in KINDS}
        for finding in report.findings:
            if finding.channel_id == tally.channel_id:
                counts[finding.kind] += 1
        rows.append(
            (
                tally.name,
                *(f"{n:,}" for n in (tally.in_waybill, tally.at_channel, tally.supplier_orders, tally.in_flight)),
                f"{tally.not_yet_imported:,}",
                f"{tally.unreadable:,}",
                *(f"{counts[kind]:,}" for kind in KINDS),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    for tally in report.channels:
        lines.extend(f"! {tally.name}: {error}" for error in tally.errors)
    if report.findings:
        lines.append("")
    for finding in report.findings[:limit]:
        order = f"#{finding.order_id}" if finding.order_id else "(not in Waybill)"
        lines.append(
            f"{finding.kind:<10}  {finding.channel_name} {finding.channel_order_id} {order}: {finding.detail}"
            + (f" [Waybill: {finding.waybill}; remote: {finding.remote}]" if finding.waybill or finding.remote else "")
        )
    if len(report.findings) > limit:
        lines.append(f"… and {len(report.findings) - limit:,} more.")
    counts = report.counts
    lines.append("")
    lines.append(
        f"{report.checked:,} orders checked: {counts['lost']:,} lost, {counts['duplicated']:,} duplicated, "
        f"{counts['mismatched']:,} mismatched; {report.not_yet_imported:,} not yet imported."
    )
    return lines
