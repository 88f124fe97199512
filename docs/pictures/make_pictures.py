#!/usr/bin/env python3
"""Draws the pictures of docs/guide.md as SVG files next to this script.

    python3 docs/pictures/make_pictures.py

Python 3 standard library only. The assignment pictures compute every owner with the formula of
connector/src/core/assign.rs (Flink's KafkaSource assignment):

    start = ((java_string_hash(topic) * 31) & 0x7FFFFFFF) % parallelism
    owner(partition) = (start + partition) % parallelism

with Java's String.hashCode() over UTF-16 code units and 32-bit wrapping arithmetic, so the
pictures and `kwire assign` always agree. Run it again after changing a case below; the output is
deterministic, so an unchanged picture gives no diff.
"""

import os
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))

# Colours: one per source instance, and grey for what is idle.
PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]
IDLE = "#bbbbbb"
INK = "#222222"
FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"


def wrap_i32(x):
    """x as a Java int: two's complement, 32 bits."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def java_string_hash(s):
    """Java's String.hashCode(): s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, wrapping."""
    h = 0
    data = s.encode("utf-16-be")
    for i in range(0, len(data), 2):
        unit = (data[i] << 8) | data[i + 1]
        h = wrap_i32(h * 31 + unit)
    return h


def start_index(topic, parallelism):
    """The instance that reads partition 0 of `topic`."""
    return (wrap_i32(java_string_hash(topic) * 31) & 0x7FFFFFFF) % parallelism


def owner(topic, partition, parallelism):
    """The source instance (0-based) that reads `topic`-`partition`."""
    return (start_index(topic, parallelism) + partition) % parallelism


class Svg:
    """A few shapes, written out as one SVG document."""

    def __init__(self, width, height):
        self.width = width
        self.height = height
        self.items = []

    def rect(self, x, y, w, h, fill, stroke=INK, dash=None, rx=6):
        extra = f" stroke-dasharray='{dash}'" if dash else ""
        self.items.append(
            f"<rect x='{x}' y='{y}' width='{w}' height='{h}' rx='{rx}' fill='{fill}' "
            f"stroke='{stroke}' stroke-width='1.5'{extra}/>"
        )

    def text(self, x, y, s, size=14, anchor="middle", fill=INK, weight="normal", mono=False):
        family = "font-family='DejaVu Sans Mono, Menlo, monospace'" if mono else FONT
        self.items.append(
            f"<text x='{x}' y='{y}' {family} font-size='{size}' text-anchor='{anchor}' "
            f"fill='{fill}' font-weight='{weight}'>{escape(s)}</text>"
        )

    def line(self, x1, y1, x2, y2, stroke=INK, width=1.5, arrow=True, dash=None):
        extra = f" stroke-dasharray='{dash}'" if dash else ""
        head = " marker-end='url(#arrow)'" if arrow else ""
        self.items.append(
            f"<line x1='{x1}' y1='{y1}' x2='{x2}' y2='{y2}' stroke='{stroke}' "
            f"stroke-width='{width}'{extra}{head}/>"
        )

    def path(self, d, stroke=INK, width=1.5, arrow=True, dash=None):
        extra = f" stroke-dasharray='{dash}'" if dash else ""
        head = " marker-end='url(#arrow)'" if arrow else ""
        self.items.append(
            f"<path d='{d}' fill='none' stroke='{stroke}' stroke-width='{width}'{extra}{head}/>"
        )

    def write(self, name):
        head = (
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{self.width}' height='{self.height}' "
            f"viewBox='0 0 {self.width} {self.height}'>\n"
            "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' "
            "markerHeight='7' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' "
            f"fill='{INK}'/></marker></defs>\n"
            f"<rect width='100%' height='100%' fill='white'/>\n"
        )
        body = "\n".join(self.items)
        path = os.path.join(HERE, name)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(head + body + "\n</svg>\n")
        print(f"wrote {os.path.relpath(path)}")


def assignment(name, topic, partitions, parallelism):
    """Partitions on the left, source instances on the right, an arrow from each partition to its
    owner; an instance that owns nothing is drawn grey and marked idle."""
    row = 46
    rows = max(partitions, parallelism)
    top = 118
    width = 620
    height = top + rows * row + 30
    svg = Svg(width, height)
    h = java_string_hash(topic)
    start = start_index(topic, parallelism)
    svg.text(width / 2, 28, f"topic {topic}: {partitions} partitions, parallelism {parallelism}",
             size=17, weight="bold")
    svg.text(width / 2, 54, f'"{topic}".hashCode() = {h}', size=13, mono=True)
    svg.text(width / 2, 74,
             f"start = (({h} * 31) & 0x7FFFFFFF) % {parallelism} = {start}", size=13, mono=True)
    svg.text(width / 2, 94, f"owner(p) = ({start} + p) % {parallelism}", size=13, mono=True)

    def y_of(i, n):
        # Centre the shorter column against the longer one.
        return top + (rows - n) * row / 2 + i * row

    owned = {i: [] for i in range(parallelism)}
    for p in range(partitions):
        owned[owner(topic, p, parallelism)].append(p)
    left_x, right_x, box_w, box_h = 40, 380, 200, 34
    for p in range(partitions):
        o = owner(topic, p, parallelism)
        y = y_of(p, partitions)
        svg.rect(left_x, y, box_w, box_h, "#f4f4f4")
        svg.text(left_x + box_w / 2, y + 22, f"{topic} / partition {p}")
        svg.line(left_x + box_w, y + box_h / 2, right_x - 2, y_of(o, parallelism) + box_h / 2,
                 stroke=PALETTE[o % len(PALETTE)], width=2)
    for i in range(parallelism):
        y = y_of(i, parallelism)
        idle = not owned[i]
        colour = IDLE if idle else PALETTE[i % len(PALETTE)]
        svg.rect(right_x, y, box_w, box_h, colour, dash="5,4" if idle else None)
        label = f"instance {i}: idle" if idle else \
            f"instance {i}: " + ", ".join(f"p{p}" for p in owned[i])
        svg.text(right_x + box_w / 2, y + 22, label, fill="white" if not idle else INK,
                 weight="bold")
    svg.text(left_x + box_w / 2, top - 8, "Kafka", size=13, fill="#666666")
    svg.text(right_x + box_w / 2, top - 8, "kwire source instances", size=13, fill="#666666")
    svg.write(name)


def barrier_flow(name):
    """The local runner's job of the guide: three source instances, rebalance() to three sink
    instances, barrier n in every channel; the coordinator's trigger, acks, store and commits."""
    width, height = 900, 500
    svg = Svg(width, height)
    svg.text(width / 2, 28, "Checkpoint n in the local runner", size=17, weight="bold")

    gold, green = "#b8860b", "#38761d"
    svg.rect(330, 50, 240, 40, "#fff2cc")
    svg.text(450, 75, "coordinator", weight="bold")
    svg.rect(680, 50, 190, 40, "#e2f0d9")
    svg.text(775, 75, "checkpoint directory", weight="bold")

    src_x, snk_x, box_w, box_h = 190, 560, 150, 60
    ys = [150, 260, 370]
    svg.rect(20, 140, 120, 300, "#f4f4f4")
    svg.text(80, 432, "Kafka: test", weight="bold", size=13)
    svg.rect(760, 140, 120, 300, "#f4f4f4")
    svg.text(820, 432, "Kafka or stdout", weight="bold", size=13)
    for i, y in enumerate(ys):
        part = [p for p in range(3) if owner("test", p, 3) == i][0]
        svg.text(80, y + 34, f"partition {part}", size=12)
        svg.line(140, y + 30, src_x - 2, y + 30, stroke="#888888")
        svg.rect(src_x, y, box_w, box_h, PALETTE[i])
        svg.text(src_x + box_w / 2, y + 26, f"source {i}", fill="white", weight="bold")
        svg.text(src_x + box_w / 2, y + 46, "+ chained map", fill="white", size=12)
        svg.rect(snk_x, y, box_w, box_h, "#dddddd")
        svg.text(snk_x + box_w / 2, y + 26, f"sink {i}", weight="bold")
        svg.text(snk_x + box_w / 2, y + 46, "after rebalance()", size=12)
        svg.line(snk_x + box_w, y + 30, 758, y + 30, stroke="#888888")

    # rebalance(): every source to every sink over a bounded channel; barrier n on each.
    for i, ya in enumerate(ys):
        for j, yb in enumerate(ys):
            x1, y1 = src_x + box_w, ya + 30
            x2, y2 = snk_x - 2, yb + 30
            svg.line(x1, y1, x2, y2, stroke=PALETTE[i], width=1.2)
            t = 0.62 if (i + j) % 2 else 0.38
            bx, by = x1 + (x2 - x1) * t, y1 + (y2 - y1) * t
            svg.rect(bx - 3, by - 9, 6, 18, INK, stroke=INK, rx=1)
    svg.text(450, 460, "bounded channels, 256 records each; a black bar is barrier n:", size=12)
    svg.text(450, 476, "records before it belong to checkpoint n, records after it to n + 1", size=12)

    svg.path("M 360 90 C 300 110, 280 120, 262 148", stroke=gold)
    svg.text(255, 112, "1 trigger n", size=13, anchor="end", fill=gold, weight="bold")
    svg.text(255, 128, "2 snapshot offsets,", size=11, anchor="end", fill=gold)
    svg.text(255, 141, "send barrier n", size=11, anchor="end", fill=gold)
    svg.path("M 625 148 C 610 120, 590 110, 545 90", stroke=gold)
    svg.text(645, 112, "3 aligned: snapshot,", size=13, anchor="start", fill=gold,
             weight="bold")
    svg.text(645, 128, "prepare_checkpoint, ack n", size=11, anchor="start", fill=gold)
    svg.line(570, 70, 678, 70, stroke=green)
    svg.text(624, 62, "4 write n", size=12, fill=green, weight="bold")
    # 5: the coordinator tells every task that n is complete.
    svg.path("M 420 90 C 400 115, 330 125, 300 148", stroke=green, dash="5,4")
    svg.path("M 480 90 C 500 115, 580 125, 600 148", stroke=green, dash="5,4")
    svg.text(450, 124, "5 complete n", size=13, fill=green, weight="bold")
    svg.text(450, 140, "sources commit offsets, sinks commit", size=11, fill=green)
    svg.write(name)


def alignment(name):
    """Sink 0's three inputs at three moments: barrier n arriving, one input held, all aligned."""
    width, height = 900, 520
    svg = Svg(width, height)
    svg.text(width / 2, 28, "Alignment at sink 0: barrier n must arrive on all three inputs",
             size=17, weight="bold")
    panels = [
        ("a. barrier n is on its way", [3, 1, 5], set()),
        ("b. it came from source 0: that input waits", [0, 1, 4], {0}),
        ("c. it came on all three: snapshot, ack, go on", [0, 0, 0], {0, 1, 2}),
    ]
    cell, lane_h = 22, 34
    for k, (title, positions, arrived) in enumerate(panels):
        top = 62 + k * 142
        svg.text(30, top + 4, title, size=14, anchor="start", weight="bold")
        for i, pos in enumerate(positions):
            y = top + 14 + i * lane_h
            svg.text(30, y + 17, f"from source {i}", size=12, anchor="start")
            # The queue: the head (next to be read) is at the right, next to the sink.
            x_head = 600
            items = []
            for c in range(8):
                items.append("barrier" if c == pos else ("n+1" if c > pos else "n"))
            if i in arrived:
                # The barrier was taken; what came after it is held (b) or read again (c).
                items = ["n+1"] * (6 if k == 1 else 8)
            for c, what in enumerate(items[:8]):
                x = x_head - (c + 1) * (cell + 4)
                if what == "barrier":
                    svg.rect(x + cell / 2 - 3, y + 2, 6, cell, INK, stroke=INK, rx=1)
                else:
                    held = i in arrived and k == 1
                    fill = PALETTE[i] if what == "n" else "#ffffff"
                    svg.rect(x, y + 2, cell, cell, fill, stroke=PALETTE[i],
                             dash="3,2" if held else None, rx=3)
            svg.line(x_head + 4, y + 13, 660, y + 13, stroke=PALETTE[i])
        state = [["reads all three inputs"], ["reads inputs 1 and 2 only;", "input 0 is held"],
                 ["snapshot, prepare_checkpoint,", "ack n, then reads all three"]][k]
        svg.rect(662, top + 14, 220, 3 * lane_h - 6, "#dddddd")
        svg.text(772, top + 14 + 34, "sink 0", weight="bold")
        for m, s_ in enumerate(state):
            svg.text(772, top + 14 + 56 + m * 16, s_, size=12)
    y = height - 26
    svg.rect(30, y, 14, 14, PALETTE[0], stroke=PALETTE[0], rx=3)
    svg.text(50, y + 12, "record of checkpoint n", size=12, anchor="start")
    svg.rect(220, y, 14, 14, "#ffffff", stroke=PALETTE[0], rx=3)
    svg.text(240, y + 12, "record of checkpoint n + 1", size=12, anchor="start")
    svg.rect(440, y, 14, 14, "#ffffff", stroke=PALETTE[0], dash="3,2", rx=3)
    svg.text(460, y + 12, "held", size=12, anchor="start")
    svg.rect(520, y - 2, 6, 18, INK, stroke=INK, rx=1)
    svg.text(534, y + 12, "barrier n", size=12, anchor="start")
    svg.text(630, y + 12, "(each queue's head is at its right)", size=12, anchor="start")
    svg.write(name)


def main():
    # The guide's topic `test` has 3 partitions.
    assignment("assign-more-instances.svg", "test", 3, 4)
    assignment("assign-more-partitions.svg", "test", 3, 2)
    assignment("assign-cluster-12-on-6.svg", "test", 12, 6)
    barrier_flow("checkpoint-barrier.svg")
    alignment("checkpoint-alignment.svg")


if __name__ == "__main__":
    main()
