"""Charts as inline SVG, drawn on the server: no script, no CDN, readable at a glance.

Every text in a chart goes through markupsafe.escape; colours follow the side.
"""
from __future__ import annotations

from markupsafe import Markup, escape

COLOURS = {"user": "#2e7d32", "home": "#81c784", "account": "#f9a825", "line": "#c62828",
           "isp": "#ef6c00", "none": "#90a4ae", "unknown": "#cfd8dc"}


def stacked_bars(columns: list[tuple[str, dict[str, int]]], order: tuple[str, ...],
                 title: str, width: int = 720, height: int = 220) -> Markup:
    """One bar per column (label, {side: count}), stacked in order; a y axis with the maximum."""
    top = max([sum(values.values()) for _, values in columns] + [1])
    left, bottom, right = 44, 28, 8
    plot_w, plot_h = width - left - right, height - bottom - 12
    step = plot_w / max(len(columns), 1)
    bar = max(step * 0.75, 1)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<text x="{left - 6}" y="16" text-anchor="end">{top}</text>',
             f'<text x="{left - 6}" y="{12 + plot_h}" text-anchor="end">0</text>',
             f'<line x1="{left}" y1="{12 + plot_h}" x2="{width - right}" y2="{12 + plot_h}" '
             'stroke="#555"/>']
    every = max(1, len(columns) // 10)
    for index, (label, values) in enumerate(columns):
        x = left + index * step + (step - bar) / 2
        y = 12 + plot_h
        for side in order:
            count = values.get(side, 0)
            if not count:
                continue
            h = count / top * plot_h
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{COLOURS.get(side, "#999")}"><title>{escape(label)} '
                         f'{escape(side)}: {count}</title></rect>')
        if index % every == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 8}" text-anchor="middle">'
                         f'{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def share_bar(parts: list[tuple[str, float, str]], width: int = 720, height: int = 34) -> Markup:
    """One horizontal bar split into (label, fraction, colour) parts, labelled inside."""
    x = 0.0
    out = [f'<svg class="share" role="img" viewBox="0 0 {width} {height}" '
           'xmlns="http://www.w3.org/2000/svg">']
    for label, fraction, colour in parts:
        w = fraction * width
        if w <= 0:
            continue
        out.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{colour}">'
                   f'<title>{escape(label)}</title></rect>')
        if w > 60:
            out.append(f'<text x="{x + w / 2:.1f}" y="{height / 2 + 5:.1f}" text-anchor="middle" '
                       f'fill="#fff">{escape(label)}</text>')
        x += w
    out.append("</svg>")
    return Markup("".join(out))
